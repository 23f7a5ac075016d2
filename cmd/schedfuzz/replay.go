package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/report"
	"github.com/schedfuzz/schedfuzz/sched"
)

// verdict classifies one replayed seed.
type verdict int

const (
	stillFailing verdict = iota // the recorded failure reproduces
	fixed                       // the run follows the trace and now passes
	diverged                    // the program no longer follows the trace
)

// replayed is the result of replaying one seed.
type replayed struct {
	verdict verdict
	why     string          // for diverged: what differed
	run     *explore.Result // nil if the run was never started
	notes   []string        // what may make the replay inexact
}

func replayMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schedfuzz replay", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 10*time.Second, "limit on the replay's own time (as schedfuzz -timeout); a run past it is a hang")
	trace := fs.String("trace", "", "write a Perfetto/Chrome trace of the replayed run to this file (FILE only)")
	var override pointFlags
	override.register(fs, "")
	const usage = "usage: schedfuzz replay [-timeout D] [-trace FILE] [-points P -yield-at L -watch L] FILE|DIR"
	if code, ok := parseFlags(fs, args, stderr, func(w io.Writer) {
		fmt.Fprintln(w, usage)
		printDefaults(fs, w)
	}); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, usage)
		return exitUsage
	}
	if *timeout < minTimeout {
		return fail(stderr, usageErr("-timeout %v: want at least %v", *timeout, minTimeout))
	}
	if *trace != "" {
		if err := probeFile(*trace); err != nil {
			return fail(stderr, usageErr("-trace %s: %v", *trace, err))
		}
	}
	var want *pointFlags
	if override.setName != "" || override.yieldAt != "" || override.watch != "" {
		if override.setName == "" {
			override.setName = "syscalls"
		}
		if err := override.parse(); err != nil {
			return fail(stderr, err)
		}
		want = &override
	}
	arg := fs.Arg(0)
	st, err := os.Stat(arg)
	if err != nil {
		return fail(stderr, &cliError{exitUsage, arg + ": " + unwrapPathErr(err).Error()})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer stop()
	done := make(chan struct{})
	defer close(done)
	go exitOnInterrupt(ctx, done, stderr)
	if st.IsDir() {
		if *trace != "" {
			return fail(stderr, usageErr("-trace takes a seed file, not a directory"))
		}
		return replayDir(ctx, arg, *timeout, want, stdout, stderr)
	}
	sf, err := loadSeed(arg)
	if err != nil {
		return fail(stderr, err)
	}
	if sf.Hermetic == "yes" && needUserNS() {
		if code, ok := reexec(); ok {
			return code
		}
	}
	res, err := replaySeed(ctx, sf, *timeout, want, *trace != "")
	if res != nil {
		for _, n := range res.notes {
			fmt.Fprintf(stderr, "schedfuzz: note: %s\n", oneLine(n))
		}
	}
	if ctx.Err() != nil {
		return interrupted(stderr)
	}
	if err != nil {
		return fail(stderr, err)
	}
	if *trace != "" && res.run != nil {
		if err := writePerfetto(*trace, res.run, sf.Target); err != nil {
			return fail(stderr, fmt.Errorf("-trace: %w", err))
		}
	}
	switch res.verdict {
	case diverged:
		if res.run != nil {
			stdout.Write(res.run.Stdout)
			stderr.Write(res.run.Stderr)
		}
		fmt.Fprintf(stderr, "schedfuzz: %s\n", oneLine(res.why))
		return exitTool
	case stillFailing:
		stdout.Write(res.run.Stdout)
		stderr.Write(res.run.Stderr)
		(&report.Failure{Target: sf.Target, Run: -1, Result: res.run}).Text(stderr)
		noteDropped(stderr, res.run)
		fmt.Fprintf(stderr, "schedfuzz: reproduced: %s (recorded: %s)\n", res.run.Describe(), sf.Outcome)
		return exitFound
	default:
		stdout.Write(res.run.Stdout)
		stderr.Write(res.run.Stderr)
		noteDropped(stderr, res.run)
		fmt.Fprintf(stderr, "schedfuzz: the run now passes (recorded: %s)\n", sf.Outcome)
		return exitOK
	}
}

// replayDir replays every seed of a corpus as a regression suite: one line
// per seed on stdout, then a summary. It exits 1 if any seed still fails
// (the bug is there: a definite answer), else 125 if any diverged (cannot
// tell), else 0. A corrupt seed file stops it before any run (exit 2).
func replayDir(ctx context.Context, dir string, timeout time.Duration, want *pointFlags, stdout, stderr io.Writer) int {
	paths, err := replay.Store{Dir: dir}.Paths()
	if err != nil {
		return fail(stderr, &cliError{exitUsage, err.Error()})
	}
	if len(paths) == 0 {
		return fail(stderr, &cliError{exitUsage, dir + ": no *.seed files"})
	}
	// Every seed is checked before the first run, then read again for
	// its run: one parsed seed in memory at a time.
	for _, p := range paths {
		if _, err := loadSeed(p); err != nil {
			return fail(stderr, err)
		}
	}
	for _, p := range paths {
		if sf, err := loadSeed(p); err == nil && sf.Hermetic == "yes" && needUserNS() {
			if code, ok := reexec(); ok {
				return code
			}
			break
		}
	}
	var counts [3]int
	for _, p := range paths {
		sf, err := loadSeed(p)
		if err != nil {
			return fail(stderr, err) // changed since the check
		}
		res, err := replaySeed(ctx, sf, timeout, want, false)
		if ctx.Err() != nil {
			return interrupted(stderr)
		}
		if err != nil {
			var ce *cliError
			if !errors.As(err, &ce) {
				return fail(stderr, fmt.Errorf("%s: %w", p, err))
			}
			// The target is gone or unusable: the seed no longer
			// applies to anything.
			notes := res.notes
			res = &replayed{verdict: diverged, why: ce.msg, notes: notes}
		}
		counts[res.verdict]++
		for _, n := range res.notes {
			fmt.Fprintf(stderr, "schedfuzz: %s\n", oneLine(p+": note: "+n))
		}
		switch res.verdict {
		case stillFailing:
			fmt.Fprintf(stdout, "%s: still failing: %s\n", p, res.run.Describe())
		case fixed:
			fmt.Fprintf(stdout, "%s: fixed: now passes (recorded: %s)\n", p, sf.Outcome)
		case diverged:
			fmt.Fprintf(stdout, "%s: diverged: %s\n", p, oneLine(strings.TrimPrefix(res.why, "replay diverged ")))
		}
	}
	plural := "s"
	if len(paths) == 1 {
		plural = ""
	}
	fmt.Fprintf(stdout, "schedfuzz: %d seed%s: %d still failing, %d fixed, %d diverged\n",
		len(paths), plural, counts[stillFailing], counts[fixed], counts[diverged])
	switch {
	case counts[stillFailing] > 0:
		return exitFound
	case counts[diverged] > 0:
		return exitTool
	}
	return exitOK
}

// replaySeed replays one seed file. A *cliError is a target that cannot
// be run (not found, not executable); any other error is schedfuzz's own
// failure.
func replaySeed(ctx context.Context, sf *replay.SeedFile, timeout time.Duration, want *pointFlags, timeline bool) (res *replayed, err error) {
	res = &replayed{}
	target := sf.Target
	dir := sf.Dir
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			res.notes = append(res.notes, fmt.Sprintf("the recorded working directory %s does not exist: replaying in the current one", dir))
			dir = ""
		} else if strings.Contains(target, "/") && !filepath.IsAbs(target) {
			// A relative path as typed is relative to where it was typed.
			target = filepath.Join(dir, target)
		}
	}
	path, err := resolveTarget(target)
	if err != nil {
		return res, err
	}
	sum, err := replay.FileSHA256(path)
	if err != nil {
		return res, err
	}
	if sum != sf.SHA256 {
		res.verdict = diverged
		res.why = fmt.Sprintf("%s changed since the seed was recorded (the schedule may no longer apply)", filepath.Base(sf.Target)) +
			movedSites(path, sf.Points)
		return res, nil
	}
	pts, err := recordedPoints(sf.Points)
	if err != nil {
		res.verdict = diverged
		res.why = err.Error()
		return res, nil
	}
	if want != nil && !want.same(pts) {
		res.verdict = diverged
		res.why = fmt.Sprintf("replay diverged before the first decision: the seed was recorded with %s, the replay asks for %s: the decision trace only applies to its own points", pts, want)
		return res, nil
	}
	if sf.Digest != "" && sf.Digest != replay.Digest(sf.Decisions) {
		res.notes = append(res.notes, "the decisions differ from the recorded digest (edited after recording?)")
	}
	env, notes := replay.ReplayEnv(sf.Env, os.LookupEnv)
	res.notes = append(res.notes, notes...)
	if env == nil {
		env = os.Environ()
	}
	decisions := sf.Decisions
	if decisions == nil {
		decisions = []sched.Decision{}
	}
	spec, err := recordedStrategy(sf.Strategy)
	if err != nil {
		return res, err // loadSeed has checked it
	}
	cfg := explore.Config{Seed: sf.Seed, Timeout: timeout, CPU: 0, CPUs: sf.CPUs, Replay: decisions,
		Strategy: spec, Faults: sf.Faults, MaxSteps: sf.MaxSteps, Epoch: sf.Epoch, Timeline: timeline, Spins: sf.Spins, Behavior: true}
	pts.apply(&cfg)
	if why := recordedStdin(sf, &cfg, res); why != "" {
		res.verdict = diverged
		res.why = why
		return res, nil
	}
	if sf.Hermetic == "yes" {
		pool, err := replaySandbox(sf, path, dir, res)
		if err != nil {
			return nil, err
		}
		if pool != nil {
			defer pool.Close()
			cfg.Sandbox = pool
		}
	}
	r, err := explore.Run(ctx, &explore.Target{Path: path, Args: append([]string{sf.Target}, sf.Args...), Env: env, Dir: dir}, cfg)
	if err != nil {
		return res, err
	}
	res.run = r
	switch r.Outcome.Kind {
	case sched.Diverged:
		res.verdict = diverged
		res.why = explainDivergence(sf, r, r.Outcome.Report)
		// Points that moved (another libc, a rebuilt library) explain
		// a divergence the program's own SHA-256 cannot.
		if err := replay.CheckPoints(sf.Points, pts.record(r.Points, &r.Outcome)); err != nil {
			res.why += "; " + strings.TrimPrefix(err.Error(), "replay diverged before the first decision: ")
		}
	case sched.Unsupported:
		return res, &cliError{exitUsage, r.Outcome.Report}
	case sched.Internal:
		return res, fmt.Errorf("replay: %s", r.Outcome.Report)
	default:
		res.verdict, res.why = judge(sf, r)
	}
	return res, nil
}

// recordedStrategy parses a seed file's strategy ("pct:3", or
// "random+minimized" for a minimized schedule; "" in old seed files). It
// matters to replay only through the questions the strategy makes the
// scheduler ask (chaos lets time pass at picks).
func recordedStrategy(s string) (explore.Spec, error) {
	s, _, _ = strings.Cut(s, "+")
	if s == "" {
		return explore.Spec{Name: "random"}, nil
	}
	spec, err := explore.ParseSpec(s)
	if err != nil {
		return spec, fmt.Errorf("recorded strategy: %v", err)
	}
	return spec, nil
}

// unwrapPathErr drops the *fs.PathError wrapper when the caller names the
// path itself.
func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
