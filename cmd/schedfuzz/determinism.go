package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/report"
	"github.com/schedfuzz/schedfuzz/sched"
)

// checkFlag is -check-determinism: alone, every passing run is checked;
// =N, every Nth.
type checkFlag int

func (c *checkFlag) String() string { return strconv.Itoa(int(*c)) }

func (c *checkFlag) Set(s string) error {
	if s == "true" {
		*c = 1
		return nil
	}
	if s == "false" {
		*c = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want N >= 0 (check every Nth passing run), got %q", s)
	}
	*c = checkFlag(n)
	return nil
}

func (c *checkFlag) IsBoolFlag() bool { return true }

// determinism counts -check-determinism's results.
type determinism struct {
	passed  int // passing runs seen
	checked int
	bad     int
}

// checkDeterminism replays a passing run's decisions in the same world
// (seed, strategy, sandbox) and reports it if the replay does not follow
// them to the same end: where the program first behaved differently,
// the first decision that differed, and the calls just before it.
func (s *session) checkDeterminism(rep *explore.RunReport) error {
	d := &s.det
	d.passed++
	if s.f.check == 0 || (d.passed-1)%int(s.f.check) != 0 {
		return nil
	}
	d.checked++
	r := rep.Result
	cfg := s.hunt.RunConfig(rep, r)
	cfg.Hint, cfg.Replay = rep.Hint, append([]sched.Decision{}, r.Decisions...)
	again, err := explore.Run(s.ctx, s.tgt, cfg)
	if s.ctx.Err() != nil {
		return nil // interrupted: not a finding
	}
	if err != nil {
		return fmt.Errorf("-check-determinism: run %d: %w", rep.Index, err)
	}
	if again.Outcome.Kind != sched.Diverged && again.Describe() == r.Describe() {
		return nil
	}
	d.bad++
	msg := nondeterminismReport(rep, again)
	fmt.Fprint(s.stderr, msg)
	s.emit(report.Event{Action: "nondeterministic", Test: "run/" + strconv.Itoa(rep.Index), Seed: fmt.Sprintf("%#016x", rep.Seed),
		Strategy: rep.Strategy.String(), Digest: replay.Digest(r.Decisions), Output: msg})
	return nil
}

// nondeterminismReport says how a run's replay left it.
func nondeterminismReport(rep *explore.RunReport, again *explore.Result) string {
	r := rep.Result
	var b strings.Builder
	fmt.Fprintf(&b, "schedfuzz: run %d (seed %#016x, strategy %s) is not deterministic: replayed with its own decisions in the same world,\n", rep.Index, rep.Seed, rep.Strategy)
	if d := replay.FirstDifference(r.Behavior, again.Behavior); d != nil {
		fmt.Fprintf(&b, "  %s\n", d.Describe(again.Calls))
	}
	thread := -1
	if dv := again.Divergence; dv != nil {
		fmt.Fprintf(&b, "  %s\n", dv.Error())
		if dv.Actual != nil {
			thread = threadOf(dv.Actual.At)
		} else if dv.Expected != nil {
			thread = threadOf(dv.Expected.At)
		}
	} else {
		fmt.Fprintf(&b, "  the replay followed every decision but ended differently: %s (first run: %s)\n", again.Describe(), r.Describe())
	}
	if thread >= 0 {
		if calls := again.LastCalls(thread, 6); len(calls) > 0 {
			fmt.Fprintf(&b, "  thread %d's last calls in the replay: %s\n", thread, strings.Join(calls, ", "))
		}
	}
	if files := again.Opened(); len(files) > 0 {
		fmt.Fprintf(&b, "  the files it read from its world (one may have changed): %s\n", strings.Join(files, ", "))
	}
	for _, n := range append(r.Outcome.Nondeterministic, again.Outcome.Nondeterministic...) {
		fmt.Fprintf(&b, "  not controlled: %s\n", n)
	}
	for _, c := range r.Outside {
		fmt.Fprintf(&b, "  the run %s outside its sandbox: later runs see it\n", c)
	}
	return b.String()
}

// threadOf is the thread of a decision's point ("t3:futex" -> 3).
func threadOf(at string) int {
	rest, ok := strings.CutPrefix(at, "t")
	if !ok {
		return -1
	}
	n, _, _ := strings.Cut(rest, ":")
	v, err := strconv.Atoi(n)
	if err != nil {
		return -1
	}
	return v
}

// summary is the line that ends a session with -check-determinism.
func (d *determinism) summary() string {
	if d.bad == 0 {
		return fmt.Sprintf("schedfuzz: -check-determinism: all %d checked runs replayed exactly", d.checked)
	}
	return fmt.Sprintf("schedfuzz: -check-determinism: %d of %d checked runs were not deterministic", d.bad, d.checked)
}
