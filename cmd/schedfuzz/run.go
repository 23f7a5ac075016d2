package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/hunt"
	"github.com/schedfuzz/schedfuzz/intercept/sandbox"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/report"
)

const runUsage = `usage: schedfuzz [flags] [--] PROG [ARGS...]
       schedfuzz replay [-timeout D] [-trace FILE] FILE|DIR
       schedfuzz trace [-f] [-e name,...] [-c] [-s N] [-o FILE] [--] PROG [ARGS...]
flags:`

// runFlags are the exploration's settings.
type runFlags struct {
	runs      int
	budget    time.Duration
	par       int
	seed      string
	timeout   time.Duration
	corpus    string
	cpus      int
	strategy  string
	faults    bool
	keepGoing bool
	expect    string
	failure   string
	ignore    string
	maxSteps  int
	loneAfter int
	minimize  bool
	json      bool
	junit     string
	trace     string
	html      string
	verbose   bool
	pts       hunt.Points
	world     worldFlags
	check     checkFlag
	shard     shardFlag
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.runs, "runs", 100, "number of runs (with -time: at most this many; 0: no limit)")
	fs.DurationVar(&f.budget, "time", 0, "time budget instead of a run count (e.g. 10m)")
	fs.IntVar(&f.par, "p", runtime.NumCPU(), "runs at once, each pinned to its own CPU")
	fs.StringVar(&f.seed, "seed", "", "session seed (default: random, or $GITHUB_RUN_ID with -shard; always printed)")
	fs.Var(&f.shard, "shard", "make only shard `I/N` of the session's runs, the runs i with i mod N = I-1 (-runs counts the whole session's; a failure's run index is the session's); shards of one -seed never repeat each other's runs")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "limit on a run's own time (its CPU time, real blocking and virtual time; not time waiting for a CPU); a run past it is a hang")
	fs.StringVar(&f.corpus, "corpus", "testdata/schedfuzz", "directory for seed files of failing runs")
	fs.IntVar(&f.cpus, "cpus", 4, "CPU count the guest sees")
	fs.StringVar(&f.strategy, "strategy", "portfolio", "random, pct[:D], pos, chaos, a comma-separated list to rotate among, or portfolio")
	fs.BoolVar(&f.faults, "faults", false, "also fuzz syscall results: short reads and writes, EINTR, EAGAIN, spurious futex wake-ups")
	fs.BoolVar(&f.keepGoing, "keep-going", false, "collect every distinct failure instead of stopping at the first")
	fs.StringVar(&f.expect, "expect-exit", "0", "comma-separated exit statuses that mean success")
	fs.StringVar(&f.failure, "failure", "", "a failing run counts only if its output matches this regexp")
	fs.StringVar(&f.ignore, "ignore", "", "ignore failing runs whose output matches this regexp")
	fs.IntVar(&f.loneAfter, "lone-after", explore.DefaultLoneAfter, "after this many points in a row where one thread alone can run, its function points stop nothing until another can (0: every point stops)")
	fs.IntVar(&f.maxSteps, "max-steps", explore.DefaultMaxSteps, "end a run after this many decisions as a livelock (0: no limit; seed files grow by about 30 bytes a decision)")
	fs.BoolVar(&f.minimize, "minimize", true, "minimize the first failure of each signature and find its critical pair")
	fs.BoolVar(&f.json, "json", false, "print JSON lines (shaped like go test -json) on stdout")
	fs.StringVar(&f.junit, "junit", "", "write a JUnit XML report to this file")
	fs.StringVar(&f.trace, "trace", "", "write a Perfetto/Chrome trace of the first failure to this file")
	fs.StringVar(&f.html, "html", "", "write the first failure's report as a self-contained HTML page to this file (timeline, critical pair with its source lines)")
	fs.BoolVar(&f.verbose, "v", false, "print every run, and progress lines even when stderr is not a terminal")
	registerPoints(fs, &f.pts, defaultPoints)
	f.world.register(fs)
	fs.Var(&f.check, "check-determinism", "replay passing runs with their own decisions and report those that do not follow them (=N: every Nth passing run)")
}

// session is one `schedfuzz PROG` invocation.
type session struct {
	f       runFlags
	stdout  io.Writer
	stderr  io.Writer
	prog    string // as typed
	args    []string
	hunt    *hunt.Hunt // the program, the settings and the failure pipeline
	tgt     *explore.Target
	store   replay.Store
	classes explore.Classifier
	json    *report.JSON
	start   time.Time

	ctx    context.Context     // cancelled by SIGINT or SIGTERM
	base   uint64              // the session seed
	seen   map[string]*sigInfo // by signature
	order  []string            // signatures in order of discovery
	err    error               // a tool error that stopped the session
	traced bool
	warned map[string]bool // point warnings, said once
	syms   *symbols.Cache  // ELF files, parsed once per session

	gate    exitGate      // orders the session's end and an interrupt
	flags   *flag.FlagSet // as parsed, for a command that reruns a run
	unsaved error         // the last failure's seed could not be saved
	pool    *sandbox.Pool // the runs' sandbox (nil: none)
	det     determinism   // -check-determinism
}

type sigInfo struct {
	runs, first int
	file        string
	message     string
	details     string
}

func runMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schedfuzz", flag.ContinueOnError)
	var f runFlags
	f.register(fs)
	if code, ok := parseFlags(fs, args, stderr, func(w io.Writer) {
		fmt.Fprintln(w, runUsage)
		printDefaults(fs, w)
	}); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, strings.TrimSuffix(runUsage, "\nflags:")+"\n(schedfuzz -h lists the flags)")
		return exitUsage
	}
	s := &session{f: f, stdout: stdout, stderr: stderr, prog: fs.Arg(0), args: fs.Args(), seen: map[string]*sigInfo{},
		warned: map[string]bool{}, syms: symbols.NewCache(nil).KeepOnDisk(hunt.CacheDir("symbols")), flags: fs}
	if err := s.setup(); err != nil {
		return fail(stderr, err)
	}
	triedUserNS := f.world.hermetic && lacksPrivilege()
	if triedUserNS {
		if code, ok := reexec(); ok {
			return code
		}
	}
	// The first run's symbol tables are read while the sandbox is made.
	s.hunt.Preload()
	if f.world.hermetic {
		pool, err := sandbox.New(sandbox.Config{Dir: s.hunt.Program.Dir, Prog: s.tgt.Path, CPUs: f.cpus, HostNet: f.world.net == "host"})
		if err != nil && !triedUserNS && needUserNS() {
			if code, ok := reexec(); ok {
				return code
			}
		}
		pool, err = sandboxReady(pool, err, stderr)
		if err != nil {
			return fail(stderr, err)
		}
		if pool != nil {
			defer pool.Close()
			s.pool = pool
			s.hunt.Sandbox = pool
		}
	}
	return s.run()
}

func usageErr(format string, a ...any) error {
	return &cliError{exitUsage, fmt.Sprintf(format, a...)}
}

// setup checks the flags and the target.
func (s *session) setup() error {
	f := &s.f
	if err := f.validate(); err != nil {
		return err
	}
	if _, err := explore.ParsePortfolio(f.strategy); err != nil {
		return usageErr("-strategy: %v", err)
	}
	if err := parsePoints(&f.pts); err != nil {
		return err
	}
	if err := f.world.parse(); err != nil {
		return err
	}
	codes, err := replay.ParseExitList(f.expect)
	if err != nil {
		return usageErr("-expect-exit %q: %v", f.expect, err)
	}
	s.classes.ExpectExit = codes
	for _, re := range []struct {
		flag string
		src  string
		dst  **regexp.Regexp
	}{{"-failure", f.failure, &s.classes.Failure}, {"-ignore", f.ignore, &s.classes.Ignore}} {
		if re.src == "" {
			continue
		}
		rx, err := regexp.Compile(re.src)
		if err != nil {
			return usageErr("%s: %v", re.flag, err)
		}
		*re.dst = rx
	}
	if err := f.checkOutputs(); err != nil {
		return err
	}
	// The guest gets our environment and working directory; the seed file
	// records both (secret-looking values redacted) so a replay is exact.
	prog, err := hunt.NewProgram(s.prog, s.args, os.Environ(), "")
	if err != nil {
		return err
	}
	s.tgt = prog.Target()
	s.store = replay.Store{Dir: f.corpus}
	s.store.CleanTemp() // what sessions killed while saving left
	if f.json {
		s.json = report.NewJSON(s.stdout)
	}
	s.hunt = &hunt.Hunt{Program: prog, Tool: version, Store: s.store, Classify: s.classes, Points: &f.pts,
		Timeout: f.timeout, CPUs: f.cpus, Faults: f.faults, MaxSteps: f.maxSteps, LoneAfter: f.loneAfter, Symbols: s.syms,
		HostNet: f.world.net == "host", Stdin: f.world.stdinPath, StdinSHA256: f.world.stdinSum,
		Minimize: f.minimize, Verbose: f.verbose || isTerminal(s.stderr),
		Hooks: hunt.Hooks{Guard: s.gate.saving, Saved: s.saved, Logf: s.logf}}
	return nil
}

func (s *session) run() int {
	f := &s.f
	var base uint64
	if f.seed == "" {
		var b [8]byte
		crand.Read(b[:])
		base = binary.LittleEndian.Uint64(b[:])
	} else {
		v, err := parseUint(f.seed)
		if err != nil {
			return fail(s.stderr, usageErr("bad -seed %s", f.seed))
		}
		base = v
	}
	s.base = base
	s.hunt.Epoch = hunt.SessionEpoch(time.Now())
	portfolio, _ := explore.ParsePortfolio(f.strategy)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer stop()
	s.ctx = ctx
	what := fmt.Sprintf("%d runs", f.runs)
	if f.budget > 0 {
		what = "runs for " + f.budget.String()
		if f.runs > 0 {
			what += fmt.Sprintf(" (at most %d)", f.runs)
		}
	}
	names := make([]string, len(portfolio))
	for i, sp := range portfolio {
		names[i] = sp.String()
	}
	what += f.shardNote()
	fmt.Fprintf(s.stderr, "schedfuzz: seed %#016x, %s of %s, strategy %s, %s, -p %d\n", base, what, s.prog, strings.Join(names, ","), &f.pts, f.par)
	s.emit(report.Event{Action: "start", Target: s.prog, Seed: fmt.Sprintf("%#016x", base), Strategy: strings.Join(names, ","), Total: f.runs})
	s.start = time.Now()
	sess := &explore.Session{
		Target: s.tgt, Seed: base, Runs: f.runs, Time: f.budget, Parallel: f.par, Portfolio: portfolio,
		Template: s.hunt.Config(explore.Config{}), MemoryEvery: f.pts.MemoryEvery(),
		Classify: s.classes, Shard: f.shard.sh,
		Report: s.onRun,
	}
	if f.verbose || isTerminal(s.stderr) || s.json != nil {
		sess.Progress = s.progress
	}
	done := make(chan struct{})
	defer close(done)
	go s.exitAfterInterrupt(ctx, done)
	sum, err := sess.Run(ctx)
	s.hunt.SavePreload()
	if !s.gate.finish() {
		select {} // exitAfterInterrupt is ending the process
	}
	if ctx.Err() != nil {
		// Every failure found so far is on disk (saved before it was
		// minimized or reported): say where, and exit as for a find.
		fmt.Fprintf(s.stderr, "schedfuzz: interrupted after %d runs\n", sum.Runs)
		if len(s.order) == 0 {
			return exitInterrupted
		}
		s.listFailures()
		return exitFound
	}
	if err == nil {
		err = s.err
	}
	if err != nil {
		return fail(s.stderr, err)
	}
	elapsed := time.Since(s.start)
	if f.junit != "" {
		if err := s.writeJUnit(sum, elapsed); err != nil {
			if code := fail(s.stderr, fmt.Errorf("-junit: %w", err)); sum.Failures == 0 {
				return code
			} // a failure found is exit 1 all the same
		}
	}
	if f.check > 0 {
		fmt.Fprintln(s.stderr, s.det.summary())
	}
	s.emit(report.Event{Action: "done", Runs: sum.Runs, Failures: sum.Failures, Distinct: sum.Distinct, Elapsed: elapsed.Seconds()})
	if sum.Failures == 0 {
		ign := ""
		if sum.Ignored > 0 {
			ign = fmt.Sprintf(", %d failing runs ignored", sum.Ignored)
		}
		fmt.Fprintf(s.stderr, "schedfuzz: no failure in %d runs (%v%s)\n", sum.Runs, elapsed.Round(time.Millisecond), ign)
		return exitOK
	}
	if f.keepGoing {
		fmt.Fprintf(s.stderr, "schedfuzz: %d failures in %d runs, %d distinct (%v)\n", sum.Failures, sum.Runs, sum.Distinct, elapsed.Round(time.Millisecond))
		s.listFailures()
	}
	return exitFound
}

// listFailures prints each distinct failure and its seed file.
func (s *session) listFailures() {
	for _, sig := range s.order {
		in := s.seen[sig]
		fmt.Fprintf(s.stderr, "  %d× %s: %s\n", in.runs, sig, hunt.ReplayCommand(in.file))
	}
}

// onRun is the session's Report: it sees every run in order.
func (s *session) onRun(rep *explore.RunReport) bool {
	if rep.Err != nil {
		s.err = hunt.RunError(rep)
		return true
	}
	s.gate.mu.Lock()
	s.gate.runs++
	s.gate.mu.Unlock()
	r := rep.Result
	for _, w := range r.Outcome.Warnings {
		if !s.warned[w] {
			s.warned[w] = true
			fmt.Fprintf(s.stderr, "schedfuzz: %s\n", oneLine(w))
		}
	}
	// Unsupported guest behaviour (a property of the program: said, not
	// a failure of ours) or schedfuzz's own failure ends the session.
	if err := hunt.RunError(rep); err != nil {
		s.err = err
		return true
	}
	if s.f.verbose {
		fmt.Fprintf(s.stderr, "%s: %s\n", rep, rep.Verdict)
	}
	if s.json != nil {
		s.emit(report.Event{Action: "run", Test: "run/" + strconv.Itoa(rep.Index), Seed: fmt.Sprintf("%#016x", rep.Seed),
			Strategy: rep.Strategy.String(), Outcome: r.Describe() + " (" + rep.Verdict.String() + ")", Elapsed: r.Wall.Seconds(),
			Digest: replay.Digest(r.Decisions)})
	}
	if rep.Verdict == explore.Pass {
		if err := s.checkDeterminism(rep); err != nil {
			s.err = err
			return true
		}
	}
	if rep.Verdict != explore.Fail {
		return false
	}
	sig := explore.Signature(r)
	if in := s.seen[sig]; in != nil {
		in.runs++
		return !s.f.keepGoing
	}
	if err := s.failure(rep, sig); err != nil {
		s.err = err
		return true
	}
	return !s.f.keepGoing
}

// failure handles the first run of a new signature through the hunt's
// pipeline (save, minimize, find its critical pair), then reports it. An
// interrupt (s.ctx) cuts minimization short: the failure is reported
// with what was found.
func (s *session) failure(rep *explore.RunReport, sig string) error {
	r := rep.Result
	s.unsaved = nil
	fd, err := s.hunt.Failure(s.ctx, rep)
	if err != nil {
		return err
	}
	fr := fd.Report
	if fd.Minimized {
		n := fr.Minimized
		s.emit(report.Event{Action: "minimized", Test: "run/" + strconv.Itoa(rep.Index), File: fr.MinSeed, Preempts: &n, Signature: sig})
	}
	var text strings.Builder
	fd.Text(&text)
	// The session's lines first: the report ends with the replay command.
	fmt.Fprintf(s.stderr, "schedfuzz: failure in run %d (seed %#016x, strategy %s) after %v\n",
		rep.Index, rep.Seed, rep.Strategy, time.Since(s.start).Round(time.Millisecond))
	fmt.Fprintf(s.stderr, "signature: %s (%s in %s)\n", sig, novelty(fd.Known), s.f.corpus)
	fmt.Fprint(s.stderr, text.String())
	if s.unsaved != nil {
		s.reportUnsaved(rep)
	}
	isNew := !fd.Known
	pair, last := fr.Locations()
	s.emit(report.Event{Action: "fail", Test: "run/" + strconv.Itoa(rep.Index), Seed: fmt.Sprintf("%#016x", rep.Seed),
		Strategy: rep.Strategy.String(), Outcome: r.Describe(), Signature: sig, New: &isNew, File: fd.File, Output: text.String(),
		Pair: pair, Last: last})
	s.seen[sig] = &sigInfo{runs: 1, first: rep.Index, file: fd.File, message: fr.Summary(), details: text.String()}
	s.order = append(s.order, sig)
	if !s.traced && s.ctx.Err() == nil {
		s.traced = true
		s.firstFailureFiles(rep, fr)
	}
	return nil
}

// saved is the hunt's Saved hook: it runs inside the exit gate, so an
// interrupted session lists exactly the seeds on disk.
func (s *session) saved(rep *explore.RunReport, file string, known bool, err error) {
	switch {
	case hunt.TooLarge(err):
		// Only with -max-steps 0 or a very large one: the session
		// seed still reproduces the run.
		fmt.Fprintf(s.stderr, "schedfuzz: run %d is too long for a seed file (%d decisions); -seed %#016x reproduces it (a smaller -max-steps would have ended it as a livelock)\n",
			rep.Index, len(rep.Result.Decisions), s.base)
	case err != nil:
		// A seed that cannot be saved is not lost: the report is
		// printed in full, with the run's seed and how to run it
		// again (reportUnsaved).
		s.unsaved = err
	default:
		s.gate.found = append(s.gate.found, "replay: "+hunt.ReplayCommand(file))
	}
}

// logf is the hunt's Logf hook.
func (s *session) logf(format string, a ...any) {
	fmt.Fprintf(s.stderr, "schedfuzz: %s\n", oneLine(fmt.Sprintf(format, a...)))
}

func novelty(known bool) string {
	if known {
		return "known"
	}
	return "new"
}

// writeTrace replays a failing run with its timeline recorded and writes
// it as a Perfetto trace.
func (s *session) writeTrace(rep *explore.RunReport, r *explore.Result) error {
	cfg := s.hunt.RunConfig(rep, r)
	cfg.Replay, cfg.Timeline = r.Decisions, true
	tr, err := explore.Run(s.ctx, s.tgt, cfg)
	if err != nil {
		return err
	}
	return writePerfetto(s.f.trace, tr, s.prog)
}

func writePerfetto(path string, r *explore.Result, title string) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.Perfetto(fh, r, title); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

func (s *session) writeJUnit(sum explore.Summary, elapsed time.Duration) error {
	var cases []report.JUnitCase
	for _, sig := range s.order {
		in := s.seen[sig]
		cases = append(cases, report.JUnitCase{Name: sig, Runs: in.runs, First: in.first, Seed: in.file, Message: in.message, Details: in.details})
	}
	fh, err := os.Create(s.f.junit)
	if err != nil {
		return err
	}
	if err := report.JUnit(fh, s.prog, sum.Runs, elapsed.Seconds(), cases); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

func (s *session) progress(p explore.Progress) {
	rate := float64(p.Done) / p.Elapsed.Seconds()
	total := "?"
	if p.Total > 0 {
		total = strconv.Itoa(p.Total)
	}
	fmt.Fprintf(s.stderr, "schedfuzz: %v: %d/%s runs, %.1f runs/s, %d failures, %d distinct\n",
		p.Elapsed.Round(time.Second), p.Done, total, rate, p.Failures, p.Distinct)
	s.emit(report.Event{Action: "progress", Runs: p.Done, Total: p.Total, Failures: p.Failures, Distinct: p.Distinct, Elapsed: p.Elapsed.Seconds()})
}

func (s *session) emit(e report.Event) {
	if s.json != nil {
		s.json.Emit(e)
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func parseUint(s string) (uint64, error) {
	return strconv.ParseUint(s, 0, 64)
}
