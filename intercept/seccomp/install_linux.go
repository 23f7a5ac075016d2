package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/schedfuzz/schedfuzz/intercept/bpf"
	"golang.org/x/sys/unix"
)

// Values for injecting seccomp(2) into another process.
const (
	// SysSeccomp is the number of seccomp(2) (317 on x86-64).
	SysSeccomp = unix.SYS_SECCOMP
	// SetModeFilter is SECCOMP_SET_MODE_FILTER, the operation that
	// installs a filter.
	SetModeFilter = 1
)

// Install validates prog and installs it as a seccomp filter on the
// CALLING THREAD only: it sets PR_SET_NO_NEW_PRIVS (so no privilege is
// needed) and calls seccomp(SECCOMP_SET_MODE_FILTER, 0, &fprog) without
// SECCOMP_FILTER_FLAG_TSYNC.
//
// The caller must have called runtime.LockOSThread and keep the goroutine
// locked for as long as it relies on the filter; other threads of the
// process are unaffected. The filter is inherited by threads and processes
// the filtered thread creates itself (clone, fork); the Go runtime does not
// create its threads from a locked thread (it asks its template thread), so
// the filter does not leak into the runtime's thread pool. It cannot be
// removed.
//
// If the kernel has no seccomp filter support, the error wraps
// errors.ErrUnsupported.
func Install(prog []bpf.Instruction) error {
	if err := bpf.Validate(prog); err != nil {
		return fmt.Errorf("seccomp: install: %w", err)
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filter[i] = unix.SockFilter{Code: in.OpCode, Jt: in.JumpIfTrue, Jf: in.JumpIfFalse, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}

	if _, _, errno := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); errno != 0 {
		return fmt.Errorf("seccomp: prctl(PR_SET_NO_NEW_PRIVS): %w", errno)
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, SetModeFilter, 0, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(filter)
	runtime.KeepAlive(&fprog)
	switch errno {
	case 0:
		return nil
	case unix.ENOSYS, unix.EINVAL:
		// ENOSYS: no seccomp(2). EINVAL for a validated program: no
		// SECCOMP_SET_MODE_FILTER (CONFIG_SECCOMP_FILTER off).
		return fmt.Errorf("seccomp: seccomp(SECCOMP_SET_MODE_FILTER): %w (%w)", errno, errors.ErrUnsupported)
	default:
		return fmt.Errorf("seccomp: seccomp(SECCOMP_SET_MODE_FILTER): %w", errno)
	}
}
