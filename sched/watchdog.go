package sched

import (
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watchdog preempts a guest thread that runs user code without reaching a
// scheduling point for too long (a spin loop waiting for a thread that is
// held would otherwise run forever). It is the one piece of the scheduler
// that depends on timing: a run it preempts is marked as containing a
// timing-based preemption, which replay may not reproduce.
//
// "Too long" is measured in CPU time of the running thread's process, not
// in wall time: on a loaded machine a guest thread that is merely waiting
// for a CPU must not be preempted (that would make the run depend on the
// machine's load). Only one thread of a guest runs at a time (the others
// are held in ptrace-stops), so the process's CPU clock advances only
// while the released thread runs.
//
// It is a timer of the Go runtime, not a goroutine: each tick (every
// quantum) runs check on some runtime thread and re-arms the timer, and a
// run too short to reach a tick costs one timer. It shares only atomics
// with the tracer thread: the generation (bumped at every release) and the
// running thread's ids.
type watchdog struct {
	gen      atomic.Uint64
	pid, tid atomic.Int64
	fired    atomic.Uint64 // the generation a SIGSTOP was sent for

	quantum time.Duration
	// cpuTime returns the CPU time process pid has used (false if it
	// cannot be read); stopThread preempts a thread. Tests replace them.
	cpuTime    func(pid int) (time.Duration, bool)
	stopThread func(pid, tid int)

	mu      sync.Mutex // held by a tick and by stop: no re-arm after stop
	timer   *time.Timer
	stopped bool
	st      tickState
}

// tickState is what one tick leaves for the next: the generation it saw
// and the CPU time the process had used then.
type tickState struct {
	gen  uint64
	base time.Duration
	ok   bool
}

func startWatchdog(quantum time.Duration) *watchdog {
	w := newWatchdog(quantum)
	w.mu.Lock()
	w.timer = time.AfterFunc(quantum, w.tick)
	w.mu.Unlock()
	return w
}

func newWatchdog(quantum time.Duration) *watchdog {
	return &watchdog{quantum: quantum, cpuTime: processCPUTime, stopThread: stopThread,
		st: tickState{gen: ^uint64(0)}}
}

func (w *watchdog) tick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.check()
	w.timer.Reset(w.quantum)
}

// check preempts the running thread if its process has used a quantum of
// CPU time since the previous tick found it running (so a thread is
// preempted after it ran for between one and two quanta of wall time, and
// for at least one quantum of CPU time, without a scheduling point).
func (w *watchdog) check() {
	gen := w.gen.Load()
	pid, tid := int(w.pid.Load()), int(w.tid.Load())
	if gen%2 != 0 || w.gen.Load() != gen {
		return // being released: the ids and the generation may not match
	}
	if gen != w.st.gen || tid == 0 {
		w.st.gen = gen
		w.st.base, w.st.ok = w.cpuTime(pid)
		return
	}
	if !w.st.ok || w.fired.Load() == gen {
		return
	}
	if now, ok := w.cpuTime(pid); ok && now-w.st.base >= w.quantum {
		w.fired.Store(gen)
		w.stopThread(pid, tid)
	}
}

// running records the thread just released (tid 0: none). The generation
// is odd while the ids change (a seqlock: check reads them only between
// two equal, even generations).
func (w *watchdog) running(pid, tid int) {
	w.gen.Add(1)
	w.pid.Store(int64(pid))
	w.tid.Store(int64(tid))
	w.gen.Add(1)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
}

// processCPUTime reads the CPU clock of another process
// (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED), see clock_getcpuclockid(3)).
func processCPUTime(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	var ts unix.Timespec
	clock := int32(^uint32(pid)<<3 | 2)
	if unix.ClockGettime(clock, &ts) != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

func stopThread(pid, tid int) { unix.Tgkill(pid, tid, unix.SIGSTOP) }

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
