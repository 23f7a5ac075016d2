package sched

import (
	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// block marks g blocked (it is held at its syscall entry or exit).
func (s *Scheduler) block(g *gthread, kind blockKind) {
	g.state = stBlocked
	g.block = kind
	g.sig.ready, g.sig.timedOut = false, false
}

// wake makes a blocked thread runnable; it will continue with a.
func (s *Scheduler) wake(g *gthread, a intercept.Action) {
	if g.state != stBlocked {
		return
	}
	s.unblock(g)
	g.state = stRunnable
	g.resume = a
	s.traceWake(g)
}

// traceWake records on the timeline that g was woken (by s.waker).
func (s *Scheduler) traceWake(g *gthread) {
	if !s.cfg.Timeline {
		return
	}
	w := -1
	if s.waker != nil {
		w = s.waker.vtid
	}
	s.out.Timeline = append(s.out.Timeline, Span{Thread: w, Start: s.now - monoBase, End: s.now - monoBase, Woke: g.vtid})
}

// retry makes a thread blocked at a syscall exit runnable again; when
// picked it re-executes the syscall (a fresh scheduling point), or the
// next piece of its transfer.
func (s *Scheduler) retry(g *gthread) {
	if g.state != stBlocked {
		return
	}
	s.unblock(g)
	g.state = stRunnable
	g.restart = true
	g.resume = intercept.Continue()
	s.traceWake(g)
}

// reissue re-executes g's syscall (g is held at its exit): the guest's
// call, or the next piece of its transfer.
func (s *Scheduler) reissue(g *gthread) error {
	if g.io != nil {
		return s.reissuePiece(g)
	}
	return g.t.Restart()
}

// holdAtExit blocks the running thread g at the exit of a call that would
// have blocked; it is re-issued when woken (retry).
func (s *Scheduler) holdAtExit(g *gthread, kind blockKind) {
	g.t.Hold()
	s.running = nil
	s.block(g, kind)
	g.atExit = true
	if kind == blkRetry {
		// Retried after another thread's point that may have changed
		// fds: not the point this hold makes, unless it is quiet.
		g.epoch = s.epoch
		if !s.quiet {
			g.epoch++
		}
	}
}

// unblock removes g from whatever it waits on.
func (s *Scheduler) unblock(g *gthread) {
	g.atExit = false
	if g.fdDup >= 0 {
		unix.Close(g.fdDup)
		g.fdDup = -1
	}
	s.cancelTimer(g)
	if g.block == blkFutex {
		q := s.futexes[g.fkey]
		for i, w := range q {
			if w == g {
				q = append(q[:i], q[i+1:]...)
				break
			}
		}
		if len(q) == 0 {
			delete(s.futexes, g.fkey)
		} else {
			s.futexes[g.fkey] = q
		}
	}
	g.block = blkNone
	g.sig.ready, g.sig.timedOut = false, false
}

// timeout handles a fired deadline.
func (s *Scheduler) timeout(g *gthread) {
	if g.sig.ready {
		// A signal interrupts the wait first (signals.go).
		g.sig.timedOut = true
		return
	}
	switch g.block {
	case blkFutex:
		s.wake(g, intercept.Emulate(intercept.Errno(unix.ETIMEDOUT)))
	case blkSleep:
		s.wake(g, intercept.Emulate(0))
	case blkFD, blkRetry:
		switch {
		case g.io != nil:
			// A transfer's deadline: its last piece is re-issued
			// and returns what it moved, or the timeout's error.
			g.io.expired = true
			s.retry(g)
		case g.block == blkRetry:
			// A timed poll: re-issued once more with its deadline
			// passed, it returns what is ready then, or 0 (see
			// syscallExit).
			s.retryPoll(g)
		default:
			s.wake(g, intercept.Emulate(0))
		}
	case blkSignal:
		s.wake(g, intercept.Emulate(intercept.Errno(unix.EAGAIN))) // sigtimedwait
	}
}
