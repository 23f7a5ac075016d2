package sched

import (
	"os"
	"strconv"
	"strings"
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
// "Too long" is CPU time the thread itself used (from
// /proc/PID/task/TID/schedstat), not wall time: on a loaded machine a
// thread that waits for a CPU must not be preempted, or the same seed
// would give different runs depending on the load. The baseline is read at
// the first tick after a release, so a preemption comes between one and
// two quanta of CPU time after it; the file is read only for threads that
// run that long without a point.
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
	var base int64 // CPU time of the running thread when first seen
	for {
		select {
		case <-w.done:
			return
		case <-tick.C:
		}
		gen := w.gen.Load()
		pid, tid := int(w.pid.Load()), int(w.tid.Load())
		if gen != last {
			last = gen
			base = -1
			if tid != 0 {
				base = threadCPU(pid, tid)
			}
			continue
		}
		if tid == 0 || base < 0 || w.fired.Load() == gen {
			continue
		}
		if used := threadCPU(pid, tid); used >= 0 && used-base >= int64(quantum) {
			w.fired.Store(gen)
			unix.Tgkill(pid, tid, unix.SIGSTOP)
		}
	}
}

// threadCPU is the CPU time (ns) a thread has used, -1 if unknown.
func threadCPU(pid, tid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/schedstat")
	if err != nil {
		return -1
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseInt(f, 10, 64)
	if err != nil {
		return -1
	}
	return v
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
