package sched

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// syscall applies the deterministic model of the call g is entering: it
// sets g.resume (how g continues when picked) or blocks g.
func (s *Scheduler) syscall(g *gthread, c *intercept.Syscall) {
	if c.Arch != intercept.ArchX86_64 {
		return
	}
	if s.cfg.Faults && s.fault(g, c) {
		return
	}
	if s.pts != nil && s.mapsCode(g, c) {
		// Code may be mapped (ld.so, dlopen): look for new images at
		// the exit and plant their points before the thread runs on.
		g.resume = intercept.TraceExit()
		g.mapping = true
		return
	}
	if s.signalCall(g, c) {
		return // signals and timers (signals.go, timers.go)
	}
	mem := g.t.Memory()
	switch c.Nr {
	case unix.SYS_FUTEX:
		s.futex(g, c)
	case unix.SYS_FUTEX_WAITV, 454, 455, 456: // futex_waitv, futex_wake/wait/requeue
		s.end(Unsupported, fmt.Sprintf("unsupported: %s is not emulated", g.at))

	// Virtual time.
	case unix.SYS_CLOCK_GETTIME:
		if err := writeTimespec(mem, c.Args[1], s.clockNow(int(c.Args[0]))); err != nil {
			g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
		} else {
			g.resume = intercept.Emulate(0)
		}
	case unix.SYS_GETTIMEOFDAY:
		if c.Args[0] != 0 {
			ns := s.clockNow(unix.CLOCK_REALTIME)
			var b [16]byte
			binary.LittleEndian.PutUint64(b[:8], uint64(ns/1e9))
			binary.LittleEndian.PutUint64(b[8:], uint64(ns%1e9/1000))
			mem.WriteAt(b[:], int64(c.Args[0]))
		}
		g.resume = intercept.Emulate(0)
	case unix.SYS_TIME:
		sec := s.clockNow(unix.CLOCK_REALTIME) / 1e9
		if c.Args[0] != 0 {
			mem.WriteUint64(c.Args[0], uint64(sec))
		}
		g.resume = intercept.Emulate(sec)
	case unix.SYS_NANOSLEEP:
		d, err := readTimespec(mem, c.Args[0])
		if err != nil {
			g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
			return
		}
		s.sleepUntil(g, s.now+d)
	case unix.SYS_CLOCK_NANOSLEEP:
		d, err := readTimespec(mem, c.Args[2])
		if err != nil {
			g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
			return
		}
		if c.Args[1]&1 != 0 { // TIMER_ABSTIME
			s.sleepUntil(g, d-s.clockNow(int(c.Args[0]))+s.now)
		} else {
			s.sleepUntil(g, s.now+d)
		}

	// Virtual inputs.
	case unix.SYS_GETRANDOM:
		n := min(c.Args[1], 1<<20)
		buf := make([]byte, n)
		g.rng.Read(buf)
		if _, err := mem.WriteAt(buf, int64(c.Args[0])); err != nil {
			g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
		} else {
			g.resume = intercept.Emulate(int64(n))
		}
	case unix.SYS_SCHED_GETAFFINITY:
		size := uint64((s.cfg.CPUs + 63) / 64 * 8)
		if c.Args[1] < size {
			g.resume = intercept.Emulate(intercept.Errno(unix.EINVAL))
			return
		}
		buf := make([]byte, size)
		for i := 0; i < s.cfg.CPUs; i++ {
			buf[i/8] |= 1 << (i % 8)
		}
		mem.WriteAt(buf, int64(c.Args[2]))
		g.resume = intercept.Emulate(int64(size))
	case unix.SYS_SCHED_SETAFFINITY:
		g.resume = intercept.Emulate(0) // everyone shares the one CPU
	case unix.SYS_GETCPU:
		// A virtual CPU per thread: the real one depends on which CPU
		// the run was pinned to.
		cpu := uint64(g.vtid % s.cfg.CPUs)
		if c.Args[0] != 0 {
			writeU32(mem, c.Args[0], uint32(cpu))
		}
		if c.Args[1] != 0 {
			writeU32(mem, c.Args[1], 0)
		}
		g.resume = intercept.Emulate(0)
	case unix.SYS_RSEQ:
		// Restartable sequences let the kernel write the real CPU number
		// into guest memory at every preemption (glibc's sched_getcpu
		// reads it). Without rseq, glibc falls back to getcpu, above.
		g.resume = intercept.Emulate(intercept.Errno(unix.ENOSYS))
	case unix.SYS_SET_TID_ADDRESS:
		g.clearTID = c.Args[0]

	// Process ends: let the others run first; then the process dies.
	case unix.SYS_EXIT_GROUP:
		g.resume = intercept.Continue()
		g.exitGroup = true

	// Blocking waits on other guest threads, made non-blocking.
	case unix.SYS_WAIT4:
		if c.Args[2]&unix.WNOHANG == 0 {
			c.Args[2] |= unix.WNOHANG
			g.resume = intercept.TraceExit()
		}
	case unix.SYS_WAITID:
		if c.Args[3]&unix.WNOHANG == 0 {
			c.Args[3] |= unix.WNOHANG
			g.resume = intercept.TraceExit()
		}
	case unix.SYS_POLL, unix.SYS_PPOLL, unix.SYS_SELECT, unix.SYS_PSELECT6,
		unix.SYS_EPOLL_WAIT, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2:
		s.pollLike(g, c)
	case unix.SYS_OPEN, unix.SYS_OPENAT:
		path := c.Args[0]
		if c.Nr == unix.SYS_OPENAT {
			path = c.Args[1]
		}
		if p, _, _ := mem.ReadString(path, 32); p == "/dev/urandom" || p == "/dev/random" {
			g.resume = intercept.TraceExit() // learn the fd at the exit
		}
	case unix.SYS_CLOSE:
		delete(s.randomFDs, randomFD{g.pid, int(c.Args[0])})
	case unix.SYS_READ:
		if s.randomFDs[randomFD{g.pid, int(c.Args[0])}] {
			// Reads of /dev/urandom come from the run's seed.
			n := min(c.Args[2], 1<<20)
			buf := make([]byte, n)
			g.rng.Read(buf)
			if _, err := mem.WriteAt(buf, int64(c.Args[1])); err != nil {
				g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
			} else {
				g.resume = intercept.Emulate(int64(n))
			}
			return
		}
		s.waitFD(g, int(c.Args[0]), unix.POLLIN)
	case unix.SYS_READV, unix.SYS_RECVFROM, unix.SYS_RECVMSG,
		unix.SYS_ACCEPT, unix.SYS_ACCEPT4:
		s.waitFD(g, int(c.Args[0]), unix.POLLIN)
	case unix.SYS_WRITE, unix.SYS_WRITEV, unix.SYS_SENDTO, unix.SYS_SENDMSG:
		s.waitFD(g, int(c.Args[0]), unix.POLLOUT)
	}
}

// clockNow reads a virtual clock.
func (s *Scheduler) clockNow(clock int) int64 {
	switch clock {
	case unix.CLOCK_REALTIME, unix.CLOCK_REALTIME_COARSE, unix.CLOCK_TAI:
		return s.now - monoBase + realBase
	case unix.CLOCK_PROCESS_CPUTIME_ID, unix.CLOCK_THREAD_CPUTIME_ID:
		return s.now - monoBase
	}
	return s.now
}

// sleepUntil blocks g until a virtual deadline.
func (s *Scheduler) sleepUntil(g *gthread, when int64) {
	g.resume = intercept.Emulate(0)
	if when <= s.now {
		return
	}
	s.block(g, blkSleep)
	s.addTimer(g, when)
}

// pollLike makes poll/select/epoll_wait non-blocking: the call runs with a
// zero timeout; if nothing is ready it is retried after other threads ran,
// or when its virtual deadline passes (see syscallExit).
func (s *Scheduler) pollLike(g *gthread, c *intercept.Syscall) {
	mem := g.t.Memory()
	var timeout int64 = -1  // ns; -1 = forever
	zero := c.SP - 128 - 32 // a zeroed timespec/timeval below the red zone
	switch c.Nr {
	case unix.SYS_POLL, unix.SYS_EPOLL_WAIT, unix.SYS_EPOLL_PWAIT:
		idx := 2
		if c.Nr != unix.SYS_POLL {
			idx = 3
		}
		if ms := int32(c.Args[idx]); ms >= 0 {
			timeout = int64(ms) * 1e6
		}
		c.Args[idx] = 0
	case unix.SYS_PPOLL, unix.SYS_PSELECT6, unix.SYS_EPOLL_PWAIT2, unix.SYS_SELECT:
		idx := map[int]int{unix.SYS_PPOLL: 2, unix.SYS_PSELECT6: 4, unix.SYS_EPOLL_PWAIT2: 3, unix.SYS_SELECT: 4}[c.Nr]
		if p := c.Args[idx]; p != 0 {
			d, err := readTimespec(mem, p)
			if err != nil {
				return
			}
			if c.Nr == unix.SYS_SELECT { // struct timeval
				d = d/1e9*1e9 + d%1e9*1000
			}
			timeout = d
		}
		var z [16]byte
		if _, err := mem.WriteAt(z[:], int64(zero)); err != nil {
			return
		}
		c.Args[idx] = zero
	}
	if timeout == 0 {
		c.Args = c.OrigArgs()
		return // already non-blocking
	}
	if !g.retrying {
		g.deadline = -1
		if timeout > 0 {
			g.deadline = s.now + timeout
		}
	}
	g.retrying = false
	g.resume = intercept.TraceExit()
	g.pollCall = true
}

// waitFD blocks g until fd is ready for events, unless it is ready now or
// non-blocking. Readiness is checked on a duplicate of the guest's fd.
func (s *Scheduler) waitFD(g *gthread, fd int, events int16) {
	ready, ok := s.fdReady(g.pid, fd, events)
	if !ok || ready {
		return
	}
	s.block(g, blkFD)
	g.fd, g.events = fd, events
}

// fdReady polls a duplicate of the guest's fd without blocking. ok is false
// if the fd cannot be checked (then the call just runs).
func (s *Scheduler) fdReady(pid, fd int, events int16) (ready, ok bool) {
	dup, ok := s.dupFD(pid, fd)
	if !ok {
		return false, false
	}
	defer unix.Close(dup)
	fl, err := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK != 0 {
		return false, false
	}
	// Regular files (and memfds, where explore captures output) always
	// poll ready: no fstat needed to tell them apart.
	pfd := []unix.PollFd{{Fd: int32(dup), Events: events}}
	n, err := unix.Poll(pfd, 0)
	if err != nil {
		return false, false
	}
	return n > 0, true
}

// dupFD duplicates a guest process's fd into the tracer (pidfd_getfd);
// the caller closes it.
func (s *Scheduler) dupFD(pid, fd int) (int, bool) {
	pidfd, have := s.pidfds[pid]
	if !have {
		var err error
		pidfd, err = unix.PidfdOpen(pid, 0)
		if err != nil {
			return -1, false
		}
		s.pidfds[pid] = pidfd
	}
	dup, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return -1, false
	}
	return dup, true
}

// pollFDs wakes fd waiters whose fd became ready and retries pollers, now
// that another thread has run.
func (s *Scheduler) pollFDs() {
	for _, g := range s.threads {
		if g.state != stBlocked {
			continue
		}
		switch g.block {
		case blkFD:
			if ready, ok := s.fdReady(g.pid, g.fd, g.events); ready || !ok {
				s.wake(g, intercept.Continue())
			}
		case blkRetry:
			if s.epoch > g.epoch+1 && !g.sig.ready {
				s.retryPoll(g)
			}
		}
	}
}

func (s *Scheduler) retryPoll(g *gthread) {
	s.retry(g)
	g.retrying = true
}

// syscallExit handles the exits of calls made non-blocking.
func (s *Scheduler) syscallExit(g *gthread, c *intercept.Syscall, ret int64) int64 {
	if g == nil || g != s.running {
		return ret
	}
	if g.mapping {
		g.mapping = false
		if ret >= 0 || ret < -4095 {
			s.refreshImages(g.t.Proc)
		}
		return ret
	}
	wouldBlock := false
	switch c.Nr {
	case unix.SYS_OPEN, unix.SYS_OPENAT:
		if ret >= 0 {
			s.randomFDs[randomFD{g.pid, int(ret)}] = true
		}
		return ret
	case unix.SYS_WAIT4:
		wouldBlock = ret == 0
	case unix.SYS_WAITID:
		if ret == 0 {
			signo, err := readU32(g.t.Memory(), c.Args[2])
			wouldBlock = err == nil && signo == 0
		}
	default:
		if g.pollCall {
			g.pollCall = false
			wouldBlock = ret == 0 && (g.deadline < 0 || s.now < g.deadline)
		}
	}
	if !wouldBlock {
		return ret
	}
	g.t.Hold()
	s.running = nil
	if c.Nr == unix.SYS_WAIT4 || c.Nr == unix.SYS_WAITID {
		s.block(g, blkChild)
	} else {
		s.block(g, blkRetry)
		g.epoch = s.epoch
		if g.deadline >= 0 {
			s.addTimer(g, g.deadline)
		}
	}
	s.schedule(g)
	return ret
}

// emulateRDTSC answers a trapped rdtsc/rdtscp with a virtual counter.
func (s *Scheduler) emulateRDTSC(t *intercept.Thread) bool {
	regs, err := t.Regs()
	if err != nil {
		return false
	}
	n, ok := t.RDTSC(&regs)
	if !ok {
		return false
	}
	s.tsc += 1000
	tsc := uint64(s.now-monoBase)*3 + s.tsc // a 3 GHz counter, strictly increasing
	regs.Rax = tsc & 0xffffffff
	regs.Rdx = tsc >> 32
	if n == 3 {
		regs.Rcx = 0 // rdtscp: processor id
	}
	regs.Rip += uint64(n)
	return t.SetRegs(&regs) == nil
}

// waitExternal is called when no thread can run and no timer is pending.
// If threads wait on fds, their input can only come from outside the
// guest (a terminal, a network peer): wait for it for real, in wall-clock
// time, and mark the run as depending on external input. It reports
// whether a waiter became runnable.
func (s *Scheduler) waitExternal() bool {
	var waiters []*gthread
	var pfds []unix.PollFd
	defer func() {
		for _, p := range pfds {
			unix.Close(int(p.Fd))
		}
	}()
	for _, g := range s.threads {
		if g.state != stBlocked || g.block != blkFD || s.dying[g.pid] {
			continue
		}
		dup, ok := s.dupFD(g.pid, g.fd)
		if !ok {
			continue
		}
		waiters = append(waiters, g)
		pfds = append(pfds, unix.PollFd{Fd: int32(dup), Events: g.events})
	}
	if len(waiters) == 0 {
		return false
	}
	s.note("depends on external input (a thread waited for input from outside the guest)")
	for {
		select {
		case <-s.cfg.Done:
			return false
		default:
		}
		n, err := unix.Poll(pfds, 100)
		if n == 0 && s.externalSignals() {
			return true
		}
		if err == unix.EINTR || n == 0 {
			continue
		}
		if err != nil {
			return false
		}
		woke := false
		for i, p := range pfds {
			if p.Revents != 0 {
				s.wake(waiters[i], intercept.Continue())
				woke = true
			}
		}
		return woke
	}
}

// randomFD is an fd of a guest process open on /dev/urandom or /dev/random.
type randomFD struct{ pid, fd int }
