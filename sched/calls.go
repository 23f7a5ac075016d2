package sched

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// syscall applies the deterministic model of the call g is entering: it
// sets g.resume (how g continues when picked) or blocks g.
func (s *Scheduler) syscall(g *gthread, c *intercept.Syscall) {
	if c.Arch == syscalls.I386 {
		s.syscall386(g, c)
		return
	}
	if c.Arch != syscalls.X86_64 {
		return
	}
	if remaps(c.Nr) {
		delete(s.maps, g.pid)
		g.remapped = true
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
	// The first model that knows the call applies it; a call none knows
	// runs as it is.
	switch {
	case s.futexCall(g, c), s.timeCall(g, c), s.inputCall(g, c),
		s.exitCall(g, c), s.waitCall(g, c), s.refusedCall(g, c):
	}
}

// futexCall models the futex family (futex.go): futex(2) is emulated,
// the newer calls end the run as Unsupported. It reports whether c was
// one of them.
func (s *Scheduler) futexCall(g *gthread, c *intercept.Syscall) bool {
	switch c.Nr {
	case unix.SYS_FUTEX:
		s.futex(g, futexCall{args: c.Args})
	case unix.SYS_FUTEX_WAITV, 454, 455, 456: // futex_waitv, futex_wake/wait/requeue
		s.end(Unsupported, fmt.Sprintf("unsupported: %s is not emulated", g.at))
	default:
		return false
	}
	return true
}

// timeCall models the calls that read or wait on the clocks: virtual
// time. It reports whether c was one of them.
func (s *Scheduler) timeCall(g *gthread, c *intercept.Syscall) bool {
	mem := g.t.Memory()
	switch c.Nr {
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
			return true
		}
		s.sleepUntil(g, s.now+d)
	case unix.SYS_CLOCK_NANOSLEEP:
		d, err := readTimespec(mem, c.Args[2])
		if err != nil {
			g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
			return true
		}
		if c.Args[1]&1 != 0 { // TIMER_ABSTIME
			s.sleepUntil(g, d-s.clockNow(int(c.Args[0]))+s.now)
		} else {
			s.sleepUntil(g, s.now+d)
		}
	default:
		return false
	}
	return true
}

// inputCall models the calls whose results are inputs from the machine
// (randomness, CPUs, rseq): virtual inputs. It reports whether c was one
// of them.
func (s *Scheduler) inputCall(g *gthread, c *intercept.Syscall) bool {
	mem := g.t.Memory()
	switch c.Nr {
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
			return true
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
	default:
		return false
	}
	return true
}

// exitCall models process ends: exit_group lets the others run first;
// then the process dies. It reports whether c was exit_group.
func (s *Scheduler) exitCall(g *gthread, c *intercept.Syscall) bool {
	switch c.Nr {
	case unix.SYS_EXIT_GROUP:
		g.resume = intercept.Continue()
		g.exitGroup = true
	default:
		return false
	}
	return true
}

// waitCall models the blocking waits on other guest threads, made
// non-blocking (io.go, fifo.go). It reports whether c was one of them.
func (s *Scheduler) waitCall(g *gthread, c *intercept.Syscall) bool {
	mem := g.t.Memory()
	switch c.Nr {
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
		s.openCall(g, c)
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
			return true
		}
		if c.Args[2] != 0 { // a read of nothing returns at once
			s.waitFD(g, int(c.Args[0]), unix.POLLIN)
		}
	case unix.SYS_READV, unix.SYS_ACCEPT, unix.SYS_ACCEPT4:
		s.waitFD(g, int(c.Args[0]), unix.POLLIN)
	case unix.SYS_RECVFROM, unix.SYS_RECVMSG:
		flags := c.Args[3]
		if c.Nr == unix.SYS_RECVMSG {
			flags = c.Args[2]
		}
		empty := c.Nr == unix.SYS_RECVFROM && c.Args[2] == 0
		if flags&unix.MSG_DONTWAIT == 0 && !empty && !s.beginRecvAll(g, c) {
			s.waitFD(g, int(c.Args[0]), unix.POLLIN)
		}
	case unix.SYS_WRITE, unix.SYS_WRITEV, unix.SYS_SENDTO, unix.SYS_SENDMSG:
		if !s.beginWrite(g, c) {
			s.waitFD(g, int(c.Args[0]), unix.POLLOUT)
		}
	case unix.SYS_SENDMMSG, unix.SYS_RECVMMSG:
		s.beginMmsg(g, c)
	case unix.SYS_SENDFILE:
		s.beginSendfile(g, c)
	case unix.SYS_SPLICE, unix.SYS_TEE:
		s.beginSplice(g, c)
	case unix.SYS_CONNECT:
		s.beginConnect(g, c)
	case unix.SYS_FLOCK, unix.SYS_FCNTL:
		s.beginLock(g, c)
	case unix.SYS_MSGSND, unix.SYS_MSGRCV, unix.SYS_SEMOP, unix.SYS_SEMTIMEDOP:
		s.beginSysV(g, c)
	case unix.SYS_MQ_TIMEDSEND, unix.SYS_MQ_TIMEDRECEIVE:
		s.beginMq(g, c)
	default:
		return false
	}
	return true
}

// refusedCall fails the calls the scheduler cannot serialize with ENOSYS.
// io_uring performs reads, writes and futex waits asynchronously, in the
// kernel: nothing the scheduler could serialize. Refused as sandboxes
// refuse it; programs fall back to plain syscalls. It reports whether c
// was one of them.
func (s *Scheduler) refusedCall(g *gthread, c *intercept.Syscall) bool {
	switch c.Nr {
	case unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER:
		g.resume = intercept.Emulate(intercept.Errno(unix.ENOSYS))
	default:
		return false
	}
	return true
}

// clockNow reads a virtual clock.
func (s *Scheduler) clockNow(clock int) int64 {
	switch clock {
	case unix.CLOCK_REALTIME, unix.CLOCK_REALTIME_COARSE, unix.CLOCK_TAI:
		return s.now - monoBase + s.realBase
	case unix.CLOCK_PROCESS_CPUTIME_ID, unix.CLOCK_THREAD_CPUTIME_ID:
		return s.now - monoBase
	}
	return s.now
}

// timerSlack is the default timer_slack_ns of a Linux task: its sleeps
// and futex timeouts expire that much after their deadline (an hrtimer
// with that range, on an idle machine), never before it.
const timerSlack = 50_000

// sleepUntil blocks g until a virtual deadline.
func (s *Scheduler) sleepUntil(g *gthread, when int64) {
	g.resume = intercept.Emulate(0)
	if when <= s.now {
		return
	}
	s.block(g, blkSleep)
	s.addTimer(g, when+timerSlack)
}

// pollLike makes poll/select/epoll_wait non-blocking: the call runs with a
// zero timeout; if nothing is ready it is retried after other threads ran,
// or when its virtual deadline passes (see syscallExit).
func (s *Scheduler) pollLike(g *gthread, c *intercept.Syscall) {
	mem := g.t.Memory()
	if g.pollReal {
		// Let go to wait for real: only the outside can make it ready.
		g.pollReal = false
		if g.retrying {
			restoreFDSets(mem, c, g.fdSets)
		}
		g.retrying = false
		return
	}
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
		g.deadline, g.expiry = -1, -1
		if timeout > 0 {
			g.deadline = s.now + timeout
			g.expiry = g.deadline + pollSlack(timeout)
		}
		g.fdSets = saveFDSets(mem, c)
	} else {
		restoreFDSets(mem, c, g.fdSets)
	}
	g.retrying = false
	g.resume = intercept.TraceExit()
	g.pollCall = true
}

// saveFDSets copies the fd sets of a select or pselect6, which each
// zero-timeout try overwrites with its (empty) result: a retry must ask
// about the guest's sets again.
func saveFDSets(mem *intercept.Memory, c *intercept.Syscall) (sets [3][]byte) {
	if c.Nr != unix.SYS_SELECT && c.Nr != unix.SYS_PSELECT6 {
		return sets
	}
	n := int(int32(c.Args[0]))
	if n <= 0 || n > 1<<16 {
		return sets
	}
	size := (n + 63) / 64 * 8
	for i := range sets {
		if p := c.Args[1+i]; p != 0 {
			b := make([]byte, size)
			if _, err := mem.ReadAt(b, int64(p)); err == nil {
				sets[i] = b
			}
		}
	}
	return sets
}

func restoreFDSets(mem *intercept.Memory, c *intercept.Syscall, sets [3][]byte) {
	for i, b := range sets {
		if b != nil && (c.Nr == unix.SYS_SELECT || c.Nr == unix.SYS_PSELECT6) {
			mem.WriteAt(b, int64(c.Args[1+i]))
		}
	}
}

// waitFD blocks g until fd is ready for events, unless it is ready now or
// non-blocking. Readiness is checked on a duplicate of the guest's fd.
//
// A thread whose fd is ready stays runnable, but its fd is checked again
// at every point until it runs (pollFDs): another thread may drain it
// first, and then it waits.
func (s *Scheduler) waitFD(g *gthread, fd int, events int16) {
	ready, ok := s.fdReady(g.pid, fd, events)
	if !ok {
		return
	}
	g.fd, g.events = fd, events
	if ready {
		g.recheck = true
		return
	}
	s.block(g, blkFD)
}

// waiterReady checks the readiness of the fd a thread waits for, on a
// duplicate kept while it waits. ok is false if it cannot be checked.
func (s *Scheduler) waiterReady(g *gthread) (ready, ok bool) {
	if g.fdDup < 0 {
		dup, ok := s.dupFD(g.pid, g.fd)
		if !ok {
			return false, false
		}
		g.fdDup = dup
	}
	pfd := []unix.PollFd{{Fd: int32(g.fdDup), Events: g.events}}
	n, err := unix.Poll(pfd, 0)
	if err != nil {
		return false, false
	}
	return n > 0, true
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
// that another thread has run; a thread woken by its fd that has not run
// yet waits again if the fd is no longer ready (another reader drained
// it), so a call released as ready never blocks in the kernel.
func (s *Scheduler) pollFDs() {
	for _, g := range s.threads {
		switch {
		case g.state == stRunnable && g.recheck:
			if ready, ok := s.waiterReady(g); ok && !ready {
				g.state = stBlocked
				g.block = blkFD
			}
		case g.state != stBlocked:
		case g.block == blkFD:
			if ready, ok := s.waiterReady(g); ready || !ok {
				s.wakeFD(g)
			}
		case g.block == blkRetry:
			// A thread a signal is about to interrupt is not retried.
			if s.epoch > g.epoch && !g.sig.ready {
				if g.io != nil || g.fifo != nil {
					s.retry(g)
				} else {
					s.retryPoll(g)
				}
			}
		}
	}
}

// wakeFD wakes a thread whose fd became ready: a call held at its entry
// runs (its readiness checked again until then), one held at its exit is
// re-issued.
func (s *Scheduler) wakeFD(g *gthread) {
	if g.atExit {
		s.retry(g)
		return
	}
	dup := g.fdDup
	g.fdDup = -1 // kept for the rechecks
	s.wake(g, intercept.Continue())
	g.fdDup = dup
	g.recheck = true
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
			if lo, n, ok := madeExecutable(c, ret); ok {
				s.checkCode(g, lo, lo+n)
			}
		}
		return ret
	}
	if x := g.io; x != nil && x.running {
		return s.pieceExit(g, ret)
	}
	wouldBlock := false
	switch c.Nr {
	case unix.SYS_OPEN, unix.SYS_OPENAT:
		if g.fifo != nil {
			return s.fifoExit(g, ret)
		}
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
			wouldBlock = ret == 0 && (g.expiry < 0 || s.now < g.expiry)
			if !wouldBlock {
				s.pollRemaining(g, c)
			}
		}
	}
	if !wouldBlock {
		return ret
	}
	if c.Nr == unix.SYS_WAIT4 || c.Nr == unix.SYS_WAITID {
		s.holdAtExit(g, blkChild)
	} else {
		// Since its release the thread only ran this call, which
		// found nothing ready and changed no fd (see schedule).
		s.quiet = true
		s.holdAtExit(g, blkRetry)
		if g.expiry >= 0 {
			s.addTimer(g, g.expiry)
		}
	}
	s.schedule(g)
	return ret
}

// pollSlack is the timer slack Linux gives a poll, select or epoll
// timeout of a normal task (select_estimate_accuracy): a thousandth of
// it, at least the default timer_slack_ns of 50µs, at most 100ms. The
// timeout expires then, as an hrtimer with that range does on an idle
// machine: never before the timeout.
func pollSlack(timeout int64) int64 {
	return min(max(timeout/1000, 50_000), 100_000_000)
}

// pollRemaining writes back the time left of a timed select, pselect6 or
// ppoll as Linux does (poll_select_finish), in virtual time: the call
// ran with a zero timeout of the tracer's.
func (s *Scheduler) pollRemaining(g *gthread, c *intercept.Syscall) {
	idx := map[int]int{unix.SYS_SELECT: 4, unix.SYS_PSELECT6: 4, unix.SYS_PPOLL: 2}
	i, ok := idx[c.Nr]
	if !ok || g.deadline < 0 {
		return
	}
	p := c.OrigArgs()[i]
	if p == 0 {
		return
	}
	left := max(g.deadline-s.now, 0)
	if c.Nr == unix.SYS_SELECT {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:8], uint64(left/1e9))
		binary.LittleEndian.PutUint64(b[8:], uint64(left%1e9/1000))
		g.t.Memory().WriteAt(b[:], int64(p))
		return
	}
	writeTimespec(g.t.Memory(), p, left)
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
	s.virtualTSC(&regs, n)
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
	const external = "depends on external input (a thread waited for input from outside the guest)"
	readers, released := s.fifoExternal()
	if released {
		s.note(external)
		return true
	}
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
	for _, g := range readers {
		if dup, ok := s.dupFD(g.pid, g.fifo.fd); ok {
			waiters = append(waiters, g)
			pfds = append(pfds, unix.PollFd{Fd: int32(dup), Events: unix.POLLIN})
		}
	}
	if len(waiters) == 0 {
		// An untimed poll of fds no guest thread can make ready: let
		// the first poller wait for real (it is the only thread that
		// could run anyway), unless only the guest could fill its fds
		// (external.go).
		for _, g := range s.threads {
			if g.state == stBlocked && g.block == blkRetry && g.io == nil && g.fifo == nil && !s.dying[g.pid] {
				if s.pollInternal(g) {
					continue // only the guest could fill it: no input will come
				}
				s.note(external)
				s.retryPoll(g)
				g.pollReal = true
				return true
			}
		}
		return false
	}
	s.note(external)
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
			if p.Revents == 0 {
				continue
			}
			if g := waiters[i]; g.block == blkFifo {
				g.fifo = nil
				s.wake(g, intercept.Continue())
			} else {
				s.wakeFD(g)
			}
			woke = true
		}
		return woke
	}
}

// randomFD is an fd of a guest process open on /dev/urandom or /dev/random.
type randomFD struct{ pid, fd int }
