package intercept

import (
	"golang.org/x/sys/unix"
)

// Return values with which the kernel restarts an interrupted syscall
// (include/linux/errno.h).
const (
	errRestartSys          = 512
	errRestartNoIntr       = 513
	errRestartNoHand       = 514
	errRestartRestartBlock = 516
)

// expectRestart looks at a thread stopped by an interrupt: if it was
// blocked in a syscall, the kernel restarts the call when it resumes (no
// handler runs: the tracer delivers no signal there), and the restarted
// call's seccomp stop must not reach the tool a second time. t.restart
// makes handleSeccomp pass it over if it is t's very next stop.
func (t *Thread) expectRestart() {
	var regs unix.PtraceRegs
	if ptraceGetRegs(t.Tid, &regs) != nil || sysNr(&regs) < 0 {
		return
	}
	nr := int(sysNr(&regs))
	switch -int64(ret(&regs)) {
	case errRestartSys, errRestartNoIntr, errRestartNoHand:
	case errRestartRestartBlock:
		nr = unix.SYS_RESTART_SYSCALL
	default:
		return
	}
	if t.tr.sub.Has(nr) {
		t.restart = restartExpect{ok: true, nr: nr, ip: regs.PC()}
	}
}

// restartExpect is a syscall the kernel is about to restart.
type restartExpect struct {
	ok bool
	nr int
	ip uint64 // the address after the syscall instruction
}
