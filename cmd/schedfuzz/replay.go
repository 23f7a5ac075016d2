package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/hunt"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/report"
)

func replayMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schedfuzz replay", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 10*time.Second, "limit on the replay's own time (as schedfuzz -timeout); a run past it is a hang")
	trace := fs.String("trace", "", "write a Perfetto/Chrome trace of the replayed run to this file (FILE only)")
	html := fs.String("html", "", "write the replayed failure's report as a self-contained HTML page to this file (FILE only)")
	var override hunt.Points
	registerPoints(fs, &override, "")
	const usage = "usage: schedfuzz replay [-timeout D] [-trace FILE] [-html FILE] [-points P -yield-at L -watch L] FILE|DIR"
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
	for _, o := range []struct{ flag, path string }{{"-trace", *trace}, {"-html", *html}} {
		if o.path != "" {
			if err := probeFile(o.path); err != nil {
				return fail(stderr, usageErr("%s %s: %v", o.flag, o.path, err))
			}
		}
	}
	var want *hunt.Points
	if override.Set != "" || override.YieldAt != "" || override.Watch != "" {
		if override.Set == "" {
			override.Set = "syscalls"
		}
		if err := parsePoints(&override); err != nil {
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
		if *html != "" {
			return fail(stderr, usageErr("-html takes a seed file, not a directory"))
		}
		return replayDir(ctx, arg, *timeout, want, stdout, stderr)
	}
	sf, err := hunt.LoadSeed(arg)
	if err != nil {
		return fail(stderr, err)
	}
	if sf.Hermetic == "yes" && needUserNS() {
		if code, ok := reexec(); ok {
			return code
		}
	}
	// One seed's replay prints a report: with the threads' stacks.
	res, err := hunt.Replay(ctx, sf, hunt.ReplayOptions{Timeout: *timeout, Points: want, Timeline: *trace != "" || *html != "", Stacks: true})
	if res != nil {
		for _, n := range res.Notes {
			fmt.Fprintf(stderr, "schedfuzz: note: %s\n", oneLine(n))
		}
	}
	if ctx.Err() != nil {
		return interrupted(stderr)
	}
	if err != nil {
		return fail(stderr, err)
	}
	var fr *report.Failure
	if res.Run != nil {
		fr = &report.Failure{Target: sf.Target, Run: -1, Result: res.Run, Stacks: res.Run.Outcome.Stacks}
	}
	if *trace != "" && fr != nil {
		if err := writeFile(*trace, func(w io.Writer) error { return fr.Perfetto(w, sf.Target) }); err != nil {
			return fail(stderr, fmt.Errorf("-trace: %w", err))
		}
	}
	switch res.Verdict {
	case hunt.Diverged:
		if res.Run != nil {
			stdout.Write(res.Run.Stdout)
			stderr.Write(res.Run.Stderr)
		}
		fmt.Fprintf(stderr, "schedfuzz: %s\n", oneLine(res.Why))
		return exitTool
	case hunt.Reproduced:
		stdout.Write(res.Run.Stdout)
		stderr.Write(res.Run.Stderr)
		fr.Text(stderr)
		if *html != "" {
			if err := writeReplayHTML(*html, fr, arg); err != nil {
				fmt.Fprintf(stderr, "schedfuzz: %s\n", oneLine("-html: "+err.Error()))
			}
		}
		noteDropped(stderr, res.Run)
		fmt.Fprintf(stderr, "schedfuzz: reproduced: %s (recorded: %s)\n", res.Run.Describe(), sf.Outcome)
		return exitFound
	default:
		stdout.Write(res.Run.Stdout)
		stderr.Write(res.Run.Stderr)
		noteDropped(stderr, res.Run)
		if *html != "" {
			fmt.Fprintf(stderr, "schedfuzz: -html: the run passed: no failure to report, %s not written\n", *html)
		}
		fmt.Fprintf(stderr, "schedfuzz: the run now passes (recorded: %s)\n", sf.Outcome)
		return exitOK
	}
}

// replayDir replays every seed of a corpus as a regression suite: one line
// per seed on stdout, then a summary. It exits 1 if any seed still fails
// (the bug is there: a definite answer), else 125 if any diverged (cannot
// tell), else 0. A corrupt seed file stops it before any run (exit 2).
func replayDir(ctx context.Context, dir string, timeout time.Duration, want *hunt.Points, stdout, stderr io.Writer) int {
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
		if _, err := hunt.LoadSeed(p); err != nil {
			return fail(stderr, err)
		}
	}
	for _, p := range paths {
		if sf, err := hunt.LoadSeed(p); err == nil && sf.Hermetic == "yes" && needUserNS() {
			if code, ok := reexec(); ok {
				return code
			}
			break
		}
	}
	var counts [3]int
	for _, p := range paths {
		sf, err := hunt.LoadSeed(p)
		if err != nil {
			return fail(stderr, err) // changed since the check
		}
		res, err := hunt.Replay(ctx, sf, hunt.ReplayOptions{Timeout: timeout, Points: want})
		if ctx.Err() != nil {
			return interrupted(stderr)
		}
		if err != nil {
			var ie *hunt.InputError
			if !errors.As(err, &ie) {
				return fail(stderr, fmt.Errorf("%s: %w", p, err))
			}
			// The target is gone or unusable: the seed no longer
			// applies to anything.
			res = &hunt.Replayed{Verdict: hunt.Diverged, Why: ie.Msg, Notes: res.Notes}
		}
		counts[res.Verdict]++
		for _, n := range res.Notes {
			fmt.Fprintf(stderr, "schedfuzz: %s\n", oneLine(p+": note: "+n))
		}
		switch res.Verdict {
		case hunt.Reproduced:
			fmt.Fprintf(stdout, "%s: still failing: %s\n", p, res.Run.Describe())
		case hunt.Fixed:
			fmt.Fprintf(stdout, "%s: fixed: now passes (recorded: %s)\n", p, sf.Outcome)
		case hunt.Diverged:
			fmt.Fprintf(stdout, "%s: diverged: %s\n", p, oneLine(strings.TrimPrefix(res.Why, "replay diverged ")))
		}
	}
	plural := "s"
	if len(paths) == 1 {
		plural = ""
	}
	fmt.Fprintf(stdout, "schedfuzz: %d seed%s: %d still failing, %d fixed, %d diverged\n",
		len(paths), plural, counts[hunt.Reproduced], counts[hunt.Fixed], counts[hunt.Diverged])
	switch {
	case counts[hunt.Reproduced] > 0:
		return exitFound
	case counts[hunt.Diverged] > 0:
		return exitTool
	}
	return exitOK
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
