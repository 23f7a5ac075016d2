// Command stopbench measures, side by side in one invocation, the cost of a
// seccomp→ptrace stop and of an unsubscribed syscall: the guest natively,
// under the C baseline tracer (bench/ctracer) and under schedfuzz's Go tracer
// (intercept), each pinned to one CPU, unpinned, and forced cross-CPU.
//
//	go run ./bench/cmd/stopbench [-n 200000] [-reps 5] [-cpu 0] [-cpu2 1] [-only REGEXP] [-v] [-nocldstop] [-cpuprofile FILE]
//
// Every number is the guest's own in-loop time per syscall (startup, exec
// and exit excluded). The configurations are interleaved: each repetition
// runs every configuration once, starting one further along the list each
// time, so slow drift and order effects hit all of them alike. It prints the
// median, min and max over the repetitions, then the ratios.
//
// The Go tracer runs in this process (intercept.Run locks its own OS thread
// and pins it when Options.CPU >= 0). Native and ctracer runs are pinned by
// forking them from a goroutine locked to a thread pinned for the purpose
// (the child inherits the affinity), like taskset would.
//
// -nocldstop is an experiment: it adds SA_NOCLDSTOP to the Go runtime's
// SIGCHLD handler in this process before measuring. Without it, every ptrace
// stop of the guest sends SIGCHLD to the tracer thread (the kernel skips
// that only when SIGCHLD is SIG_DFL/SIG_IGN or has SA_NOCLDSTOP; the Go
// runtime installs a handler for it), and the tracer pays a signal delivery
// per stop. See RESULTS.md.
//
// The machine may be shared: for each repetition the program also reports
// the CPU time other processes used meanwhile (from /proc/stat, minus this
// process's and its children's own use).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/bench"
)

func main() {
	defCPU, defCPU2 := bench.CPUs()
	n := flag.Int("n", 200000, "syscalls per guest run")
	reps := flag.Int("reps", 5, "repetitions of every configuration")
	cpu := flag.Int("cpu", defCPU, "CPU for pinned runs, and the tracer's CPU in cross runs")
	cpu2 := flag.Int("cpu2", defCPU2, "the guest's CPU in cross runs (-1: skip cross runs)")
	only := flag.String("only", "", "run only the configurations whose name matches this regexp")
	verbose := flag.Bool("v", false, "print every run as it finishes")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of this process (the Go tracer runs in it) to this file")
	nocldstop := flag.Bool("nocldstop", false, "experiment: add SA_NOCLDSTOP to this process's SIGCHLD handler before measuring")
	dir := flag.String("dir", "", "where to build ctracer and guest (default: a temporary directory)")
	flag.Parse()
	if flag.NArg() != 0 || *n <= 0 || *reps <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	var onlyRE *regexp.Regexp
	if *only != "" {
		var err error
		if onlyRE, err = regexp.Compile(*only); err != nil {
			fatalf("-only: %v", err)
		}
	}

	buildDir := *dir
	if buildDir == "" {
		d, err := os.MkdirTemp("", "stopbench-")
		if err != nil {
			fatalf("%v", err)
		}
		defer os.RemoveAll(d)
		buildDir = d
	}
	tl, err := bench.BuildTools(buildDir)
	if err != nil {
		fatalf("%v", err)
	}

	// The configurations, in table order.
	var cfgs []bench.Config
	add := func(tr bench.Tracer, w bench.Workload, pls ...bench.Placement) {
		for _, pl := range pls {
			if pl == bench.Cross && (*cpu2 < 0 || tl.Taskset == "") {
				continue
			}
			c := bench.Config{Tracer: tr, Place: pl, Work: w, CPU: *cpu, CPU2: *cpu2}
			if onlyRE == nil || onlyRE.MatchString(c.Name()) {
				cfgs = append(cfgs, c)
			}
		}
	}
	all := []bench.Placement{bench.Pinned, bench.Unpinned, bench.Cross}
	add(bench.Native, bench.Subscribed, bench.Pinned, bench.Unpinned)
	add(bench.CTracer, bench.Subscribed, all...)
	add(bench.CTracerX, bench.Subscribed, all...)
	add(bench.Intercept, bench.Subscribed, all...)
	add(bench.Native, bench.Unsubscribed, bench.Pinned, bench.Unpinned)
	add(bench.CTracer, bench.Unsubscribed, bench.Pinned, bench.Unpinned)
	add(bench.Intercept, bench.Unsubscribed, bench.Pinned, bench.Unpinned)
	if len(cfgs) == 0 {
		fatalf("no configuration matches -only %q", *only)
	}

	fmt.Printf("# %s\n", bench.CommandLine("stopbench"))
	fmt.Printf("# %s, kernel %s, %d CPUs, GOMAXPROCS %d, %s, N=%d, reps=%d, cpu=%d, cpu2=%d\n",
		time.Now().UTC().Format(time.RFC3339), bench.Kernel(), runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), *n, *reps, *cpu, *cpu2)
	if *nocldstop {
		if err := addNoCldStop(); err != nil {
			fatalf("-nocldstop: %v", err)
		}
	}
	fmt.Printf("# SIGCHLD action of this process (the Go tracer's): %s\n", sigchldAction())
	fmt.Printf("# loadavg at start: %s\n", bench.LoadAvg())

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatalf("%v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatalf("%v", err)
		}
		defer pprof.StopCPUProfile()
	}

	runs := make([][]float64, len(cfgs))
	for r := 0; r < *reps; r++ {
		before := bench.SampleLoad()
		for k := range cfgs {
			i := (k + r) % len(cfgs) // rotate the starting configuration
			res, err := tl.Run(context.Background(), cfgs[i], *n)
			if err != nil {
				pprof.StopCPUProfile()
				fatalf("%v", err)
			}
			runs[i] = append(runs[i], res.NsPerCall)
			if *verbose {
				fmt.Printf("# rep %d %-28s %9.1f ns/call (wall %v)\n", r+1, cfgs[i].Name(), res.NsPerCall, res.Wall.Round(time.Millisecond))
			}
		}
		fmt.Printf("# rep %d/%d done: %s\n", r+1, *reps, before.ForeignString())
	}
	fmt.Printf("# loadavg at end: %s\n\n", bench.LoadAvg())

	// Table of every configuration.
	med := map[string]float64{}
	lo := map[string]float64{}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\tmedian ns\tmin\tmax\tspread\truns (ns/call)\tequivalent command\t")
	for i, c := range cfgs {
		s := slices.Clone(runs[i])
		slices.Sort(s)
		m := bench.Median(s)
		med[c.Name()], lo[c.Name()] = m, s[0]
		var rs []string
		for _, v := range runs[i] {
			rs = append(rs, strconv.FormatFloat(v, 'f', 0, 64))
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.0f%%\t%s\t%s\t\n", c.Name(), m, s[0], s[len(s)-1],
			100*(s[len(s)-1]-s[0])/m, strings.Join(rs, " "), tl.CommandLine(c, *n))
	}
	tw.Flush()

	// Ratios of medians (and of minimums where the distribution is bimodal).
	fmt.Println()
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ratio\tof medians\tof minimums\ttarget\t")
	ratio := func(label, a, b, target string) {
		ma, oka := med[a]
		mb, okb := med[b]
		if !oka || !okb {
			return
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%s\t\n", label, ma/mb, lo[a]/lo[b], target)
	}
	for _, pl := range all {
		p := pl.String()
		ratio("intercept/ctracer "+p, "intercept/"+p+"/getppid", "ctracer/"+p+"/getppid", "<= 1.3")
		ratio("intercept/ctracer-x "+p, "intercept/"+p+"/getppid", "ctracer-x/"+p+"/getppid", "")
	}
	for _, pl := range []bench.Placement{bench.Pinned, bench.Unpinned} {
		p := pl.String()
		ratio("unsubscribed getpid, intercept filter/native "+p, "intercept/"+p+"/getpid", "native/"+p+"/getpid", "<= 1.1")
		ratio("unsubscribed getpid, ctracer filter/native "+p, "ctracer/"+p+"/getpid", "native/"+p+"/getpid", "")
		ratio("unsubscribed getpid, intercept filter/ctracer filter "+p, "intercept/"+p+"/getpid", "ctracer/"+p+"/getpid", "")
	}
	tw.Flush()
}

// kernelSigaction is struct sigaction as rt_sigaction(2) takes it on amd64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const (
	saNoCldStop = 0x1
	sigDfl      = 0
	sigIgn      = 1
)

func rtSigaction(sig unix.Signal, act, old *kernelSigaction) error {
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// addNoCldStop keeps the Go runtime's SIGCHLD handler and mask and adds
// SA_NOCLDSTOP: the kernel then sends no SIGCHLD when a child (or tracee)
// stops or continues, only when it exits (do_notify_parent_cldstop). The
// runtime never re-installs its SIGCHLD handler, so the flag stays.
func addNoCldStop() error {
	var act kernelSigaction
	if err := rtSigaction(unix.SIGCHLD, nil, &act); err != nil {
		return err
	}
	act.flags |= saNoCldStop
	return rtSigaction(unix.SIGCHLD, &act, nil)
}

func sigchldAction() string {
	var act kernelSigaction
	if err := rtSigaction(unix.SIGCHLD, nil, &act); err != nil {
		return "?: " + err.Error()
	}
	h := "a handler"
	switch act.handler {
	case sigDfl:
		h = "SIG_DFL"
	case sigIgn:
		h = "SIG_IGN"
	}
	nc := "without SA_NOCLDSTOP: a SIGCHLD per ptrace stop"
	if act.flags&saNoCldStop != 0 || act.handler == sigDfl || act.handler == sigIgn {
		nc = "no SIGCHLD for ptrace stops"
		if act.flags&saNoCldStop != 0 {
			nc = "with SA_NOCLDSTOP: " + nc
		}
	}
	return fmt.Sprintf("%s, flags %#x, %s", h, act.flags, nc)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "stopbench: "+format+"\n", args...)
	os.Exit(1)
}
