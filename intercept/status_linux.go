package intercept

import "golang.org/x/sys/unix"

// stopStatus is a wait status decoded the way ptrace(2) lays out a
// tracee's stops ("Stopped states"): the one place that reads the bits of
// the status word beyond what unix.WaitStatus decodes.
type stopStatus struct {
	stopped bool        // a ptrace-stop; else the tracee exited or was killed
	sig     unix.Signal // the stop signal (SIGTRAP|0x80 at a syscall stop)
	event   int         // the PTRACE_EVENT_* of an event stop, else 0
}

// decodeStatus decodes ws: a stopped status is event<<16 | sig<<8 | 0x7f.
func decodeStatus(ws unix.WaitStatus) stopStatus {
	if !ws.Stopped() {
		return stopStatus{}
	}
	return stopStatus{stopped: true, sig: ws.StopSignal(), event: int(ws>>16) & 0xff}
}

// signalStop reports a signal-delivery-stop for sig.
func (s stopStatus) signalStop(sig unix.Signal) bool {
	return s.stopped && s.event == 0 && s.sig == sig
}

// syscallStop reports a syscall-entry or syscall-exit stop
// (PTRACE_O_TRACESYSGOOD marks its SIGTRAP with 0x80).
func (s stopStatus) syscallStop() bool {
	return s.stopped && s.event == 0 && s.sig == unix.SIGTRAP|0x80
}

// eventStop reports a PTRACE_EVENT_<ev> stop.
func (s stopStatus) eventStop(ev int) bool { return s.stopped && s.event == ev }

// interruptStop reports a PTRACE_EVENT_STOP with SIGTRAP: the stop of a
// PTRACE_INTERRUPT, or the trap that ends a group-stop.
func (s stopStatus) interruptStop() bool {
	return s.eventStop(unix.PTRACE_EVENT_STOP) && s.sig == unix.SIGTRAP
}

// groupStop reports a group-stop (PTRACE_EVENT_STOP with a stopping
// signal).
func (s stopStatus) groupStop() bool {
	if !s.eventStop(unix.PTRACE_EVENT_STOP) {
		return false
	}
	switch s.sig {
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return true
	}
	return false
}
