package sandbox

import (
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestInitParentGone: an init whose starting thread has already exited
// (killed between the clone and its PR_SET_PDEATHSIG, it would never get
// the signal) notices it through the thread's pidfd, says so and exits:
// startInitFor returns an error and nothing is left running. With a live
// thread's pidfd the init runs.
func TestInitParentGone(t *testing.T) {
	fds := make(chan int)
	fd := -2
	for fd == -2 {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			if unix.Gettid() == unix.Getpid() {
				runtime.UnlockOSThread() // the main thread never exits: another
				fds <- -2
				return
			}
			fd, err := unix.PidfdOpen(unix.Gettid(), pidfdThread)
			if err != nil {
				fd = -1
			}
			fds <- fd
		}()
		fd = <-fds
	}
	if fd < 0 {
		t.Skip("no PIDFD_THREAD (Linux 6.9): the init cannot check its parent thread")
	}
	defer unix.Close(fd)
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd, 10_000); n != 1 || err != nil {
		t.Fatalf("the locked thread's pidfd never became readable: %d, %v", n, err)
	}
	p, err := startInitFor(false, fd)
	if err == nil || !strings.Contains(err.Error(), "has exited") {
		p.kill()
		t.Fatalf("startInitFor with a dead thread's pidfd: %v, want the thread has exited", err)
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	live, err := unix.PidfdOpen(unix.Gettid(), pidfdThread)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(live)
	p, err = startInitFor(false, live)
	if err != nil {
		t.Fatalf("startInitFor with a live thread's pidfd: %v", err)
	}
	p.kill()
}
