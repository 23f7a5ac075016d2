package sched

import (
	"testing"
	"time"
)

// fakeDog is a watchdog whose clock and preemption are fakes: cpu is the
// guest process's CPU time, stops records the threads preempted.
type fakeDog struct {
	w     *watchdog
	cpu   time.Duration
	stops []int
}

func newFakeDog() *fakeDog {
	f := &fakeDog{w: newWatchdog(20 * time.Millisecond)}
	f.w.process(100, false)
	f.w.process(200, false)
	f.w.cpuTime = func(pid int) (time.Duration, bool) { return f.cpu, pid == 100 }
	f.w.stopThread = func(pid, tid int) { f.stops = append(f.stops, tid) }
	return f
}

// TestWatchdogCPUTime: the watchdog's timer stops a thread that used a
// quantum of CPU time since its release without a scheduling point,
// counting the CPU time it used before the timer first saw it, and stops
// it again at each tick until the scheduler handles the catch; never one
// that is only waiting for a CPU (wall time passes, its CPU time does
// not) or that keeps reaching scheduling points.
func TestWatchdogCPUTime(t *testing.T) {
	const q = 20 * time.Millisecond
	f := newFakeDog()
	f.cpu = time.Second // the process ran before this release
	f.w.running(100, 101, 0, false)
	for range 10 {
		if next := f.w.check(); next != q { // descheduled: no CPU time used
			t.Fatalf("next tick in %v with a quantum left, want %v", next, q)
		}
	}
	if len(f.stops) != 0 {
		t.Fatalf("preempted a thread that used no CPU time: %v", f.stops)
	}
	f.cpu += 19 * time.Millisecond
	if next := f.w.check(); next != minPeriod || len(f.stops) != 0 {
		t.Fatalf("after 19ms of CPU time: next tick in %v, stops %v; want %v, none", next, f.stops, minPeriod)
	}
	f.cpu += 2 * time.Millisecond
	f.w.check()
	f.w.check() // not handled yet: the SIGSTOP may have been passed over
	if len(f.stops) != 2 || f.stops[0] != 101 || f.stops[1] != 101 || !f.w.caughtNow() {
		t.Fatalf("after 21ms of CPU time: preempted %v, want [101 101]", f.stops)
	}
	f.w.handling(true)
	f.cpu += 50 * time.Millisecond
	f.w.check()
	if len(f.stops) != 2 {
		t.Fatalf("preempted again a thread whose catch is being handled: %v", f.stops)
	}
	f.w.handling(false) // the catch was interrupted by another stop
	f.w.check()
	if len(f.stops) != 3 {
		t.Fatalf("did not preempt again a thread whose catch was given up: %v", f.stops)
	}

	// The CPU time a thread used before the timer first looked at it
	// counts: one quantum after its release, it is stopped at the first
	// tick, however late that tick comes.
	f.stops = nil
	f.w.running(100, 104, 0, false)
	f.cpu += 25 * time.Millisecond
	f.w.check()
	if len(f.stops) != 1 || f.stops[0] != 104 {
		t.Fatalf("25ms of CPU time before the first tick: preempted %v, want [104]", f.stops)
	}

	// A thread that reaches a scheduling point before its quantum is
	// used is never preempted, however much CPU time the process uses.
	f.stops = nil
	for i := range 10 {
		f.w.running(100, 102+i%2, 0, false)
		f.cpu += 15 * time.Millisecond
		f.w.check()
	}
	if len(f.stops) != 0 {
		t.Fatalf("preempted threads that kept reaching points: %v", f.stops)
	}

	// A thread with CPU ticks is caught at them: the timer is a backstop
	// after backstop quanta.
	f.w.running(100, 106, 0, true)
	f.cpu += 30 * time.Millisecond
	f.w.check()
	if len(f.stops) != 0 {
		t.Fatalf("the backstop stopped a ticking thread after 30ms: %v", f.stops)
	}
	if used, ok := f.w.used(); !ok || used != 30*time.Millisecond {
		t.Fatalf("used() = %v, %v; want 30ms", used, ok)
	}
	f.cpu += 15 * time.Millisecond
	f.w.check()
	if len(f.stops) != 1 || f.stops[0] != 106 {
		t.Fatalf("the backstop after 45ms: preempted %v, want [106]", f.stops)
	}

	// A process that has exited is never stopped: its pid may be
	// another process's already (another run's guest, say).
	f.stops = nil
	f.w.running(100, 105, 0, false)
	f.w.process(100, true)
	f.cpu += time.Second
	f.w.check()
	if len(f.stops) != 0 {
		t.Fatalf("stopped %v of a process that has exited", f.stops)
	}

	// An unreadable clock (the process is gone) preempts nothing.
	f.w.running(200, 201, 0, false)
	f.cpu += time.Second
	f.w.check()
	if len(f.stops) != 0 {
		t.Fatalf("preempted %v of a process without a clock", f.stops)
	}
}

// TestWatchdogTimer: the real timer ticks, and stops ticking at stop.
func TestWatchdogTimer(t *testing.T) {
	w := newWatchdog(time.Millisecond)
	ticks := make(chan struct{}, 100)
	w.cpuTime = func(int) (time.Duration, bool) {
		select {
		case ticks <- struct{}{}:
		default:
		}
		return 0, true
	}
	w.stopThread = func(int, int) {}
	w.process(1, false)
	w.mu.Lock()
	w.timer = time.AfterFunc(w.quantum, w.tick)
	w.mu.Unlock()
	w.running(1, 1, 0, false)
	for range 3 {
		select {
		case <-ticks:
		case <-time.After(10 * time.Second):
			t.Fatal("the watchdog does not tick")
		}
	}
	w.stop()
	time.Sleep(10 * time.Millisecond) // a tick in flight may still end
	for len(ticks) > 0 {
		<-ticks
	}
	time.Sleep(20 * time.Millisecond)
	if n := len(ticks); n != 0 {
		t.Fatalf("%d ticks after stop", n)
	}
}
