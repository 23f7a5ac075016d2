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

// TestWatchdogCPUTime: the watchdog preempts a thread that used a quantum
// of CPU time without a scheduling point, once, and never one that is only
// waiting for a CPU (wall time passes, its CPU time does not) or that keeps
// reaching scheduling points.
func TestWatchdogCPUTime(t *testing.T) {
	f := newFakeDog()
	f.w.running(100, 101, 0)
	f.w.check() // first tick of this release: the baseline
	for range 10 {
		f.w.check() // descheduled: no CPU time used
	}
	if len(f.stops) != 0 {
		t.Fatalf("preempted a thread that used no CPU time: %v", f.stops)
	}
	f.cpu += 19 * time.Millisecond
	f.w.check()
	if len(f.stops) != 0 {
		t.Fatalf("preempted after 19ms of CPU time: %v", f.stops)
	}
	f.cpu += 2 * time.Millisecond
	f.w.check()
	f.cpu += 50 * time.Millisecond
	f.w.check()
	if len(f.stops) != 1 || f.stops[0] != 101 {
		t.Fatalf("after 21ms and 71ms of CPU time: preempted %v, want [101] once", f.stops)
	}

	// A thread that reaches a scheduling point between ticks is never
	// preempted, however much CPU time the process uses.
	f.stops = nil
	for i := range 10 {
		f.w.running(100, 102+i%2, 0)
		f.cpu += 30 * time.Millisecond
		f.w.check()
	}
	if len(f.stops) != 0 {
		t.Fatalf("preempted threads that kept reaching points: %v", f.stops)
	}

	// A process that has exited is never stopped: its pid may be
	// another process's already (another run's guest, say).
	f.stops = nil
	f.w.running(100, 105, 0)
	f.w.check()
	f.w.process(100, true)
	f.cpu += time.Second
	f.w.check()
	if len(f.stops) != 0 {
		t.Fatalf("stopped %v of a process that has exited", f.stops)
	}

	// An unreadable clock (the process is gone) preempts nothing.
	f.w.running(200, 201, 0)
	f.w.check()
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
	w.running(1, 1, 0)
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
