package sched

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// Subscription implements intercept.Tool: every syscall is a scheduling
// point.
func (s *Scheduler) Subscription() intercept.Subscription { return intercept.SubscribeAll() }

// ThreadStart implements intercept.Tool: thread creation is a scheduling
// point for the creator and the new thread.
func (s *Scheduler) ThreadStart(t *intercept.Thread, parent *intercept.Thread) {
	s.tr = t.Tracer()
	s.startDog()
	g := &gthread{t: t, vtid: len(s.threads), pid: t.Proc.Pid, clearTID: t.ClearTID, resume: intercept.Continue(), fdDup: -1}
	g.rng = s.threadRand(g.vtid)
	g.parent = -1
	if parent != nil {
		if pg := s.g(parent); pg != nil {
			g.parent, g.born = pg.vtid, pg.at
		}
	}
	s.setPoint(g, PointStart, "start", 0)
	s.threads = append(s.threads, g)
	t.State = g
	t.Hold()
	if parent == nil {
		if s.pts != nil {
			s.startImage(t.Proc)
		}
		s.schedule(g)
		return
	}
	pg := s.g(parent)
	parent.Hold()
	if pg == s.running {
		s.running = nil
		pg.state = stRunnable
		pg.resume = intercept.Continue()
	}
	if t.CloneFlags&unix.CLONE_VFORK != 0 {
		pg.state = stBlocked
		pg.block = blkVfork
		pg.vforkChild = g.vtid
	}
	s.schedule(pg)
}

// SyscallEnter implements intercept.Tool: every syscall entry is a
// scheduling point.
func (s *Scheduler) SyscallEnter(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
	g := s.g(t)
	if s.ended {
		return intercept.Continue()
	}
	if g != s.running {
		return s.stray(g)
	}
	if (g.io != nil || g.ioAside != nil) && s.pieceEntry(g, c) {
		return intercept.TraceExit()
	}
	if a, ok := s.signalEnter(g, c); ok {
		return a
	}
	s.from, s.waker = g, g
	g.t.Hold()
	s.running = nil
	g.state = stRunnable
	g.resume = intercept.Continue()
	quiet := g.retrying || releasedInUserCode(g.pk) // a re-issued poll, or user code ran
	s.setPoint(g, PointSyscall, syscallName(c), 0)
	s.syscall(g, c)
	if s.cfg.Observer != nil {
		s.observe(g, c)
	}
	s.quiet = quiet
	s.schedule(g)
	return intercept.Hold()
}

// stray handles a point reached by a thread the scheduler did not
// release (e.g. woken by SIGCONT): hold it and carry on, noting it.
func (s *Scheduler) stray(g *gthread) intercept.Action {
	s.note(fmt.Sprintf("thread %d ran outside the schedule", g.vtid))
	g.t.Hold()
	g.state = stRunnable
	g.resume = intercept.Continue()
	return intercept.Hold()
}

func syscallName(c *intercept.Syscall) string {
	if c.Arch != syscalls.X86_64 {
		return c.Arch.String() + "_" + strconv.Itoa(c.Nr)
	}
	return syscalls.Name(c.Nr)
}

// SyscallExit implements intercept.Tool, for calls made non-blocking.
func (s *Scheduler) SyscallExit(t *intercept.Thread, c *intercept.Syscall, ret int64) int64 {
	g := s.g(t)
	if g != nil && g.observed != obsNone && s.observedExit(g, c, ret) {
		return ret
	}
	return s.syscallExit(g, c, ret)
}

// Signal implements intercept.Tool.
func (s *Scheduler) Signal(t *intercept.Thread, sig unix.Signal, info *unix.Siginfo) unix.Signal {
	g := s.g(t)
	if intercept.IsOwnStop(sig, info) {
		// The watchdog's timer stopped g. A SIGSTOP sent for an earlier
		// release of g is stale: g reached a point since.
		if g != nil && g == s.running && !s.ended && s.dog.caughtNow() {
			s.caught(g)
		}
		return 0
	}
	if sig == unix.SIGSEGV && info.Code == 0x80 /* SI_KERNEL */ {
		if s.emulateRDTSC(t) {
			return 0
		}
	}
	s.signalDelivered(g, sig, info)
	if g != nil && willKill(t.Tid, sig) {
		s.dying[g.pid] = true
		s.setEnder(g)
	}
	return sig
}

// willKill reports whether delivering sig to tid terminates its process:
// its default action is to terminate and it is neither caught nor ignored.
func willKill(tid int, sig unix.Signal) bool {
	switch sig {
	case unix.SIGKILL:
		return true
	case unix.SIGCHLD, unix.SIGCONT, unix.SIGURG, unix.SIGWINCH,
		unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return false
	}
	bit := uint64(1) << (uint(sig) - 1)
	for _, line := range strings.Split(string(b), "\n") {
		for _, key := range []string{"SigCgt:", "SigIgn:"} {
			if v, ok := strings.CutPrefix(line, key); ok {
				mask, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				if mask&bit != 0 {
					return false
				}
			}
		}
	}
	return true
}

// ProcessStart implements intercept.Tool: a forked child inherits its
// parent's /dev/urandom fds.
func (s *Scheduler) ProcessStart(p *intercept.Process, parent *intercept.Process) {
	s.startDog()
	s.dog.process(p.Pid, false)
	if parent == nil {
		return
	}
	if s.pts != nil {
		s.forkPoints(p, parent)
	}
	s.forkSignals(p.Pid, parent.Pid)
	var inherited []randomFD
	for k := range s.randomFDs {
		if k.pid == parent.Pid {
			inherited = append(inherited, randomFD{p.Pid, k.fd})
		}
	}
	for _, k := range inherited {
		s.randomFDs[k] = true
	}
}

// Exec implements intercept.Tool: a vfork parent may run again.
func (s *Scheduler) Exec(t *intercept.Thread, former int) {
	if s.pts != nil {
		s.startImage(t.Proc)
	}
	if g := s.g(t); g != nil {
		s.execSignals(g)
	}
	s.releaseVfork(s.g(t))
}

func (s *Scheduler) releaseVfork(child *gthread) {
	if child == nil {
		return
	}
	for _, p := range s.threads {
		if p.state == stBlocked && p.block == blkVfork && p.vforkChild == child.vtid {
			s.wake(p, intercept.Continue())
		}
	}
}

// ThreadExit implements intercept.Tool: a thread's exit is a point where
// the others run, once its death can no longer race with them.
func (s *Scheduler) ThreadExit(t *intercept.Thread, status int) {
	g := s.g(t)
	if g == nil || g.state == stExited {
		return
	}
	if s.cancelled() {
		s.snapshot()
	}
	wasRunning := g == s.running
	s.unblock(g)
	s.dropTransfer(g)
	g.state = stExited
	s.pendingChanged(g) // it may have been the thread a pending signal was for
	if !wasRunning {
		return
	}
	live := 0
	for _, o := range s.threads {
		if o.pid == g.pid && o.state != stExited {
			live++
		}
	}
	switch {
	case s.dying[g.pid] || live == 0:
		g.exitAt = exitAtProcess
	case t.Tid == t.Proc.Pid:
		// A leader exiting alone stays a zombie until the others are
		// gone: nothing more to wait for.
		s.running = nil
		s.wakeFutex(s.futexKeyOf(g, g.clearTID, false), -1, ^uint32(0))
		s.schedule(g)
	default:
		g.exitAt = exitAtReap
	}
}

// ThreadReaped implements intercept.Tool: the kernel has cleared the
// thread's CLONE_CHILD_CLEARTID word; wake its emulated joiners.
func (s *Scheduler) ThreadReaped(t *intercept.Thread, ws unix.WaitStatus) {
	g := s.g(t)
	if g == nil {
		return
	}
	if s.cancelled() {
		s.snapshot()
	}
	if g.state != stExited {
		s.unblock(g)
		s.dropTransfer(g)
		g.state = stExited
	}
	if g.clearTID != 0 {
		s.wakeFutex(s.futexKeyOf(g, g.clearTID, false), -1, ^uint32(0))
	}
	s.releaseVfork(g)
	if g == s.running && g.exitAt == exitAtReap {
		s.running = nil
		s.schedule(g)
	}
}

// ProcessExit implements intercept.Tool: parents waiting for a child may
// retry, and a dead running process lets the others run.
func (s *Scheduler) ProcessExit(p *intercept.Process, ws unix.WaitStatus) {
	s.dog.process(p.Pid, true)
	s.epoch++ // its fds closed (a pipe's last writer: POLLHUP): pollers retry
	if s.pts != nil {
		delete(s.pts.procs, p.Pid)
	}
	for k := range s.randomFDs {
		if k.pid == p.Pid {
			delete(s.randomFDs, k)
		}
	}
	delete(s.maps, p.Pid)
	if fd, ok := s.pidfds[p.Pid]; ok {
		unix.Close(fd)
		delete(s.pidfds, p.Pid)
	}
	for _, g := range s.threads {
		if g.state == stBlocked && g.block == blkChild {
			s.retry(g)
		}
	}
	s.processExited(p)
	if g := s.running; g != nil && g.pid == p.Pid {
		// The running process died (a fatal signal, or its last thread
		// exited): the others run on. The point is named after the
		// thread, not the pid, which differs from run to run.
		s.running = nil
		s.setPoint(g, PointExit, "exit", 0)
		s.schedule(g)
	}
}
