package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Action is a seccomp filter return value, SECCOMP_RET_*: the action in the
// high 16 bits, its data (an errno, a ptrace event message, a SIGSYS
// si_errno) in the low 16 bits.
//
// The zero Action is KillThread, as in the kernel.
type Action uint32

// Actions without data.
const (
	// KillProcess kills the whole process with SIGSYS (dumping core if
	// RLIMIT_CORE allows).
	KillProcess Action = 0x80000000 // SECCOMP_RET_KILL_PROCESS
	// KillThread kills the calling thread with SIGSYS. It is the zero
	// Action.
	KillThread Action = 0x00000000 // SECCOMP_RET_KILL_THREAD
	// UserNotif hands the call to a seccomp user-notification listener;
	// without one it fails with ENOSYS.
	UserNotif Action = 0x7fc00000 // SECCOMP_RET_USER_NOTIF
	// Log allows the call and logs it.
	Log Action = 0x7ffc0000 // SECCOMP_RET_LOG
	// Allow lets the call run.
	Allow Action = 0x7fff0000 // SECCOMP_RET_ALLOW
)

// Action kinds that carry data; build them with Trap, Errno and Trace.
const (
	retTrap  Action = 0x00030000 // SECCOMP_RET_TRAP
	retErrno Action = 0x00050000 // SECCOMP_RET_ERRNO
	retTrace Action = 0x7ff00000 // SECCOMP_RET_TRACE

	actionMask Action = 0xffff0000 // SECCOMP_RET_ACTION_FULL
	dataMask   Action = 0x0000ffff // SECCOMP_RET_DATA
)

// maxErrno is the kernel's MAX_ERRNO: larger SECCOMP_RET_ERRNO data is
// capped to it.
const maxErrno = 4095

// Trace stops the calling thread for its ptrace tracer with
// PTRACE_EVENT_SECCOMP, data being the event message
// (PTRACE_GETEVENTMSG). Without a tracer that asked for
// PTRACE_O_TRACESECCOMP, the call fails with ENOSYS.
func Trace(data uint16) Action { return retTrace | Action(data) }

// Errno makes the call fail with e, without running it. Like the kernel,
// it caps e at MAX_ERRNO (4095).
func Errno(e unix.Errno) Action {
	if e > maxErrno {
		e = maxErrno
	}
	return retErrno | Action(e)
}

// Trap sends the thread a SIGSYS with si_errno = data, without running the
// call.
func Trap(data uint16) Action { return retTrap | Action(data) }

// Kind returns the action with its data cleared: Allow, KillProcess,
// Trace(0), Errno(0), Trap(0) and so on.
func (a Action) Kind() Action { return a & actionMask }

// Data returns the 16 data bits of the action.
func (a Action) Data() uint16 { return uint16(a & dataMask) }

// Valid reports whether the kernel knows the kind of a (an unknown kind
// behaves as KillProcess).
func (a Action) Valid() bool {
	switch a.Kind() {
	case KillProcess, KillThread, retTrap, retErrno, UserNotif, retTrace, Log, Allow:
		return true
	}
	return false
}

// String returns the action in the form "allow", "trace(7)",
// "errno(EPERM)", "trap(1)", "kill-process"...
func (a Action) String() string {
	var name string
	switch a.Kind() {
	case KillProcess:
		name = "kill-process"
	case KillThread:
		name = "kill-thread"
	case UserNotif:
		name = "user-notif"
	case Log:
		name = "log"
	case Allow:
		name = "allow"
	case retTrace:
		return fmt.Sprintf("trace(%d)", a.Data())
	case retTrap:
		return fmt.Sprintf("trap(%d)", a.Data())
	case retErrno:
		if n := unix.ErrnoName(unix.Errno(a.Data())); n != "" {
			return "errno(" + n + ")"
		}
		return fmt.Sprintf("errno(%d)", a.Data())
	default:
		return fmt.Sprintf("unknown(%#x)", uint32(a))
	}
	if a.Data() != 0 {
		return fmt.Sprintf("%s(data %d)", name, a.Data())
	}
	return name
}
