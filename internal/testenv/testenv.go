// Package testenv checks that the machine can run schedfuzz's real-tracee
// tests. Tests that need ptrace and seccomp call RequirePtrace: when the
// kernel refuses, they fail with a clear message, or skip when
// SCHEDFUZZ_SKIP_UNSUPPORTED=1 is set.
package testenv

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

var probe = sync.OnceValue(func() error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done <- probePtrace()
	}()
	return <-done
})

func probePtrace() error {
	pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{
		Sys: &syscall.SysProcAttr{Ptrace: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return fmt.Errorf("ptrace(PTRACE_TRACEME) + exec /bin/true: %w", err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		return fmt.Errorf("wait4: %w", err)
	}
	if !ws.Stopped() {
		return fmt.Errorf("tracee did not stop after exec (status %#x)", ws)
	}
	unix.Kill(pid, unix.SIGKILL)
	unix.Wait4(pid, &ws, unix.WALL, nil)
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, 0 /* SET_MODE_STRICT probe */, 1, 0); e != unix.EINVAL {
		// seccomp(SECCOMP_SET_MODE_STRICT, flags=1) must fail with
		// EINVAL when seccomp exists; ENOSYS means no seccomp.
		return fmt.Errorf("seccomp(2) unavailable: %v", e)
	}
	return nil
}

// RequirePtrace fails tb (or skips it when SCHEDFUZZ_SKIP_UNSUPPORTED=1)
// unless this machine lets us ptrace children and install seccomp filters.
func RequirePtrace(tb testing.TB) {
	tb.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		unsupported(tb, "schedfuzz needs linux/amd64, this is "+runtime.GOOS+"/"+runtime.GOARCH)
	}
	if err := probe(); err != nil {
		unsupported(tb, "ptrace/seccomp unavailable: "+err.Error())
	}
}

func unsupported(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("SCHEDFUZZ_SKIP_UNSUPPORTED") == "1" {
		tb.Skip(msg + " (skipped: SCHEDFUZZ_SKIP_UNSUPPORTED=1)")
	}
	tb.Fatal(msg + " (set SCHEDFUZZ_SKIP_UNSUPPORTED=1 to skip such tests)")
}
