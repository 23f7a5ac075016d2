package sched

import (
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watchdog preempts a guest thread that runs user code without reaching a
// scheduling point for too long (a spin loop waiting for a thread that is
// held would otherwise run forever). It is the one piece of the scheduler
// that depends on wall-clock time: a run it preempts is marked as
// containing a timing-based preemption, which replay may not reproduce.
//
// It runs on its own goroutine and shares only atomics with the tracer
// thread: the generation (bumped at every release) and the running
// thread's ids.
type watchdog struct {
	gen      atomic.Uint64
	pid, tid atomic.Int64
	fired    atomic.Uint64 // the generation a SIGSTOP was sent for
	done     chan struct{}
}

func startWatchdog(quantum time.Duration) *watchdog {
	w := &watchdog{done: make(chan struct{})}
	go w.loop(quantum)
	return w
}

func (w *watchdog) loop(quantum time.Duration) {
	tick := time.NewTicker(quantum)
	defer tick.Stop()
	last := ^uint64(0)
	for {
		select {
		case <-w.done:
			return
		case <-tick.C:
		}
		gen := w.gen.Load()
		if gen == last && w.fired.Load() != gen {
			if tid := w.tid.Load(); tid != 0 {
				w.fired.Store(gen)
				unix.Tgkill(int(w.pid.Load()), int(tid), unix.SIGSTOP)
			}
		}
		last = gen
	}
}

// running records the thread just released (tid 0: none).
func (w *watchdog) running(pid, tid int) {
	w.pid.Store(int64(pid))
	w.tid.Store(int64(tid))
	w.gen.Add(1)
}

func (w *watchdog) stop() { close(w.done) }

// isOurStop reports whether a SIGSTOP came from this process (the
// watchdog) rather than from the guest.
func isOurStop(sig unix.Signal, info *unix.Siginfo) bool {
	if sig != unix.SIGSTOP || info.Code != -6 /* SI_TKILL */ {
		return false
	}
	// siginfo_t._sifields._kill.si_pid follows signo, errno, code, pad.
	pid := *(*int32)(unsafe.Add(unsafe.Pointer(info), 16))
	return int(pid) == os.Getpid()
}
