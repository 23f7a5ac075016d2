package intercept

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSigaction is struct sigaction as rt_sigaction(2) takes it on amd64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const saNoCldStop = 1

// quietSIGCHLD adds SA_NOCLDSTOP to the Go runtime's SIGCHLD handler, once
// per process. Without it the kernel signals the tracer at every tracee
// stop, and running the runtime's handler costs ~2 µs per stop (measured:
// bench/RESULTS.md). wait4 still wakes on stops, and SIGCHLD for exits is
// unchanged; code in the same process using signal.Notify(SIGCHLD) is no
// longer told when its own children stop or continue.
var quietSIGCHLD = sync.OnceFunc(func() {
	var sa kernelSigaction
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), 0,
		uintptr(unsafe.Pointer(&sa)), 8, 0, 0); e != 0 {
		return
	}
	if sa.handler == 0 || sa.handler == 1 { // SIG_DFL, SIG_IGN: nothing is delivered
		return
	}
	sa.flags |= saNoCldStop
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
})
