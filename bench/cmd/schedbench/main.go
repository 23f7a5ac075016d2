// Command schedbench measures the serializing scheduler (issue 3, "Speed"):
//
//	schedbench corpus [-seeds 20] [-max 1000] [-native 1000] [-p 2] [-only RE]
//	schedbench fixed  [-reps 100] [-opts] [-only RE]
//	schedbench points [-reps 5] [-lo 1000] [-hi 21000]
//	schedbench stops  [PROG ARGS...]
//	schedbench run    [-cpu N] [-seed S] PROG ARGS...
//	schedbench cr4    [-cpu N] [-reps 5]
//	schedbench parallel [-runs 400] [-reps 3] [-prog NAME] [-quiet D] [-cpuprofile FILE] [-base SCHEDBENCH]
//	schedbench real   [-reps 3] [-runs 3] [-base SCHEDFUZZ] [-only RE]
//	schedbench start  [-reps 15] [-n 20] [-base SCHEDFUZZ]
//	schedbench busy   [-reps 5] [-runs 40] [-base SCHEDFUZZ]
//
// corpus: for every program of package corpus, the runs to the first
// failure under each exploration strategy (one column per entry of
// bench.Strategies; today the random walk of explore.Run), over session
// seeds 1..N with run seeds derived as cmd/schedfuzz does, next to the
// failures in plain native runs (fork/exec/wait, output checked like
// corpus's tests).
//
// fixed: the fixed cost of one run of `int main(){return 0;}` (dynamic and
// static): natively, under intercept.Run subscribing nothing, subscribing
// everything, with the scheduler's intercept options, under the scheduler,
// and through explore.Run. -opts splits the options' cost instead.
//
// points: the cost of one scheduling point: runs of a guest making N
// getppid calls in one thread, or in two threads under a decider that
// switches threads at every point, timed at two N and divided by the
// difference in points; against the C tracer (bench/ctracer) per stop,
// plain and with the guest's rdtsc trapped as the scheduler does (-t).
//
// stops: what one scheduled run of PROG (default: the tiny programs)
// stopped for, counted by kind.
//
// cr4: what one CR4 write costs (csrc/cr4.c, pinned to -cpu): the kernel
// does two per stop of a guest whose rdtsc traps.
//
// parallel: the throughput of an exploration session (explore.Session,
// the CLI's engine: the default portfolio and sync points, every failure
// kept going) with -p 1 and -p 2, in runs per second, interleaved, with
// the CPU time per run of this process (the tracers) and of the guests;
// -quiet waits for a quiet moment before each session; -base adds an older
// tree's schedbench, its `parallel -reps 1` run once per repetition.
//
// real: the default point set on real programs (node worker_threads, a
// C++ thread pool, Go net/http, CPython threads, make -j4) against native
// wall time per run, through the schedfuzz CLI (-p 1 -runs N); -base adds
// another schedfuzz binary (an older build) measured side by side.
//
// start: what a schedfuzz session spends before its first run, with a warm
// and a cold on-disk cache; -base as for real.
//
// busy: a session's cost per run (-p 1) idle, with a CPU hog pinned to CPU
// 0 and with two hogs, each against idle; -base as for real.
//
// run: one explore.Run of PROG pinned to -cpu (schedfuzz's sessions pin
// each run to a CPU of its own), for bench/stopcpu.sh; exits with the
// guest's status.
//
// Every configuration is pinned to -cpu (default 0) and the
// configurations are interleaved: each repetition runs each once, starting
// one further along the list. The machine may be shared, so each block of
// repetitions reports the CPU time other processes used meanwhile. Wall
// times are from the outside (the scheduler's guests see a virtual clock);
// the fixed table also gives the CPU time of the tracer process and the
// guest, which depends less on other load. Results: bench/RESULTS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schedfuzz/schedfuzz/bench"
	"github.com/schedfuzz/schedfuzz/corpus"
	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	schedpoints "github.com/schedfuzz/schedfuzz/sched/points"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	switch cmd {
	case "fixed":
		fixedMain(args)
	case "points":
		pointsMain(args)
	case "kinds":
		kindsMain(args)
	case "corpus":
		corpusMain(args)
	case "parallel":
		parallelMain(args)
	case "stops":
		stopsMain(args)
	case "run":
		runMain(args)
	case "cr4":
		cr4Main(args)
	case "real":
		realMain(args)
	case "start":
		startMain(args)
	case "busy":
		busyMain(args)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: schedbench fixed|points|kinds|corpus|parallel|real|start|busy [flags]\n       schedbench stops [-cpu N] [PROG ARGS...]")
	os.Exit(2)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "schedbench: "+format+"\n", args...)
	os.Exit(1)
}

func header(extra string) {
	fmt.Printf("# %s\n", bench.CommandLine("schedbench"))
	fmt.Printf("# %s, kernel %s, %d CPUs, GOMAXPROCS %d, %s%s\n", time.Now().UTC().Format(time.RFC3339),
		bench.Kernel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), extra)
	fmt.Printf("# loadavg at start: %s\n", bench.LoadAvg())
}

func tools(dir string) *bench.SchedTools {
	if dir == "" {
		d, err := os.MkdirTemp("", "schedbench-")
		if err != nil {
			fatalf("%v", err)
		}
		dir = d
	}
	st, err := bench.BuildSchedTools(dir)
	if err != nil {
		fatalf("%v", err)
	}
	return st
}

func fixedMain(args []string) {
	fs := flag.NewFlagSet("fixed", flag.ExitOnError)
	reps := fs.Int("reps", 100, "repetitions (each runs every configuration once)")
	cpu := fs.Int("cpu", 0, "CPU to pin tracer and guest to")
	dir := fs.String("dir", "", "build directory")
	opts := fs.Bool("opts", false, "instead: the cost of each intercept option of a scheduled run, alone")
	only := fs.String("only", "", "run only the configurations whose name matches this regexp (plus native)")
	fs.Parse(args)
	st := tools(*dir)
	cases := st.FixedCases()
	if *opts {
		cases = append(st.OptionCases(st.TinyDynamic), st.OptionCases(st.TinyStatic)...)
		for i := range cases[:len(cases)/2] {
			cases[i].Name = "dynamic/" + cases[i].Name
			cases[len(cases)/2+i].Name = "static/" + cases[len(cases)/2+i].Name
		}
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fatalf("-only: %v", err)
		}
		var keep []bench.Case
		for _, c := range cases {
			if c.Kind == bench.RunNative || re.MatchString(c.Name) {
				keep = append(keep, c)
			}
		}
		cases = keep
	}
	header(fmt.Sprintf(", reps=%d, cpu=%d", *reps, *cpu))
	load := bench.SampleLoad()
	block := bench.SampleLoad()
	res, err := st.Interleave(context.Background(), cases, *reps, *cpu, func(r int) {
		if (r+1)%10 == 0 || r+1 == *reps {
			fmt.Printf("# reps %d-%d: %s\n", r-r%10+1, r+1, block.ForeignStringOn(*cpu))
			block = bench.SampleLoad()
		}
	})
	if err != nil {
		fatalf("%v", err)
	}
	fmt.Printf("# total: %s\n# loadavg at end: %s\n\n", load.ForeignStringOn(*cpu), bench.LoadAvg())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\tmedian ms\tmin ms\tx native (median)\tx native (min)\tCPU ms (median)\tCPU x native\tswitches\tstops/run\tpoints/run\tequivalent\t")
	var nat *bench.Samples
	for _, s := range res {
		if s.Case.Kind == bench.RunNative && (nat == nil || s.Case.Argv[0] != nat.Case.Argv[0]) {
			nat = s
		}
		lo, hi, plo, phi := s.StopRange()
		c := bench.Median(s.CPUMs())
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.2f\t%.2f\t%.3f\t%.2f\t%.0f\t%s\t%s\t%s\t\n", s.Case.Name, s.MedianMs(), s.MinMs(),
			s.MedianMs()/nat.MedianMs(), s.MinMs()/nat.MinMs(), c, c/bench.Median(nat.CPUMs()), s.MedianSwitches(), rng(lo, hi), rng(plo, phi), s.Case.Kind.Describe(s.Case.Argv, *cpu))
	}
	tw.Flush()
}

func rng(lo, hi int64) string {
	switch {
	case lo < 0:
		return "-"
	case lo == hi:
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

func pointsMain(args []string) {
	fs := flag.NewFlagSet("points", flag.ExitOnError)
	reps := fs.Int("reps", 5, "repetitions (each runs every configuration at -lo and -hi)")
	lo := fs.Int("lo", 1000, "calls per thread of the short run")
	hi := fs.Int("hi", 21000, "calls per thread of the long run")
	cpu := fs.Int("cpu", 0, "CPU to pin tracer and guest to")
	dir := fs.String("dir", "", "build directory")
	fs.Parse(args)
	st := tools(*dir)
	header(fmt.Sprintf(", reps=%d, lo=%d, hi=%d, cpu=%d", *reps, *lo, *hi, *cpu))
	load := bench.SampleLoad()
	block := bench.SampleLoad()
	res, err := st.PointCost(context.Background(), bench.PointCases(), *lo, *hi, *reps, *cpu, func(r int) {
		fmt.Printf("# rep %d/%d: %s\n", r+1, *reps, block.ForeignStringOn(*cpu))
		block = bench.SampleLoad()
	})
	if err != nil {
		fatalf("%v", err)
	}
	fmt.Printf("# total: %s\n# loadavg at end: %s\n\n", load.ForeignStringOn(*cpu), bench.LoadAvg())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\tµs/point (median)\tmin\tmax\tx ctracer\tx ctracer -t\tpoints\tequivalent (N = lo, hi)\t")
	base, baseT := map[int]float64{}, map[int]float64{}
	for _, p := range res {
		switch p.Case.Kind {
		case bench.RunCTracer:
			base[p.Case.Threads] = bench.Median(p.UsPerPoint)
		case bench.RunCTracerTSC:
			baseT[p.Case.Threads] = bench.Median(p.UsPerPoint)
		}
	}
	for _, p := range res {
		m := bench.Median(p.UsPerPoint)
		prog := "points"
		if p.Case.Static {
			prog = "points-static"
		}
		argv := []string{prog, "N", fmt.Sprint(p.Case.Threads)}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\t\n", p.Case.Name, m, p.UsPerPoint[0],
			p.UsPerPoint[len(p.UsPerPoint)-1], m/base[p.Case.Threads], m/baseT[p.Case.Threads], p.Points, p.Case.Kind.Describe(argv, *cpu))
	}
	tw.Flush()
}

// kindsMain measures the cost of one scheduling point of each kind.
func kindsMain(args []string) {
	fs := flag.NewFlagSet("kinds", flag.ExitOnError)
	reps := fs.Int("reps", 5, "repetitions (each runs every configuration at -lo and -hi)")
	lo := fs.Int("lo", 1000, "iterations of the short run")
	hi := fs.Int("hi", 11000, "iterations of the long run")
	cpu := fs.Int("cpu", 0, "CPU to pin tracer and guest to")
	fs.Parse(args)
	dir, err := os.MkdirTemp("", "schedbench-kinds-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(dir)
	guest, err := bench.BuildKindsGuest(dir)
	if err != nil {
		fatalf("%v", err)
	}
	header(fmt.Sprintf(", reps=%d, lo=%d, hi=%d, cpu=%d", *reps, *lo, *hi, *cpu))
	load := bench.SampleLoad()
	res, err := bench.KindCost(context.Background(), guest, bench.KindCases(), *lo, *hi, *reps, *cpu)
	if err != nil {
		fatalf("%v", err)
	}
	fmt.Printf("# %s\n# loadavg at end: %s\n\n", load.ForeignStringOn(*cpu), bench.LoadAvg())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "point\tµs/point (median)\tmin\tmax\tx syscall point\tpoints\tequivalent\t")
	base := bench.Median(res[0].UsPerPoint)
	for _, r := range res {
		m := bench.Median(r.UsPerPoint)
		eq := fmt.Sprintf("explore.Run(kinds %s N, Config{Pin: true, CPU: %d, Points: %s", r.Case.Mode, *cpu, r.Case.Set)
		if r.Case.Set == schedpoints.Memory {
			eq += fmt.Sprintf(", Memory: {Watch: %d}", r.Case.Watch)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s})\t\n", r.Case.Name, m, r.UsPerPoint[0],
			r.UsPerPoint[len(r.UsPerPoint)-1], m/base, r.Points, eq)
	}
	tw.Flush()
}

func corpusMain(args []string) {
	fs := flag.NewFlagSet("corpus", flag.ExitOnError)
	sessions := fs.Int("seeds", 20, "session (base) seeds per program and strategy: 1..N")
	maxRuns := fs.Int("max", 1000, "runs per session before giving up")
	nativeRuns := fs.Int("native", 1000, "plain native runs per program (0: skip)")
	par := fs.Int("p", 2, "native runs at a time")
	nativeTimeout := fs.Duration("native-timeout", 10*time.Second, "limit of one native run (a native deadlock hangs)")
	timeout := fs.Duration("timeout", 20*time.Second, "limit of one scheduled run (past it: a hang)")
	cpu := fs.Int("cpu", 0, "CPU to pin scheduled runs to")
	only := fs.String("only", "", "only programs whose name matches this regexp")
	columns := fs.String("columns", "", "columns (strategy/points) whose name matches this regexp, among all of them: "+
		"the four strategies with syscall, sync and memory points, and portfolio/sync, portfolio/memory, portfolio/memory-every-N "+
		"(default: random/syscalls and the four strategies with sync points)")
	memSites := fs.Int("memory-sites", 16, "memory columns: sites sampled per run")
	memWatch := fs.Int("memory-watch", 2, "memory columns: watch registers")
	fs.Parse(args)
	var re *regexp.Regexp
	if *only != "" {
		var err error
		if re, err = regexp.Compile(*only); err != nil {
			fatalf("-only: %v", err)
		}
	}
	bases := make([]uint64, *sessions)
	for i := range bases {
		bases[i] = uint64(i + 1)
	}
	header(fmt.Sprintf(", sessions 1..%d, max %d runs each, native %d runs -p %d", *sessions, *maxRuns, *nativeRuns, *par))
	ctx := context.Background()
	strats := bench.Strategies(*cpu, *timeout)
	if *columns != "" {
		cre, err := regexp.Compile(*columns)
		if err != nil {
			fatalf("-columns: %v", err)
		}
		strats = nil
		for _, s := range bench.AllStrategiesMemory(*cpu, *timeout, *memSites, *memWatch) {
			if cre.MatchString(s.Name) {
				strats = append(strats, s)
			}
		}
		if len(strats) == 0 {
			fatalf("-columns %q matches no column", *columns)
		}
	}
	var rows []bench.CorpusRow
	var natWall time.Duration
	stratWall := map[string]time.Duration{}
	stratRuns := map[string]int{}
	for _, p := range corpus.Programs() {
		if re != nil && !re.MatchString(p.Name) {
			continue
		}
		path, err := corpus.Build(p, "")
		if err != nil {
			fatalf("%v", err)
		}
		row := bench.CorpusRow{Program: p}
		if *nativeRuns > 0 {
			load := bench.SampleLoad()
			if row.Native, err = bench.NativeRuns(ctx, p, path, *nativeRuns, *par, *nativeTimeout); err != nil {
				fatalf("%s native: %v", p.Name, err)
			}
			natWall += row.Native.Wall
			fmt.Printf("# %s: native %s %v in %v; %s\n", p.Name, row.Native.Cell(), row.Native.How, row.Native.Wall.Round(time.Millisecond), load.ForeignString())
		}
		for _, s := range strats {
			load := bench.SampleLoad()
			ff, err := bench.FindFirst(ctx, p, path, s, bases, *maxRuns)
			if err != nil {
				fatalf("%v", err)
			}
			stratWall[s.Name] += ff.Wall
			stratRuns[s.Name] += ff.Total
			fmt.Printf("# %s: %s %s, %d runs in %v, first failures %v", p.Name, s.Name, ff.Cell(), ff.Total, ff.Wall.Round(time.Millisecond), ff.Runs)
			if len(ff.Other) > 0 {
				fmt.Printf(", other failures %v", ff.Other)
			}
			if ff.BadOutput > 0 {
				fmt.Printf(", %d passing runs with wrong output", ff.BadOutput)
			}
			fmt.Printf("; %s\n", load.ForeignStringOn(*cpu))
			row.Strategies = append(row.Strategies, ff)
		}
		rows = append(rows, row)
	}
	fmt.Printf("# wall time: native %v", natWall.Round(time.Millisecond))
	for _, s := range strats {
		fmt.Printf(", %s %v (%d runs)", s.Name, stratWall[s.Name].Round(time.Millisecond), stratRuns[s.Name])
	}
	fmt.Printf("\n# loadavg at end: %s\n\n", bench.LoadAvg())
	fmt.Print(bench.CorpusTable(rows))
}

// parallelMain measures runs per second of a session with -p 1 and -p 2.
func parallelMain(args []string) {
	fs := flag.NewFlagSet("parallel", flag.ExitOnError)
	runs := fs.Int("runs", 400, "runs per session")
	reps := fs.Int("reps", 3, "repetitions of each configuration")
	prog := fs.String("prog", "atomicity_violation", "corpus program")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the sessions (this process: the tracers, the session's goroutines) to this file")
	quiet := fs.Duration("quiet", 0, "before each session, wait up to this long for other processes to use less than 10% of one CPU over a second")
	base := fs.String("base", "", "a schedbench binary of an older tree: each repetition also runs its `parallel -reps 1` (the \"before\" rows)")
	fs.Parse(args)
	p, ok := corpus.Lookup(*prog)
	if !ok {
		fatalf("no corpus program %q", *prog)
	}
	path, err := corpus.Build(p, "")
	if err != nil {
		fatalf("%v", err)
	}
	header(fmt.Sprintf(", %s, %d runs per session", p.Name, *runs))
	tgt := &explore.Target{Path: path, Args: append([]string{path}, p.Args...)}
	cache := symbols.NewCache(nil)
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fatalf("%v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatalf("%v", err)
		}
		defer pprof.StopCPUProfile()
	}
	waitQuiet := func() {
		if *quiet > 0 && !bench.WaitQuiet(0.1, *quiet) {
			fmt.Printf("# not quiet after %v\n", *quiet)
		}
	}
	rates := map[string][]float64{} // by "before/1", "after/2"...
	for rep := 0; rep < *reps; rep++ {
		if *base != "" && rep%2 == 0 {
			waitQuiet()
			parallelBase(*base, rep+1, *runs, *prog, rates)
		}
		for k, par := range []int{1, 2} {
			if rep%2 == 1 {
				par = []int{2, 1}[k]
			}
			waitQuiet()
			load := bench.SampleLoad()
			use := bench.SampleUsage()
			sess := &explore.Session{Target: tgt, Seed: uint64(rep + 1), Runs: *runs, Parallel: par,
				Template: explore.Config{Timeout: 20 * time.Second, Points: schedpoints.Sync, Watch: p.Watch, Symbols: cache},
				Report:   func(*explore.RunReport) bool { return false }}
			sum, err := sess.Run(context.Background())
			if err != nil {
				fatalf("%v", err)
			}
			r := float64(sum.Runs) / sum.Elapsed.Seconds()
			rates[fmt.Sprintf("after/%d", par)] = append(rates[fmt.Sprintf("after/%d", par)], r)
			fmt.Printf("# rep %d -p %d: %d runs in %v = %.1f runs/s, %d failures; %s; %s\n", rep+1, par, sum.Runs,
				sum.Elapsed.Round(time.Millisecond), r, sum.Failures, use.PerRun(sum.Runs), load.ForeignString())
		}
		if *base != "" && rep%2 == 1 {
			waitQuiet()
			parallelBase(*base, rep+1, *runs, *prog, rates)
		}
	}
	fmt.Printf("\n| schedbench | -p | runs/s (median of %d) | runs/s | -p 2 / -p 1 |\n|---|---|---|---|---|\n", *reps)
	for _, who := range []string{"before", "after"} {
		if len(rates[who+"/1"]) == 0 {
			continue
		}
		m1, m2 := bench.Median(sorted(rates[who+"/1"])), bench.Median(sorted(rates[who+"/2"]))
		fmt.Printf("| %s | 1 | %.1f | %s | |\n| %s | 2 | %.1f | %s | %.2f |\n", who, m1, rounded(rates[who+"/1"]), who, m2, rounded(rates[who+"/2"]), m2/m1)
	}
}

// parallelBase runs an older schedbench's `parallel -reps 1` and adds its
// runs per second to rates ("before/1", "before/2"), echoing its lines.
func parallelBase(bin string, rep, runs int, prog string, rates map[string][]float64) {
	out, err := exec.Command(bin, "parallel", "-reps", "1", "-runs", fmt.Sprint(runs), "-prog", prog).CombinedOutput()
	if err != nil {
		fatalf("%s: %v\n%s", bin, err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		var one, par, n int
		var d string
		var r float64
		if _, err := fmt.Sscanf(l, "# rep %d -p %d: %d runs in %s = %f runs/s", &one, &par, &n, &d, &r); err == nil {
			rates[fmt.Sprintf("before/%d", par)] = append(rates[fmt.Sprintf("before/%d", par)], r)
			fmt.Printf("# rep %d before%s\n", rep, strings.TrimPrefix(l, "# rep 1"))
		}
	}
}

func rounded(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(s, " ")
}

func sorted(v []float64) []float64 { return slices.Sorted(slices.Values(v)) }

// stopsMain lists the stops of one scheduled run of PROG (default: the
// tiny dynamic and static programs), grouped and counted.
func stopsMain(args []string) {
	fs := flag.NewFlagSet("stops", flag.ExitOnError)
	cpu := fs.Int("cpu", 0, "CPU to pin tracer and guest to")
	dir := fs.String("dir", "", "build directory")
	fs.Parse(args)
	progs := [][]string{fs.Args()}
	if fs.NArg() == 0 {
		st := tools(*dir)
		progs = [][]string{{st.TinyDynamic}, {st.TinyStatic}}
	}
	fmt.Printf("# %s\n", bench.CommandLine("schedbench"))
	for _, argv := range progs {
		sl, err := bench.ListStops(context.Background(), argv, *cpu, 1)
		if err != nil {
			fatalf("%v", err)
		}
		fmt.Printf("\n%s: %d stops, %d scheduling points, %d tool callbacks after a stop:\n", filepath.Base(argv[0]), sl.Stops, sl.Points, len(sl.Events))
		counts := map[string]int{}
		var order []string
		for _, e := range sl.Events {
			if counts[e] == 0 {
				order = append(order, e)
			}
			counts[e]++
		}
		for _, e := range order {
			fmt.Printf("  %3d  %s\n", counts[e], e)
		}
	}
}

func runMain(args []string) {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	cpu := fs.Int("cpu", 0, "CPU to pin tracer and guest to")
	seed := fs.Uint64("seed", 1, "run seed")
	fs.Parse(args)
	if fs.NArg() == 0 {
		usage()
	}
	r, err := explore.Run(context.Background(), &explore.Target{Path: fs.Arg(0), Args: fs.Args()}, explore.Config{Seed: *seed, Pin: true, CPU: *cpu})
	if err != nil {
		fatalf("%v", err)
	}
	os.Stdout.Write(r.Stdout)
	os.Stderr.Write(r.Stderr)
	fmt.Fprintf(os.Stderr, "schedbench run: %s, %d scheduling points\n", r.Describe(), r.Outcome.Steps)
	if r.Failed() {
		os.Exit(1)
	}
}

func cr4Main(args []string) {
	fs := flag.NewFlagSet("cr4", flag.ExitOnError)
	cpu := fs.Int("cpu", 0, "CPU to run on")
	reps := fs.Int("reps", 5, "runs of cr4 (100000 toggle pairs each)")
	dir := fs.String("dir", "", "build directory")
	fs.Parse(args)
	st := tools(*dir)
	fmt.Printf("# %s\n", bench.CommandLine("schedbench"))
	for range *reps {
		out, err := exec.Command("taskset", "-c", fmt.Sprint(*cpu), st.CR4).CombinedOutput()
		if err != nil {
			fatalf("cr4: %v\n%s", err, out)
		}
		fmt.Print(string(out))
	}
}
