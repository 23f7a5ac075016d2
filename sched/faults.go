package sched

import (
	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// Syscall-result fuzzing (Config.Faults). At calls where the kernel may
// legitimately return less than asked or fail transiently, the result is
// a KindFault decision, recorded in the trace like any other:
//
//   - read, readv, recvfrom, write, writev, sendto on a pipe, socket or
//     terminal: a short transfer (half the count, one iovec), EINTR, and
//     EAGAIN if the fd is non-blocking. Regular files are left alone:
//     Linux never shortens their transfers before EOF.
//   - futex waits: a spurious wake-up (0 without a wake).
//
// EINTR is what such a call returns when a signal handler without
// SA_RESTART runs; a program without handlers never sees it natively, so
// a failure found only through EINTR deserves that caveat.

// fault offers g's syscall a fault decision. It reports whether the call
// is settled (emulated); otherwise it goes on, possibly with shortened
// arguments.
func (s *Scheduler) fault(g *gthread, c *intercept.Syscall) bool {
	var opts [5]int
	n := 0
	add := func(f int) { opts[n] = f; n++ }
	add(FaultNone)
	switch c.Nr {
	case unix.SYS_READ, unix.SYS_READV, unix.SYS_RECVFROM,
		unix.SYS_WRITE, unix.SYS_WRITEV, unix.SYS_SENDTO:
		if s.randomFDs[randomFD{g.pid, int(c.Args[0])}] {
			return false
		}
		slow, nonblock, ok := s.fdKind(g.pid, int(c.Args[0]))
		if !ok || !slow {
			return false
		}
		if c.Args[2] > 1 {
			add(FaultShort)
		}
		add(FaultEINTR)
		if nonblock {
			add(FaultEAGAIN)
		}
	case unix.SYS_FUTEX:
		cmd := int(c.Args[1]) &^ (futexPrivate | futexClockRealtime)
		if cmd != futexWait && cmd != futexWaitBitset {
			return false
		}
		add(FaultSpurious)
	default:
		return false
	}
	f, ok := s.decide(KindFault, opts[:n], g.at)
	if !ok {
		return true
	}
	switch f {
	case FaultShort:
		c.Args[2] /= 2
		if c.Nr == unix.SYS_READV || c.Nr == unix.SYS_WRITEV {
			c.Args[2] = 1 // the first iovec only
		}
	case FaultEINTR:
		g.resume = intercept.Emulate(intercept.Errno(unix.EINTR))
		return true
	case FaultEAGAIN:
		g.resume = intercept.Emulate(intercept.Errno(unix.EAGAIN))
		return true
	case FaultSpurious:
		g.resume = intercept.Emulate(0)
		return true
	}
	return false
}

// fdKind says whether a guest fd is "slow" (a pipe, socket or character
// device, where transfers may be short and waits interrupted) and whether
// it is non-blocking. ok is false if the fd cannot be inspected.
func (s *Scheduler) fdKind(pid, fd int) (slow, nonblock, ok bool) {
	dup, ok := s.dupFD(pid, fd)
	if !ok {
		return false, false, false
	}
	defer unix.Close(dup)
	fl, err := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err != nil {
		return false, false, false
	}
	var st unix.Stat_t
	if unix.Fstat(dup, &st) != nil {
		return false, false, false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO, unix.S_IFSOCK, unix.S_IFCHR:
		slow = true
	}
	return slow, fl&unix.O_NONBLOCK != 0, true
}
