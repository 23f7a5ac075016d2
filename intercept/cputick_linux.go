package intercept

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// CPU ticks. Options.CPUTick stops every guest thread each time it has
// run user code for that long on a CPU (time it waits for one does not
// count), and calls Tool.CPUTick there. It is how a tool notices a thread
// that runs without reaching any other stop, whatever the machine's load:
// the kernel stops the thread itself, on the CPU it runs on, so how long
// the tracer waits to be scheduled does not matter (a timer of the tracer
// that sent the signal could fire 50 ms of the guest's CPU time late on a
// loaded machine).
//
// Each thread has a perf software event (PERF_COUNT_SW_TASK_CLOCK, its own
// time on a CPU) sampling every CPUTick, user mode only (exclude_kernel:
// allowed unprivileged at perf_event_paranoid 2, and a tick never
// interrupts a syscall: it lands at an instruction boundary in user
// code). Its overflow signals the thread through the event's fasync
// owner (F_SETOWN_EX to the thread's tid, F_SETSIG SIGSTOP, O_ASYNC):
// SIGSTOP because it cannot be blocked, caught or coalesced with a trap
// of ours (a perf sigtrap event sends SIGTRAP, which a thread may block,
// and a pending SIGTRAP swallows the trap of the next int3). The stop is
// a signal-delivery-stop that the tracer recognizes by its siginfo
// (si_code POLL_IN, si_fd the thread's event) and never delivers. A tick
// that falls in kernel mode is skipped: the next comes a period later.
//
// The event follows its thread across execve (the tracer moves the owner
// to the thread's new tid) and is closed when the thread is gone. Where
// perf events are unavailable (perf_event_paranoid 3 or more without
// CAP_PERFMON, a sandbox that filters perf_event_open, no fd left), a
// thread has no ticks: CPUTicking reports it and the tool must watch the
// thread another way.

// cpuTick is a thread's tick event.
type cpuTick struct {
	fd int
}

// Fcntl commands and si_code values missing from x/sys.
const (
	fSetSig   = 10 // F_SETSIG
	fSetOwnEx = 15 // F_SETOWN_EX
	fOwnerTID = 0  // F_OWNER_TID
	pollIn    = 1  // POLL_IN: si_code of a SIGIO-style signal
	pollHup   = 6  // POLL_HUP
	siTkill   = -6 // SI_TKILL: sent by tgkill
)

// openCPUTick gives thread tid a tick every period of its CPU time; nil
// if perf events are unavailable.
func openCPUTick(tid int, period time.Duration) *cpuTick {
	attr := unix.PerfEventAttr{
		Type:   unix.PERF_TYPE_SOFTWARE,
		Config: unix.PERF_COUNT_SW_TASK_CLOCK,
		Sample: uint64(max(period, 10*time.Microsecond)),
		Bits:   unix.PerfBitExcludeKernel | unix.PerfBitExcludeHv,
		Wakeup: 1,
	}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, tid, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return nil
	}
	k := &cpuTick{fd: fd}
	if k.own(tid) != nil {
		unix.Close(fd)
		return nil
	}
	if _, err := unix.FcntlInt(uintptr(fd), fSetSig, int(unix.SIGSTOP)); err != nil {
		unix.Close(fd)
		return nil
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, unix.O_ASYNC); err != nil {
		unix.Close(fd)
		return nil
	}
	return k
}

// own directs the tick's signal to thread tid.
func (k *cpuTick) own(tid int) error {
	owner := struct {
		typ int32
		pid int32
	}{fOwnerTID, int32(tid)}
	_, _, e := unix.Syscall(unix.SYS_FCNTL, uintptr(k.fd), fSetOwnEx, uintptr(unsafe.Pointer(&owner)))
	if e != 0 {
		return e
	}
	return nil
}

func (k *cpuTick) close() {
	if k != nil {
		unix.Close(k.fd)
	}
}

// isTick reports whether a SIGSTOP with siginfo si is t's tick.
func (t *Thread) isTick(sig unix.Signal, si *unix.Siginfo) bool {
	if t.tick == nil || sig != unix.SIGSTOP || si.Code < pollIn || si.Code > pollHup {
		return false
	}
	// siginfo_t._sifields._sigpoll: si_band (long) then si_fd (int),
	// after signo, errno, code and padding.
	fd := *(*int32)(unsafe.Add(unsafe.Pointer(si), 24))
	return int(fd) == t.tick.fd
}

// startTick gives t its tick, if the options ask for one.
func (tr *Tracer) startTick(t *Thread) {
	if tr.opts.CPUTick > 0 && t.tick == nil {
		t.tick = openCPUTick(t.Tid, tr.opts.CPUTick)
	}
}

// CPUTicking reports whether t has CPU ticks (Options.CPUTick): false if
// they were not asked for or perf events are unavailable.
func (t *Thread) CPUTicking() bool { return t.tick != nil }

// tickHit handles t's tick, t in its signal-delivery-stop.
func (tr *Tracer) tickHit(t *Thread) error {
	t.stop = stopSignal
	t.sig = 0
	tr.tool.CPUTick(t)
	if t.stop == stopRunning {
		return nil // held and resumed, or stepped into another stop
	}
	return tr.resumeUnlessHeld(t)
}

// closeTicks closes the tick events of the threads left at the end of a
// run (a run that failed: the others were closed as their threads went).
func (tr *Tracer) closeTicks() {
	for _, t := range tr.threads {
		t.tick.close()
		t.tick = nil
	}
}

// StopThread sends thread tid of process pid a SIGSTOP that IsOwnStop
// recognizes: a tool's way to stop a running thread from any goroutine
// (its signal-delivery-stop reaches Tool.Signal, where the tool
// suppresses it). Thread.Step passes over one that comes first.
func StopThread(pid, tid int) error { return unix.Tgkill(pid, tid, unix.SIGSTOP) }

// IsOwnStop reports whether a signal is a SIGSTOP that this process sent
// with StopThread, rather than one from the guest or the kernel.
func IsOwnStop(sig unix.Signal, si *unix.Siginfo) bool {
	if sig != unix.SIGSTOP || si.Code != siTkill {
		return false
	}
	// siginfo_t._sifields._kill.si_pid follows signo, errno, code, pad.
	// The kernel gives si_pid in the receiver's pid namespace: 0 for a
	// sender outside it, as the tracer is of a guest run with -hermetic
	// (a guest's own tgkill shows its pid there, never 0). Taking such a
	// stop for the guest's made every thread of a JVM "stopped (job
	// control)": a false deadlock under load, where the watchdog's timer
	// sends its SIGSTOP.
	pid := *(*int32)(unsafe.Add(unsafe.Pointer(si), 16))
	return pid == 0 || int(pid) == os.Getpid()
}

// ownStop reports whether a stop of t is one of the tracer's own
// SIGSTOPs (a CPU tick, or StopThread's) and what its siginfo is.
func (t *Thread) ownStop(ws unix.WaitStatus) bool {
	if !decodeStatus(ws).signalStop(unix.SIGSTOP) {
		return false
	}
	var si unix.Siginfo
	if ptraceGetSiginfo(t.Tid, &si) != nil {
		return false
	}
	return t.isTick(unix.SIGSTOP, &si) || IsOwnStop(unix.SIGSTOP, &si)
}
