package cpuload

import (
	"runtime"
	"testing"
	"time"
)

// fake is a machine whose CPUs' busy time and this process's CPU time the
// test sets.
type fake struct {
	t    time.Time
	busy map[int]int64
	own  int64
	cur  int // the CPU the picking thread is on
}

func (f *fake) picker() *Picker {
	return newPicker(func() time.Time { return f.t }, func() map[int]int64 {
		m := map[int]int64{}
		for c, v := range f.busy {
			m[c] = v
		}
		return m
	}, func() int64 { return f.own }, func() int { return f.cur })
}

// run advances the clock by d with CPU c busy for others' ns and this
// process's runs for mine ns on CPU c.
func (f *fake) run(d time.Duration, others map[int]time.Duration, mine map[int]time.Duration) {
	f.t = f.t.Add(d)
	for c, o := range others {
		f.busy[c] += int64(o)
	}
	for c, m := range mine {
		f.busy[c] += int64(m)
		f.own += int64(m)
	}
}

// TestPick: the CPU others keep busy is avoided once a window has closed;
// the session's own runs on a CPU do not count against it; ties and an
// open first window keep the CPU picked last.
func TestPick(t *testing.T) {
	f := &fake{t: time.Unix(1000, 0), busy: map[int]int64{0: 0, 1: 0}, cur: -1}
	p := f.picker()
	pick := func(free ...int) int {
		c := free[p.Pick(free)]
		p.Done(c, 0, 0) // one run at a time
		return c
	}
	if c := pick(0, 1); c != 0 {
		t.Fatalf("no window yet: picked %d, want the lowest", c)
	}
	// Our run is on CPU 0 and busy all the time; CPU 1 idles.
	f.run(250*time.Millisecond, nil, map[int]time.Duration{0: 250 * time.Millisecond})
	if c := pick(0, 1); c != 0 {
		t.Errorf("own load only: picked %d, want 0 (kept)", c)
	}
	// Another engineer's test pinned to CPU 0 takes it for good.
	f.run(250*time.Millisecond, map[int]time.Duration{0: 200 * time.Millisecond}, map[int]time.Duration{0: 50 * time.Millisecond})
	if c := pick(0, 1); c != 1 {
		t.Errorf("a hog on CPU 0: picked %d, want 1", c)
	}
	// Both busy alike: keep CPU 1.
	f.run(250*time.Millisecond, map[int]time.Duration{0: 250 * time.Millisecond, 1: 240 * time.Millisecond}, nil)
	if c := pick(0, 1); c != 1 {
		t.Errorf("both busy: picked %d, want 1 (kept)", c)
	}
	// Only the free CPUs are candidates.
	if c := pick(0); c != 0 {
		t.Errorf("one free CPU: picked %d", c)
	}
}

// TestPickWaits: a CPU where the session's runs waited for a good part of
// their time is left at once, before any load window closes, and tried
// again once its memory has faded; with nothing known, the first pick is
// the CPU the picking thread is on.
func TestPickWaits(t *testing.T) {
	f := &fake{t: time.Unix(1000, 0), busy: map[int]int64{0: 0, 1: 0}, cur: 1}
	p := f.picker()
	run := func(waited, wall time.Duration) int {
		c := []int{0, 1}[p.Pick([]int{0, 1})]
		f.t = f.t.Add(wall)
		p.Done(c, waited, wall)
		return c
	}
	if c := run(2*time.Millisecond, 4*time.Millisecond); c != 1 {
		t.Fatalf("nothing known: picked %d, want 1 (the picking thread's CPU)", c)
	}
	f.cur = 0
	if c := run(10*time.Microsecond, 2*time.Millisecond); c != 0 {
		t.Fatalf("CPU 1's run waited half its time: picked %d, want 0", c)
	}
	for range 20 {
		if c := run(10*time.Microsecond, 2*time.Millisecond); c != 0 {
			t.Fatalf("CPU 0 is fine: picked %d, want 0 (kept)", c)
		}
	}
	// CPU 0 gets contended too, less than CPU 1 was: CPU 1's memory
	// has faded meanwhile (3 s), so the session moves back.
	f.t = f.t.Add(3 * time.Second)
	run(time.Millisecond, 2*time.Millisecond)
	if c := run(time.Millisecond, 2*time.Millisecond); c != 1 {
		t.Errorf("CPU 0 contended, CPU 1's waits long ago: picked %d, want 1", c)
	}
	// Shares within waitNoise are a tie: the CPU used last is kept.
	if c := run(900*time.Microsecond, 2*time.Millisecond); c != 1 {
		t.Errorf("equal waits: picked %d, want 1 (kept)", c)
	}
}

// TestReadRan: /proc/stat gives every CPU a busy time that never goes
// back.
func TestReadRan(t *testing.T) {
	a := readRan()
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) {
	}
	b := readRan()
	if len(a) != runtime.NumCPU() || len(b) != len(a) {
		t.Fatalf("%d CPUs, then %d; NumCPU %d", len(a), len(b), runtime.NumCPU())
	}
	var grew int64
	for c := range a {
		if b[c] < a[c] {
			t.Errorf("CPU %d: busy time went back from %d to %d", c, a[c], b[c])
		}
		grew += b[c] - a[c]
	}
	if grew <= 0 {
		t.Errorf("no CPU got busier while this test spun for 50 ms")
	}
}
