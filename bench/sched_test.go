package bench

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/corpus"
	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched"
)

var (
	schedOnce  sync.Once
	schedTools *SchedTools
	schedErr   error
)

func testSchedTools(t *testing.T) *SchedTools {
	t.Helper()
	testTools(t) // ptrace and a C compiler, or a clear failure/skip
	schedOnce.Do(func() { schedTools, schedErr = BuildSchedTools(toolsDir) })
	if schedErr != nil {
		t.Fatal(schedErr)
	}
	return schedTools
}

// TestRunSeed pins the session-seed derivation to SplitMix64 (whose first
// output for state 0 is 0xe220a8397b1dcdaf), as cmd/schedfuzz uses it.
func TestRunSeed(t *testing.T) {
	for _, c := range []struct {
		base uint64
		i    int
		want uint64
	}{
		{0, 0, 0xe220a8397b1dcdaf},
		{1, 0, 0x910a2dec89025cc1},
		{1, 999, 0xe71894b1b5034fb7},
		{0xdeadbeef, 7, 0xb30a4ccf430b1b5a},
	} {
		if got := RunSeed(c.base, c.i); got != c.want {
			t.Errorf("RunSeed(%#x, %d) = %#x, want %#x", c.base, c.i, got, c.want)
		}
	}
}

// TestAlternate: with two options the decider switches at every pick;
// with more it never repeats the last pick; wakes take the first waiter.
func TestAlternate(t *testing.T) {
	a := &Alternate{}
	var got []int
	for range 5 {
		c, _ := a.Choose(&sched.Request{Kind: sched.KindPick, Options: []int{0, 1}, At: "t0:getppid"})
		got = append(got, c)
	}
	if want := []int{0, 1, 0, 1, 0}; !equal(got, want) {
		t.Errorf("picks %v, want %v", got, want)
	}
	last := got[len(got)-1]
	for range 5 {
		c, _ := a.Choose(&sched.Request{Kind: sched.KindPick, Options: []int{0, 1, 2}, At: "x"})
		if c == last {
			t.Fatalf("picked %d twice in a row", c)
		}
		last = c
	}
	if c, _ := a.Choose(&sched.Request{Kind: sched.KindWake, Options: []int{3, 4}, At: "futex"}); c != 3 {
		t.Errorf("wake chose %d, want the first waiter 3", c)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRunKinds runs the tiny programs every way the fixed-cost table does
// and checks what can be checked exactly: every run exits 0; subscribing
// everything costs more stops than subscribing nothing; the scheduler's
// options add stops (trapped rdtsc) but no scheduling points; the
// scheduler and explore.Run see the same points.
func TestRunKinds(t *testing.T) {
	st := testSchedTools(t)
	cpu, _ := CPUs()
	for _, path := range []string{st.TinyDynamic, st.TinyStatic} {
		got := map[RunKind]RunStats{}
		for _, k := range []RunKind{RunNative, RunCTracer, RunInterceptNothing, RunInterceptGetppid,
			RunInterceptAll, RunInterceptAllSchedOpts, RunSched, RunSchedAlternate, RunExplore} {
			rs, err := st.RunOnce(context.Background(), k, []string{path}, cpu, 1)
			if err != nil {
				t.Fatal(err)
			}
			if rs.Wall <= 0 || rs.CPU < 0 {
				t.Errorf("%v %s: wall %v, CPU %v", k, path, rs.Wall, rs.CPU)
			}
			got[k] = rs
		}
		if n, a := got[RunInterceptNothing].Stops, got[RunInterceptAll].Stops; n < 1 || a <= n+5 {
			t.Errorf("%s: %d stops subscribing nothing, %d subscribing all", path, n, a)
		}
		if g := got[RunInterceptGetppid].Stops; g != got[RunInterceptNothing].Stops {
			t.Errorf("%s: %d stops subscribing getppid (never called), %d subscribing nothing", path, g, got[RunInterceptNothing].Stops)
		}
		if a, o := got[RunInterceptAll].Stops, got[RunInterceptAllSchedOpts].Stops; o < a {
			t.Errorf("%s: %d stops with the scheduler's options, %d without", path, o, a)
		}
		if s, o := got[RunSched].Stops, got[RunInterceptAllSchedOpts].Stops; s != o {
			t.Errorf("%s: the scheduler made %d stops, a continue-all tool with its options %d", path, s, o)
		}
		if s, e := got[RunSched].Points, got[RunExplore].Points; s <= 0 || s != e {
			t.Errorf("%s: %d points under sched, %d under explore.Run", path, s, e)
		}
		if c := got[RunCTracer].Stops; c != 0 {
			t.Errorf("%s: ctracer saw %d getppid stops, want 0", path, c)
		}
	}
}

// TestKindCost: the point-kinds table counts exactly the points each
// iteration makes: one getppid, two sync calls, two memory accesses (the
// hit cap lifted), with or without watch registers.
func TestKindCost(t *testing.T) {
	testenv.RequirePtrace(t)
	guest, err := BuildKindsGuest(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cpu, _ := CPUs()
	const lo, hi = 10, 310
	res, err := KindCost(context.Background(), guest, KindCases(), lo, hi, 1, cpu)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		want := 2 * (hi - lo)
		if r.Case.Mode == "syscall" {
			want = hi - lo
		}
		if r.Points != want || len(r.UsPerPoint) != 1 || math.IsNaN(r.UsPerPoint[0]) {
			t.Errorf("%s: %d points between N=%d and N=%d (want %d), µs per point %v", r.Case.Name, r.Points, lo, hi, want, r.UsPerPoint)
		}
	}
}

// TestPointCost: the difference between the long and the short runs is
// exactly the extra calls, for every configuration of the table: one stop
// per getppid for the tracers (also with the guest's rdtsc trapped), one
// scheduling point per getppid for the scheduler.
func TestPointCost(t *testing.T) {
	st := testSchedTools(t)
	cpu, _ := CPUs()
	const lo, hi = 10, 60
	res, err := st.PointCost(context.Background(), PointCases(), lo, hi, 1, cpu, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res {
		want := int64((hi - lo) * p.Case.Threads)
		slack := int64(0)
		if p.Case.Kind == RunSched && p.Case.Threads == 2 {
			// Random schedules of the two runs differ: whether the
			// join waits (a futex point) depends on them.
			slack = 3
		}
		if p.Points < want-slack || p.Points > want+slack {
			t.Errorf("%s: %d points between N=%d and N=%d, want %d", p.Case.Name, p.Points, lo, hi, want)
		}
		if len(p.UsPerPoint) != 1 || math.IsNaN(p.UsPerPoint[0]) {
			t.Errorf("%s: µs per point %v", p.Case.Name, p.UsPerPoint)
		}
	}
}

// exitResult is a finished run that exited with code.
func exitResult(code int) *explore.Result {
	return &explore.Result{Status: unix.WaitStatus(code << 8), Outcome: sched.Outcome{Kind: sched.Finished}}
}

// TestFindFirstLogic runs FindFirst with a fake strategy that fails at
// known runs: the counts, the censoring of sessions that never fail, the
// median and the cell format.
func TestFindFirstLogic(t *testing.T) {
	p := corpus.Program{Name: "fake", Failure: "exit 1", Stdout: "ok\n"}
	// Session base b first fails at run b*2 (1-based); base 4 never.
	failAt := map[uint64]int{1: 2, 2: 4, 3: 6}
	runs := map[uint64]int{}
	seedBase := map[uint64]uint64{}
	for b := uint64(1); b <= 4; b++ {
		for i := range 10 {
			seedBase[RunSeed(b, i)] = b
		}
	}
	strat := Strategy{Name: "fake", Run: func(_ context.Context, _ corpus.Program, _ *explore.Target, _ int, seed uint64, _ explore.Hint) (*explore.Result, error) {
		b := seedBase[seed]
		runs[b]++
		if runs[b] == failAt[b] {
			if b == 3 {
				return exitResult(2), nil // a failure other than the documented one
			}
			return exitResult(1), nil
		}
		r := exitResult(0)
		r.Stdout = []byte("ok\n")
		if runs[b] == 1 && b == 2 {
			r.Stdout = []byte("wrong\n")
		}
		return r, nil
	}}
	ff, err := FindFirst(context.Background(), p, "/fake", strat, []uint64{1, 2, 3, 4}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(ff.Runs, []int{2, 4, 6, 0}) || ff.Total != 2+4+6+10 || ff.Found() != 3 {
		t.Errorf("runs %v, total %d, found %d", ff.Runs, ff.Total, ff.Found())
	}
	if ff.Other["exit 2"] != 1 || ff.BadOutput != 1 {
		t.Errorf("other failures %v, bad outputs %d", ff.Other, ff.BadOutput)
	}
	if m := ff.Median(); m != 5 {
		t.Errorf("median %v, want 5 (of 2, 4, 6, >10)", m)
	}
	if c := ff.Cell(); c != "5 (2–>10) 3/4" {
		t.Errorf("cell %q", c)
	}
	ff.Runs = []int{3, 0, 0, 0}
	if c := ff.Cell(); c != ">10 (3–>10) 1/4" {
		t.Errorf("mostly not found: cell %q", c)
	}

	// A run the scheduler could not handle ends the measurement.
	bad := Strategy{Name: "bad", Run: func(context.Context, corpus.Program, *explore.Target, int, uint64, explore.Hint) (*explore.Result, error) {
		return &explore.Result{Outcome: sched.Outcome{Kind: sched.Unsupported, Report: "futex_waitv"}}, nil
	}}
	if _, err := FindFirst(context.Background(), p, "/fake", bad, []uint64{1}, 10); err == nil || !strings.Contains(err.Error(), "futex_waitv") {
		t.Errorf("unsupported run: err %v", err)
	}
}

// TestCorpusTable: one column per strategy, one row per program.
func TestCorpusTable(t *testing.T) {
	rows := []CorpusRow{{
		Program:    corpus.Program{Name: "a", Failure: "exit 1"},
		Native:     &NativeStats{Runs: 1000, Fails: 3},
		Strategies: []*FirstFailure{{Strategy: "random", Runs: []int{1, 2, 3}, Max: 1000}, {Strategy: "pct", Runs: []int{5, 0, 0}, Max: 1000}},
	}, {
		Program:    corpus.Program{Name: "b", Failure: "deadlock"},
		Strategies: []*FirstFailure{{Strategy: "random", Runs: []int{7}, Max: 1000}, {Strategy: "pct", Runs: []int{1}, Max: 1000}},
	}}
	got := CorpusTable(rows)
	want := "| program | failure | native failures | random: runs to 1st failure, median (min–max) found/sessions | pct: runs to 1st failure, median (min–max) found/sessions |\n" +
		"| --- | --- | --- | --- | --- |\n" +
		"| a | exit 1 | 3/1000 | 2 (1–3) 3/3 | >1000 (5–>1000) 1/3 |\n" +
		"| b | deadlock | - | 7 (7–7) 1/1 | 1 (1–1) 1/1 |\n"
	if got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

// TestCorpusRow measures one real corpus program the way `schedbench
// corpus` does, with small counts: the random strategy finds the bug the
// documented way, and native runs are checked against the documented
// output (a wrong expected output makes every run count as failing).
func TestCorpusRow(t *testing.T) {
	testenv.RequirePtrace(t)
	if testing.Short() {
		t.Skip("runs a corpus program tens of times under ptrace")
	}
	p, _ := corpus.Lookup("atomicity_violation")
	path, err := corpus.Build(p, "")
	if err != nil {
		t.Fatal(err)
	}
	cpu, _ := CPUs()
	ff, err := FindFirst(context.Background(), p, path, Strategies(cpu, 20*time.Second)[0], []uint64{1, 2}, 200)
	if err != nil {
		t.Fatal(err)
	}
	if ff.Found() != 2 || len(ff.Other) != 0 || ff.BadOutput != 0 {
		t.Errorf("random strategy: first failures %v, other failures %v, %d bad outputs", ff.Runs, ff.Other, ff.BadOutput)
	}
	wrong := p
	wrong.Stdout = "not what it prints\n"
	ns, err := NativeRuns(context.Background(), wrong, path, 6, 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ns.Runs != 6 || ns.Fails != 6 || ns.How["exit 0, wrong output"]+ns.How["exit 1"] != 6 {
		t.Errorf("native runs with a wrong expected output: %+v", ns)
	}
}

// TestListStops: the listing of a scheduled run of the static tiny program
// accounts for its stops: one event per stop but the death, which the
// listing reports as the reap (and the first stop, before the run's loop,
// which it reports as the thread's start).
func TestListStops(t *testing.T) {
	st := testSchedTools(t)
	cpu, _ := CPUs()
	sl, err := ListStops(context.Background(), []string{st.TinyStatic}, cpu, 1)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(sl.Events)) != sl.Stops+1 {
		t.Errorf("%d events for %d stops:\n%s", len(sl.Events), sl.Stops, strings.Join(sl.Events, "\n"))
	}
	if sl.Events[0] == "" || !strings.HasPrefix(sl.Events[0], "thread start") ||
		!strings.Contains(strings.Join(sl.Events, "\n"), "syscall exit_group") {
		t.Errorf("events:\n%s", strings.Join(sl.Events, "\n"))
	}
}

// TestCR4Tool: the CR4 probe runs (its rdtsc is disabled half the time
// and it must not fault) and reports a write cost.
func TestCR4Tool(t *testing.T) {
	st := testSchedTools(t)
	out, err := exec.Command(st.CR4, "200").CombinedOutput()
	if err != nil {
		t.Fatalf("cr4: %v\n%s", err, out)
	}
	var a, b, c float64
	if n, _ := fmt.Sscanf(string(out), "cr4 toggle_pair_ns=%f get_pair_ns=%f cr4_write_ns=%f", &a, &b, &c); n != 3 || a <= 0 || b <= 0 {
		t.Errorf("cr4 printed %q", out)
	}
}
