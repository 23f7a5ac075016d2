package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schedfuzz/schedfuzz/bench"
)

// cliRun runs `cli -p 1 -runs runs ... argv` with XDG_CACHE_HOME=cache and
// returns its wall time and whether it reported no failure.
func cliRun(ctx context.Context, cli, cache, corpus string, runs int, seed int, extra []string, argv []string) (time.Duration, bool, error) {
	args := append([]string{"-p", "1", "-runs", fmt.Sprint(runs), "-keep-going", "-minimize=false",
		"-seed", fmt.Sprint(seed), "-corpus", corpus}, extra...)
	args = append(append(args, "--"), argv...)
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	ok := strings.Contains(out.String(), "no failure in")
	if !ok {
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		fmt.Printf("# %s -runs %d %v: %s\n", cli, runs, argv, strings.Join(lines[max(0, len(lines)-3):], " | "))
	}
	if err != nil && !ok {
		if _, exit := err.(*exec.ExitError); !exit {
			return d, false, fmt.Errorf("%s: %v\n%s", cli, err, out.Bytes())
		}
	}
	return d, ok, nil
}

// clis returns the schedfuzz binaries to compare: -base (if given, named
// "before") and the one built from this tree ("after").
func clis(base, built string) (names, paths []string) {
	if base != "" {
		names, paths = append(names, "before"), append(paths, base)
	}
	return append(names, "after"), append(paths, built)
}

// realMain: the default point set on real programs against native wall
// time per run (issue 15). Each repetition runs each program natively
// once and, under each schedfuzz binary (default points and strategies,
// -p 1), a session of one run and one of 1+N runs, in rotating order; a
// run's cost is the difference of the two sessions' medians divided by N
// (the session's start and its first run, which parses the binaries, are
// paid once: the -runs 1 column).
func realMain(args []string) {
	fs := flag.NewFlagSet("real", flag.ExitOnError)
	reps := fs.Int("reps", 3, "repetitions")
	runs := fs.Int("runs", 4, "N: runs of the long session (-runs 1+N), whose difference from -runs 1 is the cost of N runs")
	base := fs.String("base", "", "a schedfuzz binary to compare with (the \"before\" column)")
	dir := fs.String("dir", "", "build directory")
	only := fs.String("only", "", "programs whose name matches this regexp")
	extra := fs.String("flags", "", "extra schedfuzz flags, space-separated")
	fs.Parse(args)
	if *dir == "" {
		// Not under /tmp: schedfuzz's hermetic runs see a fresh /tmp.
		d, err := os.MkdirTemp(homeTmp(), "schedbench-real-")
		if err != nil {
			fatalf("%v", err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	progs, cli, err := bench.BuildReal(*dir)
	if err != nil {
		fatalf("%v", err)
	}
	names, paths := clis(*base, cli)
	header(fmt.Sprintf(", reps=%d, sessions of 1 and 1+%d runs (-p 1), schedfuzz %v", *reps, *runs, paths))
	re := regexp.MustCompile(*only)
	cache, corpus := filepath.Join(*dir, "cache"), filepath.Join(*dir, "corpus")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	hdr := "program\tnative ms (median)\t"
	for _, n := range names {
		hdr += n + " -runs 1 ms\t" + n + " ms/run\t" + n + " x native\t" + n + " bad sessions\t"
	}
	fmt.Fprintln(tw, hdr)
	ctx := context.Background()
	for _, p := range progs {
		if !re.MatchString(p.Name) {
			continue
		}
		if p.Skip != "" {
			fmt.Printf("# %s: skipped (%s)\n", p.Name, p.Skip)
			continue
		}
		load := bench.SampleLoad()
		var nat []float64
		one := make([][]float64, len(paths))
		long := make([][]float64, len(paths))
		bad := make([]int, len(paths))
		jobs := 1 + 2*len(paths)
		for rep := 0; rep < *reps; rep++ {
			for k := 0; k < jobs; k++ {
				i := (k + rep) % jobs
				if i == 0 {
					d, err := bench.RunPlain(ctx, p.Argv)
					if err != nil {
						fatalf("%s native: %v", p.Name, err)
					}
					nat = append(nat, ms(d))
					continue
				}
				c, n := (i-1)/2, 1
				if (i-1)%2 == 1 {
					n += *runs
				}
				d, ok, err := cliRun(ctx, paths[c], cache, corpus, n, rep+1, strings.Fields(*extra), p.Argv)
				if err != nil {
					fatalf("%s: %v", p.Name, err)
				}
				if !ok {
					bad[c]++
				}
				if n == 1 {
					one[c] = append(one[c], ms(d))
				} else {
					long[c] = append(long[c], ms(d))
				}
			}
		}
		fmt.Printf("# %s: %s\n", p.Name, load.ForeignString())
		n := bench.Median(sorted(nat))
		row := fmt.Sprintf("%s\t%.1f\t", p.Name, n)
		for i := range paths {
			o := bench.Median(sorted(one[i]))
			m := (bench.Median(sorted(long[i])) - o) / float64(*runs)
			row += fmt.Sprintf("%.1f\t%.1f\t%.1f\t%d/%d\t", o, m, m/n, bad[i], 2**reps)
		}
		fmt.Fprintln(tw, row)
	}
	fmt.Printf("# loadavg at end: %s\n\n", bench.LoadAvg())
	tw.Flush()
}

// homeTmp is a directory for the guests' files outside /tmp and /var/tmp,
// which schedfuzz's hermetic runs replace with fresh ones.
func homeTmp() string {
	d, err := os.UserCacheDir()
	if err != nil {
		fatalf("%v", err)
	}
	d = filepath.Join(d, "schedbench")
	if err := os.MkdirAll(d, 0o755); err != nil {
		fatalf("%v", err)
	}
	return d
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

// cliSetup makes a work directory (removed by the caller), the tiny
// guests in it and a schedfuzz binary.
func cliSetup(prefix string) (dir string, st *bench.SchedTools, cli string) {
	dir, err := os.MkdirTemp(homeTmp(), prefix)
	if err != nil {
		fatalf("%v", err)
	}
	st = tools(filepath.Join(dir, "tools"))
	if cli, err = bench.BuildCLI(dir); err != nil {
		os.RemoveAll(dir)
		fatalf("%v", err)
	}
	return dir, st, cli
}

// startMain: the time a session spends before its first run (issue 15).
// For each schedfuzz binary, `-runs 1` and `-runs 1+N` of the tiny dynamic
// program: start-up = wall(1 run) - (wall(1+N) - wall(1))/N, medians over
// the repetitions, with a warm on-disk cache (XDG_CACHE_HOME kept) and a
// cold one (a fresh XDG_CACHE_HOME each time). Interleaved, rotating.
func startMain(args []string) {
	fs := flag.NewFlagSet("start", flag.ExitOnError)
	reps := fs.Int("reps", 15, "repetitions")
	n := fs.Int("n", 20, "extra runs of the long session")
	base := fs.String("base", "", "a schedfuzz binary to compare with (the \"before\" rows)")
	extra := fs.String("flags", "", "extra schedfuzz flags, space-separated")
	fs.Parse(args)
	dir, st, cli := cliSetup("schedbench-start-")
	defer os.RemoveAll(dir)
	names, paths := clis(*base, cli)
	header(fmt.Sprintf(", reps=%d, n=%d, schedfuzz %v", *reps, *n, paths))
	argv := []string{st.TinyDynamic}
	corpus := filepath.Join(dir, "corpus")
	type cell struct{ one, long []float64 }
	cells := map[string]*cell{}
	type job struct {
		name, cli string
		cold      bool
		runs      int
	}
	var jobs []job
	for i, p := range paths {
		for _, cold := range []bool{false, true} {
			jobs = append(jobs, job{names[i], p, cold, 1}, job{names[i], p, cold, 1 + *n})
		}
	}
	var nat []float64
	load := bench.SampleLoad()
	ctx := context.Background()
	for rep := 0; rep < *reps; rep++ {
		d, err := bench.RunPlain(ctx, argv)
		if err != nil {
			fatalf("native: %v", err)
		}
		nat = append(nat, ms(d))
		for k := range jobs {
			j := jobs[(k+rep)%len(jobs)]
			cache := filepath.Join(dir, "cache-"+j.name)
			if j.cold {
				cache = filepath.Join(dir, fmt.Sprintf("cold-%d-%d", rep, k))
			}
			d, ok, err := cliRun(ctx, j.cli, cache, corpus, j.runs, rep+1, strings.Fields(*extra), argv)
			if err != nil || !ok {
				fatalf("%s -runs %d: failed (%v)", j.cli, j.runs, err)
			}
			key := fmt.Sprintf("%s/%v", j.name, j.cold)
			if cells[key] == nil {
				cells[key] = &cell{}
			}
			if j.runs == 1 {
				cells[key].one = append(cells[key].one, ms(d))
			} else {
				cells[key].long = append(cells[key].long, ms(d))
			}
		}
	}
	fmt.Printf("# total: %s\n# loadavg at end: %s\n\n", load.ForeignString(), bench.LoadAvg())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "schedfuzz\tdisk cache\t-runs 1 ms\t-runs 1+N ms\tms per run\tsession start ms\tnative run ms\t")
	nm := bench.Median(sorted(nat))
	for _, name := range names {
		for _, cold := range []bool{false, true} {
			c := cells[fmt.Sprintf("%s/%v", name, cold)]
			one, long := bench.Median(sorted(c.one)), bench.Median(sorted(c.long))
			per := (long - one) / float64(*n)
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.2f\t%.1f\t%.2f\t\n", name, map[bool]string{false: "warm", true: "cold"}[cold],
				one, long, per, one-per, nm)
		}
	}
	tw.Flush()
}

// busyMain: what CPU hogs do to a session's cost per run (issue 15): for
// each schedfuzz binary, `-p 1 -runs N -v` of the tiny dynamic program on
// an idle machine, with one hog pinned to CPU 0 (another tracer's tests),
// with two unpinned hogs in this session (so in its autogroup: the kernel
// shares a CPU between them and the run's threads task by task) and with
// two in a session of their own (as another user's or CI job's would be:
// with sched_autogroup the kernel shares the CPUs between the two
// sessions first); each cell's ms per run (the session's wall
// time over N) and its runs' own (the mean of the walls -v reports for
// runs 1..N-1: without the session's start and its first run, which
// loads the symbol tables), each against idle, interleaved by
// repetition. -quiet waits for a quiet moment before each repetition;
// each cell's "others" is the CPU other processes than the session and
// the hogs used meanwhile, in % of one CPU (median).
func busyMain(args []string) {
	fs := flag.NewFlagSet("busy", flag.ExitOnError)
	reps := fs.Int("reps", 5, "repetitions")
	n := fs.Int("runs", 40, "runs per session")
	base := fs.String("base", "", "a schedfuzz binary to compare with (the \"before\" rows)")
	extra := fs.String("flags", "", "extra schedfuzz flags, space-separated")
	quiet := fs.Duration("quiet", 0, "before each repetition, wait up to this long for other processes to use less than 10% of one CPU over a second")
	fs.Parse(args)
	dir, st, cli := cliSetup("schedbench-busy-")
	defer os.RemoveAll(dir)
	names, paths := clis(*base, cli)
	header(fmt.Sprintf(", reps=%d, %d runs per session (-p 1), schedfuzz %v", *reps, *n, paths))
	argv := []string{st.TinyDynamic}
	conds := []struct {
		name   string
		hogs   int
		pinned bool
		setsid bool // the hogs in a session (so an autogroup) of their own
	}{{"idle", 0, false, false}, {"1 hog on CPU 0", 1, true, false}, {"2 hogs", 2, false, false},
		{"2 hogs, own session", 2, false, true}}
	type cell struct{ session, runs, others []float64 }
	cells := map[string]*cell{}
	ctx := context.Background()
	flags := append([]string{"-v"}, strings.Fields(*extra)...)
	for rep := 0; rep < *reps; rep++ {
		if *quiet > 0 && !bench.WaitQuiet(0.1, *quiet) {
			fmt.Printf("# rep %d: not quiet after %v\n", rep+1, *quiet)
		}
		for _, c := range conds {
			var hogs []*exec.Cmd
			for range c.hogs {
				h := exec.Command("/bin/sh", "-c", "while :; do :; done")
				h.SysProcAttr = &syscall.SysProcAttr{Setsid: c.setsid}
				if err := h.Start(); err != nil {
					fatalf("%v", err)
				}
				if c.pinned {
					exec.Command("taskset", "-p", "-c", "0", fmt.Sprint(h.Process.Pid)).Run()
				}
				hogs = append(hogs, h)
			}
			time.Sleep(300 * time.Millisecond) // a load window for the picker to see
			for k := range paths {
				i := (k + rep) % len(paths)
				busy0, hog0 := bench.MachineBusy(), hogsCPU(hogs)
				d, out, usage, err := cliRunV(ctx, paths[i], filepath.Join(dir, "cache"), filepath.Join(dir, "corpus"), *n, rep+1, flags, argv)
				if err != nil {
					fatalf("%s: %v", paths[i], err)
				}
				others := bench.MachineBusy() - busy0 - (hogsCPU(hogs) - hog0) - usage
				key := names[i] + "/" + c.name
				if cells[key] == nil {
					cells[key] = &cell{}
				}
				cl := cells[key]
				cl.session = append(cl.session, ms(d)/float64(*n))
				cl.runs = append(cl.runs, runWalls(out))
				cl.others = append(cl.others, 100*max(others, 0).Seconds()/d.Seconds())
			}
			for _, h := range hogs {
				h.Process.Kill()
				h.Wait()
			}
		}
	}
	fmt.Printf("# loadavg at end: %s\n\n", bench.LoadAvg())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "schedfuzz\tmachine\tms per run (session/N)\tx idle\tms per run (runs 1..N-1)\tx idle\tothers %CPU\truns\t")
	for _, name := range names {
		idle := cells[name+"/idle"]
		is, ir := bench.Median(sorted(idle.session)), bench.Median(sorted(idle.runs))
		for _, c := range conds {
			cl := cells[name+"/"+c.name]
			m, r := bench.Median(sorted(cl.session)), bench.Median(sorted(cl.runs))
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t%d\t\n", name, c.name, m, m/is, r, r/ir, bench.Median(sorted(cl.others)), *n)
		}
	}
	tw.Flush()
}

// cliRunV is cliRun for a session run with -v: it also returns the output
// and the CPU time the session used (with its guests).
func cliRunV(ctx context.Context, cli, cache, corpus string, runs int, seed int, extra []string, argv []string) (time.Duration, string, time.Duration, error) {
	args := append([]string{"-p", "1", "-runs", fmt.Sprint(runs), "-keep-going", "-minimize=false",
		"-seed", fmt.Sprint(seed), "-corpus", corpus}, extra...)
	args = append(append(args, "--"), argv...)
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if !strings.Contains(out.String(), "no failure in") {
		return d, out.String(), 0, fmt.Errorf("failed (%v): %s", err, out.Bytes())
	}
	var used time.Duration
	if ps := cmd.ProcessState; ps != nil {
		used = ps.UserTime() + ps.SystemTime()
	}
	return d, out.String(), used, nil
}

// runWallRE matches a run's wall time in a -v line ("run 3 seed ...:
// exit 0, 0 decisions, 1.234ms: pass").
var runWallRE = regexp.MustCompile(`(?m)^run ([0-9]+) .* decisions, ([0-9.]+(?:ms|µs|s)): `)

// runWalls is the mean wall time of runs 1.. in a -v output, in ms.
func runWalls(out string) float64 {
	var sum time.Duration
	n := 0
	for _, m := range runWallRE.FindAllStringSubmatch(out, -1) {
		d, err := time.ParseDuration(m[2])
		if err != nil || m[1] == "0" {
			continue
		}
		sum += d
		n++
	}
	return ms(sum) / float64(max(n, 1))
}

// hogsCPU is the CPU time the hogs have used so far.
func hogsCPU(hogs []*exec.Cmd) time.Duration {
	var sum time.Duration
	for _, h := range hogs {
		sum += bench.ProcessCPU(h.Process.Pid)
	}
	return sum
}
