package explore

import (
	"reflect"
	"testing"

	"github.com/schedfuzz/schedfuzz/sched"
)

// drive feeds a strategy n pick requests over the given options and
// returns its choices.
func drive(st sched.Strategy, n int, opts []int, pending func(int) sched.Event) []int {
	var out []int
	for i := 0; i < n; i++ {
		out = append(out, st.Choose(&sched.Request{Kind: sched.KindPick, Options: opts, At: "t0:write",
			Step: i, Now: int64(i) * 1000, Pending: pending}))
	}
	return out
}

func TestParseSpec(t *testing.T) {
	for in, want := range map[string]string{"random": "random", "pct": "pct:3", "pct:5": "pct:5", "pos": "pos", "chaos": "chaos"} {
		sp, err := ParseSpec(in)
		if err != nil || sp.String() != want {
			t.Errorf("ParseSpec(%q) = %v, %v; want %s", in, sp, err, want)
		}
	}
	for _, bad := range []string{"", "pct:0", "pct:x", "pct:99", "pos:2", "dfs", "random:1"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) succeeded", bad)
		}
	}
	p, err := ParsePortfolio("")
	if err != nil || len(p) != 4 {
		t.Fatalf("default portfolio: %v %v", p, err)
	}
	p, err = ParsePortfolio("pct:2,pos")
	if err != nil || len(p) != 2 || p[0].String() != "pct:2" || p[1].Name != "pos" {
		t.Fatalf("ParsePortfolio: %v %v", p, err)
	}
	if _, err := ParsePortfolio("pct,bogus"); err == nil {
		t.Fatal("bad portfolio accepted")
	}
}

// Every strategy is a function of its seed, returns only offered options,
// and differs across seeds.
func TestStrategiesDeterministic(t *testing.T) {
	opts := []int{0, 1, 2, 3}
	for _, sp := range DefaultPortfolio() {
		a := drive(sp.New(11, Hint{Steps: 50}), 200, opts, nil)
		b := drive(sp.New(11, Hint{Steps: 50}), 200, opts, nil)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: same seed, different choices", sp)
		}
		for _, c := range a {
			if c < 0 || c > 3 {
				t.Fatalf("%s chose %d, not an option", sp, c)
			}
		}
		distinct := map[string]bool{}
		for seed := uint64(0); seed < 8; seed++ {
			distinct[sliceKey(drive(sp.New(seed, Hint{Steps: 50}), 200, opts, nil))] = true
		}
		if len(distinct) < 4 {
			t.Errorf("%s: 8 seeds gave only %d distinct schedules", sp, len(distinct))
		}
	}
}

func sliceKey(v []int) string {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte('0' + x)
	}
	return string(b)
}

func switches(v []int) int {
	n := 0
	for i := 1; i < len(v); i++ {
		if v[i] != v[i-1] {
			n++
		}
	}
	return n
}

// PCT with depth D switches threads at most D-1 times while the same
// threads stay runnable: between change points the highest priority wins.
func TestPCTChangePoints(t *testing.T) {
	opts := []int{0, 1, 2}
	for d := 1; d <= 4; d++ {
		seen := 0
		for seed := uint64(0); seed < 50; seed++ {
			st := Spec{Name: "pct", Depth: d}.New(seed, Hint{Steps: 40})
			got := drive(st, 40, opts, nil)
			if s := switches(got); s > d-1 {
				t.Fatalf("pct:%d seed %d: %d switches > %d: %v", d, seed, s, d-1, got)
			} else if s == d-1 {
				seen++
			}
		}
		if d > 1 && seen == 0 {
			t.Errorf("pct:%d: no run used all its change points", d)
		}
	}
}

// TestPCTSlice: PCT's top thread keeps the CPU for at most pctSlice
// decisions in a row while another could run (a thread polling the clock
// yields nowhere), then another thread gets it; with depth 1 (no change
// points) the only switches are the slices'.
func TestPCTSlice(t *testing.T) {
	for seed := uint64(0); seed < 5; seed++ {
		st := Spec{Name: "pct", Depth: 1}.New(seed, Hint{})
		got := drive(st, 3*pctSlice, []int{0, 1}, nil)
		run, longest := 1, 1
		for i := 1; i < len(got); i++ {
			if got[i] == got[i-1] {
				run++
			} else {
				run = 1
			}
			longest = max(longest, run)
		}
		if longest > pctSlice || switches(got) < 2 {
			t.Errorf("seed %d: %d switches, longest stretch %d decisions, want at least 2 and at most %d", seed, switches(got), longest, pctSlice)
		}
	}
}

// POS re-draws the priorities of events that conflict with the one that
// just ran: with every event on one object, the schedule keeps changing;
// with no conflicts, the winner keeps winning until it leaves.
func TestPOSConflicts(t *testing.T) {
	opts := []int{0, 1, 2}
	conflict := func(v int) sched.Event { return sched.Event{Thread: v, Obj: 7} }
	independent := func(v int) sched.Event { return sched.Event{Thread: v, Obj: uint64(100 + v)} }
	total := map[string]int{}
	for seed := uint64(0); seed < 20; seed++ {
		total["conflict"] += switches(drive(Spec{Name: "pos"}.New(seed, Hint{}), 60, opts, conflict))
		total["independent"] += switches(drive(Spec{Name: "pos"}.New(seed, Hint{}), 60, opts, independent))
	}
	if total["conflict"] <= total["independent"] {
		t.Fatalf("conflicting events switched %d times, independent ones %d: conflicts should re-draw priorities", total["conflict"], total["independent"])
	}
}

// chaos lets timers fire early (IdleOption) only when offered, and
// starves threads: some thread is passed over for a stretch while others
// run.
func TestChaosIdle(t *testing.T) {
	withIdle := []int{sched.IdleOption, 0, 1}
	idle, picks := 0, 0
	for seed := uint64(0); seed < 20; seed++ {
		for _, c := range drive(Spec{Name: "chaos"}.New(seed, Hint{}), 100, withIdle, nil) {
			if c == sched.IdleOption {
				idle++
			} else {
				picks++
			}
		}
		for _, c := range drive(Spec{Name: "chaos"}.New(seed, Hint{}), 100, []int{0, 1}, nil) {
			if c == sched.IdleOption {
				t.Fatal("chaos chose IdleOption when it was not offered")
			}
		}
		for _, sp := range []Spec{{Name: "random"}, {Name: "pct", Depth: 3}, {Name: "pos"}} {
			for _, c := range drive(sp.New(seed, Hint{}), 50, withIdle, nil) {
				if c == sched.IdleOption {
					t.Fatalf("%s chose IdleOption", sp)
				}
			}
		}
	}
	if idle == 0 || picks == 0 {
		t.Fatalf("chaos: %d idle, %d picks: want both", idle, picks)
	}
}

// Fault decisions inject a fault now and then, never all the time.
func TestFaultDecisions(t *testing.T) {
	st := Spec{Name: "random"}.New(3, Hint{})
	faults := 0
	for i := 0; i < 800; i++ {
		c := st.Choose(&sched.Request{Kind: sched.KindFault, Options: []int{sched.FaultNone, sched.FaultShort, sched.FaultEINTR}, At: "t1:read"})
		if c != sched.FaultNone {
			faults++
		}
	}
	if faults < 50 || faults > 200 {
		t.Fatalf("%d faults in 800 decisions, want about 100", faults)
	}
}

// The learner tells run i the most pick decisions of runs 0..i-Window.
func TestLearner(t *testing.T) {
	l := NewLearner(2)
	if l.Window != 8 || NewLearner(12).Window != 12 {
		t.Fatalf("windows %d, %d", l.Window, NewLearner(12).Window)
	}
	picks := func(n int) *Result {
		r := &Result{}
		for range n {
			r.Decisions = append(r.Decisions, sched.Decision{Kind: sched.KindPick}, sched.Decision{Kind: sched.KindWake})
		}
		return r
	}
	for _, n := range []int{5, 3, 9, 0} {
		l.Add(picks(n))
	}
	l.Add(nil)
	for i, want := range map[int]int{7: 0, 8: 5, 9: 5, 10: 9, 12: 9, 20: 0} {
		if got := l.Hint(i).Steps; got != want {
			t.Errorf("Hint(%d) = %d, want %d", i, got, want)
		}
	}
}

// spinner drives a strategy through a spin-wait: thread 0 yields at every
// one of its points (its pending event is a sched_yield or a preemption)
// until thread 1 has been picked `need` times. It returns how many
// decisions that took, or -1 if thread 1 was not picked enough within
// limit decisions (a livelock).
func spinner(st sched.Strategy, ev sched.Event, need, limit int) int {
	pending := func(v int) sched.Event {
		if v == 0 {
			e := ev
			e.Thread = 0
			return e
		}
		return sched.Event{Thread: v, Point: sched.PointSyscall, Name: "getppid"}
	}
	from, got := 0, 0
	for i := 0; i < limit; i++ {
		r := &sched.Request{Kind: sched.KindPick, Options: []int{0, 1}, At: "t0:x", Thread: from,
			Yield: from == 0, Step: i, Now: int64(i) * 1000, Pending: pending}
		c := st.Choose(r)
		if c == 1 {
			got++
			if got == need {
				return i + 1
			}
		}
		from = c
	}
	return -1
}

// A yield is a priority drop: at a point where a thread yields (a
// sched_yield, or a preemption of a pure spin loop) for the second time
// with no other thread having run since, no strategy picks it again while
// another can run, so a spin-wait never livelocks, whatever the
// priorities and the seed.
func TestYieldIsPriorityDrop(t *testing.T) {
	for _, ev := range []sched.Event{{Point: sched.PointSyscall, Name: "sched_yield"}, {Point: sched.PointPreempt, Name: "preempt"}} {
		if !ev.Yields() {
			t.Fatalf("%+v does not yield", ev)
		}
		for _, sp := range append(DefaultPortfolio(), Spec{Name: "pct", Depth: 1}) {
			for seed := uint64(0); seed < 50; seed++ {
				// Thread 1 yields again each time it is picked again: the
				// second time in a row it must not be.
				st := sp.New(seed, Hint{Steps: 100})
				again := 0
				for i := 0; i < 20; i++ {
					r := &sched.Request{Kind: sched.KindPick, Options: []int{0, 1, 2}, At: "t1:" + ev.Name, Thread: 1, Yield: true,
						Step: i, Now: int64(i) * 1000, Pending: func(v int) sched.Event { return sched.Event{Thread: v} }}
					if st.Choose(r) != 1 {
						again = 0
						continue
					}
					if again++; again > 1 {
						t.Fatalf("%s seed %d: picked the spinning thread again with others runnable", sp, seed)
					}
				}
				if n := spinner(sp.New(seed, Hint{Steps: 100}), ev, 50, 5000); n < 0 {
					t.Fatalf("%s seed %d: a %s spin-wait livelocks", sp, seed, ev.Name)
				}
			}
		}
	}
	if (sched.Event{Point: sched.PointSyscall, Name: "getppid"}).Yields() || (sched.Event{Point: sched.PointCall, Name: "sched_yield"}).Yields() {
		t.Fatal("a plain syscall or a call point yields")
	}
}

// PCT and POS remember the drop: a thread that spun (yielded twice in a
// row) stays below every thread that did not, so the others keep running
// while they can.
func TestYieldDropPersists(t *testing.T) {
	for _, sp := range []Spec{{Name: "pct", Depth: 1}, {Name: "pos"}} {
		spun := 0
		for seed := uint64(0); seed < 30; seed++ {
			st := sp.New(seed, Hint{})
			opts := []int{0, 1, 2}
			yield := &sched.Request{Kind: sched.KindPick, Options: opts, At: "t0:sched_yield", Thread: 0, Yield: true}
			if st.Choose(yield) != 0 {
				continue // no spin: thread 0 was switched away from at its first yield
			}
			if st.Choose(yield) == 0 {
				t.Fatalf("%s seed %d: picked the spinning thread again", sp, seed)
			}
			spun++
			for i := 0; i < 10; i++ {
				// Threads 1 and 2 run on without yielding.
				if c := st.Choose(&sched.Request{Kind: sched.KindPick, Options: opts, At: "t1:write", Thread: 1}); c == 0 {
					t.Fatalf("%s seed %d: the yielder ran before the others", sp, seed)
				}
			}
		}
		if spun < 5 {
			t.Fatalf("%s: thread 0 spun in only %d of 30 seeds", sp, spun)
		}
	}
}

// Chaos's starvation is bounded by the others' progress: a starved thread
// becomes eligible as soon as every other runnable thread only yields,
// and after a bounded number of steps in any case.
func TestChaosStarvationBounded(t *testing.T) {
	for _, ev := range []sched.Event{{Point: sched.PointSyscall, Name: "sched_yield"}, {Point: sched.PointPreempt, Name: "preempt"}} {
		worst := 0
		for seed := uint64(0); seed < 200; seed++ {
			n := spinner(Spec{Name: "chaos"}.New(seed, Hint{}), ev, 20, 100000)
			if n < 0 {
				t.Fatalf("seed %d: chaos starves the thread a %s spinner waits for", seed, ev.Name)
			}
			worst = max(worst, n)
		}
		t.Logf("%s: at most %d decisions for 20 picks of the awaited thread", ev.Name, worst)
		if worst > 1000 {
			t.Errorf("%s: a spinner waited %d decisions", ev.Name, worst)
		}
	}
	// A starved thread that others busy-wait for without yielding (a
	// poll loop) is released after a bounded number of steps, not 2 s
	// of virtual time (2 million points at 1µs each).
	c := newChaos(nil)
	c.starving[1] = starvation{end: 2e9, steps: 1000 + int(2e9/1e5)}
	ok := c.eligible(&sched.Request{Kind: sched.KindPick, Options: []int{0, 1}, Thread: 0, Step: 22000, Now: 22e6}, []int{0, 1})
	if len(ok) != 2 {
		t.Fatalf("eligible after 22000 steps: %v", ok)
	}
}
