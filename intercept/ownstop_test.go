package intercept_test

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// TestIsOwnStop: a tgkill'd SIGSTOP is the tracer's if its si_pid is the
// tracer's, or 0: the kernel gives si_pid in the receiver's pid
// namespace, and the tracer is outside a -hermetic guest's (taking its
// stop for the guest's made a false job-control deadlock). A guest's own
// tgkill (its pid, visible in its namespace), a kill(2) and other signals
// are not.
func TestIsOwnStop(t *testing.T) {
	info := func(sig unix.Signal, code, pid int32) *unix.Siginfo {
		var si unix.Siginfo
		si.Signo, si.Code = int32(sig), code
		*(*int32)(unsafe.Add(unsafe.Pointer(&si), 16)) = pid // _sifields._kill.si_pid
		return &si
	}
	const siTkill, siUser = -6, 0
	self := int32(os.Getpid())
	for _, c := range []struct {
		what string
		sig  unix.Signal
		si   *unix.Siginfo
		want bool
	}{
		{"tracer, same pid namespace", unix.SIGSTOP, info(unix.SIGSTOP, siTkill, self), true},
		{"tracer, outside the guest's pid namespace", unix.SIGSTOP, info(unix.SIGSTOP, siTkill, 0), true},
		{"guest's tgkill", unix.SIGSTOP, info(unix.SIGSTOP, siTkill, self+1), false},
		{"kill(2)", unix.SIGSTOP, info(unix.SIGSTOP, siUser, 0), false},
		{"another signal", unix.SIGCONT, info(unix.SIGCONT, siTkill, self), false},
	} {
		if got := intercept.IsOwnStop(c.sig, c.si); got != c.want {
			t.Errorf("%s: IsOwnStop = %v, want %v", c.what, got, c.want)
		}
	}
}
