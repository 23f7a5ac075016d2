package sched

import (
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// Signals. A ptrace-stopped thread does not wake for a signal: the signal
// stays pending until the tracer resumes the thread, and is delivered on
// its way back to user mode (a signal-delivery-stop, Tool.Signal). A guest
// thread blocked in one of the scheduler's waits is held at a stop, so a
// signal must be made to interrupt the wait: the scheduler notices that a
// signal is deliverable to the thread and makes the thread pickable; when
// a pick chooses it, it is resumed so that its call ends as the kernel
// ends an interrupted call (intercept.Interrupt with the call's own
// ERESTART code), and the kernel delivers the signal and applies its own
// rules: the handler runs and the call fails with EINTR or restarts
// (SA_RESTART), the call restarts when no handler runs, a stop signal
// stops the process, a fatal one kills it. pause, sigsuspend,
// sigtimedwait and reads of a signalfd run for real instead, once they
// are known to return at once (their temporary masks are the kernel's to
// apply). The scheduler therefore never needs to know SA_RESTART, nor
// which handlers are installed, beyond what /proc shows.
//
// The signal state of a process (pending signals, each thread's blocked
// mask, ignored and caught signals) is read from /proc/TID/status, and
// only when it may have changed for a thread that waits: after a guest
// thread sent a signal (kill, tgkill, tkill, rt_[tg]sigqueueinfo,
// pidfd_send_signal; read after the call ran, at the sender's next
// point), after a timer of ours fired, when a child exited or stopped
// (SIGCHLD), when a thread blocks in a wait with its own mask, and, in a
// process whose last read found signals pending, after a thread took one
// (a signal-delivery-stop, sigtimedwait, a read of a signalfd), changed
// its mask or a handler (rt_sigprocmask, rt_sigaction, rt_sigreturn,
// execve) or exited. A read costs 15-50 µs on the test VM; a dash
// running a background job makes 2, coreutils timeout 4.
//
// Which thread takes a process-directed signal follows the kernel's
// complete_signal: the main thread if it does not block the signal, else
// the first other thread (in creation order) that does not; if that
// thread waits, it is interrupted. A runnable thread that does not block
// the signal and runs first takes it instead (a traced thread resumed
// from a stop takes any pending signal it does not block). Signals
// ignored by the process (SIG_IGN, or a default action of ignore) never
// interrupt a wait: the kernel would have discarded them (it queues them
// only because the guest is traced).
//
// Whether a deliverable signal interrupts a waiting thread "now" or later
// is the strategy's choice like any pick; a thread's deadline that passes
// while a signal is deliverable to it does not end its wait first. A
// signal from outside the guest is noticed when no thread can run, or
// while the guest waits for external input; the run is then marked
// nondeterministic.
//
// Where the model differs from the kernel: a timed poll(2) restarted
// because no handler ran (a stop signal, then SIGCONT) starts its whole
// timeout again (the kernel resumes it from its restart_block, as the
// scheduler does for nanosleep and timed futex waits); reads and writes on
// sockets with SO_RCVTIMEO or SO_SNDTIMEO restart with SA_RESTART where
// the kernel fails them with EINTR; a signal the process ignored when it
// was sent (SIGCHLD at SIG_DFL) is queued only because the guest is
// traced, and if a handler is installed while it is still pending, it
// interrupts a wait that natively it would not have; a process-directed
// signal sent by a thread to its own process goes to the sender (which
// runs) rather than to a waiting main thread.

// sigBit is the bit of sig in a /proc signal mask.
func sigBit(sig unix.Signal) uint64 { return 1 << (uint(sig) - 1) }

var (
	sigKillStop = sigBit(unix.SIGKILL) | sigBit(unix.SIGSTOP)
	// defaultIgnored are the signals whose default action is to ignore
	// them (the kernel's sig_kernel_ignore).
	defaultIgnored = sigBit(unix.SIGCHLD) | sigBit(unix.SIGURG) | sigBit(unix.SIGWINCH) | sigBit(unix.SIGCONT)
)

// procSig is what the scheduler knows of one process's signals and
// timers. It is only looked up by pid, never iterated.
type procSig struct {
	dirty       bool // its waiting threads' signal state must be read again
	sent        bool // a signal was sent to it since the last read
	pendingSeen bool // the last read found signals pending
	stopped     bool // in a group-stop (SIGSTOP...) until SIGCONT
	signalfd    bool // it (or an ancestor it forked from) created a signalfd
	stamp       uint64
	timers      procTimers
}

// sigThread is a thread's part of the signal model.
type sigThread struct {
	// ready: the thread waits (blocked, or held at the exit of a call
	// it is to retry) and a signal is deliverable to it; a pick
	// interrupts its wait (see interrupt).
	ready bool
	// tempOnly: the signal is deliverable only under the mask the call
	// itself installs (ppoll, pselect6, epoll_pwait): the call is run
	// again as the guest made it, unscheduled (rerun).
	tempOnly, rerun bool
	// timedOut: its deadline passed while it was ready.
	timedOut bool
	// sendTo lists the processes its pending syscall sends a signal to
	// (-1: any), marked when it runs.
	sendTo []int
	// touches: its pending syscall may change which of its process's
	// pending signals are deliverable to whom (a mask, a handler, a
	// dequeue), looked at when it runs.
	touches bool
	// rblk is what a restart_syscall(2) of the call it was interrupted
	// in resumes (ERESTART_RESTARTBLOCK), until its next other syscall.
	rblk *restartBlock
	// sfdMask is the signal set of the signalfd it reads (blkSignalFD).
	sfdMask uint64
}

// restartBlock is the scheduler's restart_block: the virtual deadline of
// an interrupted sleep or timed futex wait, for its restart.
type restartBlock struct {
	futex    bool
	deadline int64
	rem      uint64 // nanosleep's rem, written again if interrupted again
	uaddr    uint64
	val      uint32
	key      futexKey
	bitset   uint32
}

// proc returns the signal state of process pid.
func (s *Scheduler) proc(pid int) *procSig {
	ps := s.procs[pid]
	if ps == nil {
		ps = &procSig{}
		s.procs[pid] = ps
	}
	return ps
}

// markDirty says that process pid's signal state may have changed.
func (s *Scheduler) markDirty(pid int) {
	s.proc(pid).dirty = true
	s.sigDirty = true
}

// markSent says a signal was sent to process pid (-1: to any process).
func (s *Scheduler) markSent(pid int) {
	if pid >= 0 {
		if s.procs[pid] == nil && !s.isGuestPid(pid) {
			return
		}
		ps := s.proc(pid)
		ps.dirty, ps.sent = true, true
		s.sigDirty = true
		return
	}
	for _, g := range s.threads {
		if g.state != stExited {
			s.markSent(g.pid)
		}
	}
}

func (s *Scheduler) isGuestPid(pid int) bool {
	for _, g := range s.threads {
		if g.pid == pid && g.state != stExited {
			return true
		}
	}
	return false
}

// ranSignals is called when g is released: what its pending syscall
// sends becomes visible at the next point, and so does what it changes of
// a process with pending signals (a mask, a handler, a dequeue).
func (s *Scheduler) ranSignals(g *gthread) {
	for _, pid := range g.sig.sendTo {
		s.markSent(pid)
	}
	g.sig.sendTo = g.sig.sendTo[:0]
	if g.sig.touches {
		g.sig.touches = false
		s.pendingChanged(g)
	}
}

// pendingChanged says that which of g's process's pending signals go to
// whom may have changed (g dequeued one, changed its mask or a handler, or
// exited).
func (s *Scheduler) pendingChanged(g *gthread) {
	if ps := s.procs[g.pid]; ps != nil && ps.pendingSeen {
		s.markDirty(g.pid)
	}
}

// signalEnter handles a syscall entry that is not a scheduling point: the
// re-execution of a call whose own mask lets a pending signal in.
func (s *Scheduler) signalEnter(g *gthread, c *intercept.Syscall) (intercept.Action, bool) {
	if c.Nr != unix.SYS_RESTART_SYSCALL || c.Arch != syscalls.X86_64 {
		g.sig.rblk = nil
	}
	if !g.sig.rerun {
		return intercept.Action{}, false
	}
	g.sig.rerun = false
	return intercept.Continue(), true
}

// signalCall applies the signal and timer model to g's syscall. It
// reports whether the call is settled (g.resume set or g blocked).
func (s *Scheduler) signalCall(g *gthread, c *intercept.Syscall) bool {
	switch c.Nr {
	case unix.SYS_KILL:
		if pid := int(int32(c.Args[0])); pid > 0 {
			g.sig.sendTo = append(g.sig.sendTo, s.pidOf(pid))
		} else {
			g.sig.sendTo = append(g.sig.sendTo, -1) // a process group, or all
		}
	case unix.SYS_TGKILL, unix.SYS_RT_SIGQUEUEINFO, unix.SYS_RT_TGSIGQUEUEINFO:
		g.sig.sendTo = append(g.sig.sendTo, s.pidOf(int(int32(c.Args[0]))))
	case unix.SYS_TKILL:
		g.sig.sendTo = append(g.sig.sendTo, s.pidOf(int(int32(c.Args[0]))))
	case unix.SYS_PIDFD_SEND_SIGNAL:
		g.sig.sendTo = append(g.sig.sendTo, -1)
	case unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGRETURN, unix.SYS_EXECVE, unix.SYS_EXECVEAT:
		g.sig.touches = true
	case unix.SYS_PAUSE, unix.SYS_RT_SIGSUSPEND, unix.SYS_RT_SIGTIMEDWAIT:
		g.sig.touches = true // it dequeues (sigtimedwait), or runs a handler
		s.waitSignal(g, c)
		return true
	case unix.SYS_SIGNALFD, unix.SYS_SIGNALFD4:
		s.proc(g.pid).signalfd = true
	case unix.SYS_READ, unix.SYS_READV:
		if ps := s.procs[g.pid]; ps != nil && ps.signalfd {
			return s.readSignalFD(g, int(c.Args[0]))
		}
	case unix.SYS_RESTART_SYSCALL:
		return s.restartSyscall(g)
	}
	return s.timerCall(g, c)
}

// pidOf is the process of thread or process id, or -1 if it is not a
// guest thread's (then every process is looked at).
func (s *Scheduler) pidOf(id int) int {
	for _, g := range s.threads {
		if g.state != stExited && (g.pid == id || g.t.Tid == id) {
			return g.pid
		}
	}
	// In a pid namespace of its own (a sandbox) the guest names
	// processes by their pids there.
	for _, g := range s.threads {
		if g.state != stExited && g.t.Proc.GuestPid() == id {
			return g.pid
		}
	}
	return -1
}

// waitSignal blocks g in pause, sigsuspend or sigtimedwait until a signal
// it waits for is pending; the real call then runs and returns at once.
// Calls with bad arguments run at once and fail as they do natively.
func (s *Scheduler) waitSignal(g *gthread, c *intercept.Syscall) {
	deadline := int64(-1)
	switch c.Nr {
	case unix.SYS_RT_SIGSUSPEND:
		if c.Args[1] != 8 {
			return
		}
	case unix.SYS_RT_SIGTIMEDWAIT:
		if c.Args[3] != 8 {
			return
		}
		if c.Args[2] != 0 {
			d, err := readTimespec(g.t.Memory(), c.Args[2])
			if err != nil || d <= 0 {
				return // EFAULT, EINVAL, or a poll for a pending signal
			}
			deadline = s.now + d
		}
	}
	s.block(g, blkSignal)
	if deadline >= 0 {
		s.addTimer(g, deadline)
	}
	s.markDirty(g.pid)
}

// readSignalFD handles a read of fd by a process that created a
// signalfd. Readiness of a signalfd depends on the pending signals of
// the thread that reads it: a duplicate polled in the tracer would show
// the tracer's. It reports whether the call is settled (a read of
// another kind of fd is not).
func (s *Scheduler) readSignalFD(g *gthread, fd int) bool {
	dup, ok := s.dupFD(g.pid, fd)
	if !ok {
		return false
	}
	defer unix.Close(dup)
	if !isAnonFD(dup, "[signalfd]") {
		return false
	}
	g.sig.touches = true // a read dequeues signals
	if fl, err := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK != 0 {
		return true // the read runs: it returns what is pending, or EAGAIN
	}
	mask, ok := fdinfoHex(dup, "sigmask:")
	if !ok {
		return true
	}
	st, ok := readSigStatus(g.t.Tid)
	if !ok || (st.pnd|st.shd)&mask != 0 {
		return true
	}
	s.block(g, blkSignalFD)
	g.sig.sfdMask = mask
	s.markDirty(g.pid)
	return true
}

// restartSyscall resumes the wait of a call interrupted with
// ERESTART_RESTARTBLOCK and restarted because no handler ran: the kernel
// would resume it from its restart_block (the remaining time), so does
// the scheduler, in virtual time. A restart_syscall of the kernel's own
// (a call the scheduler let block for real) runs.
func (s *Scheduler) restartSyscall(g *gthread) bool {
	rb := g.sig.rblk
	if rb == nil {
		return false
	}
	if !rb.futex {
		s.sleepUntil(g, rb.deadline)
		return true
	}
	cur, err := readU32(g.t.Memory(), rb.uaddr)
	switch {
	case err != nil:
		g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
	case cur != rb.val:
		g.resume = intercept.Emulate(intercept.Errno(unix.EAGAIN))
	case rb.deadline <= s.now:
		g.resume = intercept.Emulate(intercept.Errno(unix.ETIMEDOUT))
	default:
		s.block(g, blkFutex)
		g.fkey, g.fbitset = rb.key, rb.bitset
		s.futexes[rb.key] = append(s.futexes[rb.key], g)
		s.addTimer(g, rb.deadline)
	}
	return true
}

// waiting reports whether g is inside a call that a signal can
// interrupt: blocked, or held at the exit of a call it is to retry.
func waiting(g *gthread) bool {
	switch g.state {
	case stBlocked:
		return g.block != blkVfork && g.block != blkStopped
	case stRunnable:
		return g.restart
	}
	return false
}

// pickable reports whether a pick may choose g.
func (s *Scheduler) pickable(g *gthread) bool {
	if s.dying[g.pid] {
		return false
	}
	return g.state == stRunnable || g.state == stBlocked && g.sig.ready
}

// checkSignals reads the signal state of the processes that may have
// changed, and sets which waiting threads a signal interrupts.
func (s *Scheduler) checkSignals() {
	if !s.sigDirty {
		return
	}
	s.sigDirty = false
	s.sigStamp++
	for _, g := range s.threads {
		if g.state == stExited {
			continue
		}
		ps := s.procs[g.pid]
		if ps == nil || !ps.dirty || ps.stamp == s.sigStamp {
			continue
		}
		ps.stamp = s.sigStamp
		s.evalProcess(g.pid, ps)
		if ps.dirty {
			s.sigDirty = true // no thread of it waits yet
		}
	}
}

// sigStatus is the signal part of /proc/TID/status.
type sigStatus struct {
	pnd, shd, blk, ign, cgt uint64
}

// readSigStatus reads a thread's signal masks from /proc.
func readSigStatus(tid int) (sigStatus, bool) {
	var st sigStatus
	var buf [4096]byte
	fd, err := unix.Open("/proc/"+strconv.Itoa(tid)+"/status", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, false
	}
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err != nil || n <= 0 {
		return st, false
	}
	b := buf[:n]
	found := 0
	for _, f := range [...]struct {
		key string
		dst *uint64
	}{{"SigPnd:", &st.pnd}, {"ShdPnd:", &st.shd}, {"SigBlk:", &st.blk}, {"SigIgn:", &st.ign}, {"SigCgt:", &st.cgt}} {
		i := bytes.Index(b, []byte("\n"+f.key))
		if i < 0 {
			continue
		}
		rest := b[i+1+len(f.key):]
		if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			rest = rest[:j]
		}
		v, err := strconv.ParseUint(string(bytes.TrimSpace(rest)), 16, 64)
		if err == nil {
			*f.dst = v
			found++
		}
	}
	return st, found == 5
}

// evalProcess reads the signal state of process pid's threads and sets
// each waiting thread's ready flag; it wakes a stopped process that got
// SIGCONT and retries pollers after a signal was sent (a signalfd may
// have become readable).
func (s *Scheduler) evalProcess(pid int, ps *procSig) {
	ths := s.sigScratch[:0]
	waits := false
	for _, g := range s.threads {
		if g.pid == pid && g.state != stExited {
			if g.t.Tid == pid { // the main thread first, as the kernel prefers it
				ths = append(ths, nil)
				copy(ths[1:], ths)
				ths[0] = g
			} else {
				ths = append(ths, g)
			}
			waits = waits || g.state == stBlocked || waiting(g)
		}
	}
	s.sigScratch = ths
	if !waits {
		return // read when one of them waits
	}
	ps.dirty = false
	sent := ps.sent
	ps.sent = false
	sts := make([]sigStatus, len(ths))
	alive := make([]bool, len(ths))
	var shd, ign uint64
	pending := uint64(0)
	for i, g := range ths {
		st, ok := readSigStatus(g.t.Tid)
		sts[i], alive[i] = st, ok
		if ok {
			shd, ign = st.shd, st.ign|defaultIgnored&^st.cgt&^st.ign
			pending |= st.pnd | st.shd
		}
	}
	ps.pendingSeen = pending != 0
	if ps.stopped && pending&sigBit(unix.SIGCONT) != 0 {
		// Continued: the first of its threads to run notifies the parent
		// (SIGCHLD, CLD_CONTINUED), looked at after that thread ran.
		ps.stopped = false
		parent := -1
		if p := ths[0].t.Proc.Parent; p != nil {
			parent = p.Pid
		}
		for _, g := range ths {
			if g.state == stBlocked && g.block == blkStopped {
				s.wake(g, intercept.Continue())
				if parent >= 0 {
					g.sig.sendTo = append(g.sig.sendTo, parent)
				}
			}
		}
	}
	masks := make([]uint64, len(ths))
	for i, g := range ths {
		g.sig.ready, g.sig.tempOnly = false, false
		masks[i] = ^uint64(0)
		if !alive[i] || g.state == stBlocked && (g.block == blkStopped || g.block == blkVfork) {
			continue
		}
		eff, set := s.waitMasks(g, sts[i].blk)
		masks[i] = eff
		if !waiting(g) {
			continue
		}
		if (sts[i].pnd|shd)&set != 0 || sts[i].pnd&^eff&^ign != 0 {
			g.sig.ready = true
		}
	}
	// Process-directed signals: the kernel's choice of thread.
	for rest := shd &^ ign; rest != 0; rest &= rest - 1 {
		bit := rest & -rest
		for i, g := range ths {
			if masks[i]&bit != 0 {
				continue
			}
			if waiting(g) {
				g.sig.ready = true
			}
			break
		}
	}
	for i, g := range ths {
		if g.sig.ready && tempMask(g, g.t.Syscall()) {
			// A poll-like call whose own mask alone lets the signal in is
			// run again as made; otherwise it is interrupted at its exit.
			g.sig.tempOnly = (sts[i].pnd|shd)&^sts[i].blk&^ign == 0
		}
		if !g.sig.ready && g.sig.timedOut {
			g.sig.timedOut = false
			s.timeout(g)
		}
	}
	if sent {
		for _, g := range ths {
			if g.state == stBlocked && g.block == blkRetry && !g.sig.ready {
				s.retryPoll(g)
			}
		}
	}
}

// waitMasks returns the mask that decides which signals interrupt g's
// wait (the thread's blocked mask blk, or the one its call installs) and
// the signals its call waits for (sigtimedwait, signalfd).
func (s *Scheduler) waitMasks(g *gthread, blk uint64) (eff, set uint64) {
	eff = blk
	if g.state == stBlocked && g.block == blkSignalFD {
		return blk &^ sigKillStop, g.sig.sfdMask
	}
	if !waiting(g) {
		return blk &^ sigKillStop, 0
	}
	c := g.t.Syscall()
	args := c.OrigArgs()
	mem := g.t.Memory()
	read := func(p uint64) (uint64, bool) {
		v, err := mem.ReadUint64(p)
		return v, err == nil
	}
	switch {
	case g.state == stBlocked && g.block == blkSignal && c.Nr == unix.SYS_RT_SIGSUSPEND:
		if m, ok := read(args[0]); ok {
			eff = m
		}
	case g.state == stBlocked && g.block == blkSignal && c.Nr == unix.SYS_RT_SIGTIMEDWAIT:
		if m, ok := read(args[0]); ok {
			set = m
			eff = blk &^ m
		}
	default:
		if p, ok := tempMaskAddr(g, c); ok {
			if m, ok := read(p); ok {
				eff = m
			}
		}
	}
	return eff &^ sigKillStop, set &^ sigKillStop
}

// tempMask reports whether g's call installs its own signal mask.
func tempMask(g *gthread, c *intercept.Syscall) bool {
	_, ok := tempMaskAddr(g, c)
	return ok
}

// tempMaskAddr returns where the mask a poll-like call installs is (ok
// false if it installs none).
func tempMaskAddr(g *gthread, c *intercept.Syscall) (uint64, bool) {
	args := c.OrigArgs()
	switch c.Nr {
	case unix.SYS_PPOLL:
		return args[3], args[3] != 0 && args[4] == 8
	case unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2:
		return args[4], args[4] != 0 && args[5] == 8
	case unix.SYS_PSELECT6:
		if args[5] == 0 {
			return 0, false
		}
		mem := g.t.Memory()
		p, err1 := mem.ReadUint64(args[5])
		n, err2 := mem.ReadUint64(args[5] + 8)
		return p, err1 == nil && err2 == nil && p != 0 && n == 8
	}
	return 0, false
}

// interrupt resumes g, chosen by a pick while a signal is deliverable to
// it, so that its call ends as one interrupted by the signal.
func (s *Scheduler) interrupt(g *gthread) {
	g.sig.ready, g.sig.timedOut = false, false
	if g.state == stBlocked && (g.block == blkSignal || g.block == blkSignalFD) {
		s.wake(g, intercept.Continue()) // the real call returns at once
		return
	}
	var a intercept.Action
	if g.sig.tempOnly && g.t.AtSyscallExit() {
		g.sig.tempOnly = false
		g.sig.rerun = true
		g.restart = true
		a = intercept.Continue()
	} else {
		a = intercept.Interrupt(s.interruptCode(g, g.t.Syscall()))
		g.restart = false
	}
	if g.state == stBlocked {
		s.wake(g, a)
		g.restart = g.sig.rerun
	} else {
		g.resume = a
	}
}

// interruptCode is the result with which the kernel ends g's call when a
// signal interrupts it (kernel/time/hrtimer.c, kernel/futex/waitwake.c,
// fs/select.c, fs/eventpoll.c, kernel/exit.c...), with what the kernel
// writes back: nanosleep's remaining time, select's remaining timeout.
// It must be called while g still holds its timer.
func (s *Scheduler) interruptCode(g *gthread, c *intercept.Syscall) int64 {
	args := c.OrigArgs()
	left, deadline := int64(0), int64(-1)
	if g.timer != nil {
		deadline = g.timer.when
		left = max(0, deadline-s.now)
	}
	mem := g.t.Memory()
	sleep := func(rem uint64) int64 {
		if rem != 0 {
			writeTimespec(mem, rem, left)
		}
		g.sig.rblk = &restartBlock{deadline: deadline, rem: rem}
		return -intercept.ERestartRestartBlock
	}
	switch c.Nr {
	case unix.SYS_FUTEX:
		cmd := int(args[1]) &^ (futexPrivate | futexClockRealtime)
		if (cmd == futexWait || cmd == futexWaitBitset) && args[3] != 0 && deadline >= 0 {
			g.sig.rblk = &restartBlock{futex: true, deadline: deadline, uaddr: args[0],
				val: uint32(args[2]), key: g.fkey, bitset: g.fbitset}
			return -intercept.ERestartRestartBlock
		}
		return -intercept.ERestartSys
	case unix.SYS_NANOSLEEP:
		return sleep(args[1])
	case unix.SYS_CLOCK_NANOSLEEP:
		if args[1]&1 != 0 { // TIMER_ABSTIME: restarted as made
			return -intercept.ERestartNoHand
		}
		return sleep(args[3])
	case unix.SYS_RESTART_SYSCALL:
		if rb := g.sig.rblk; rb != nil && !rb.futex {
			return sleep(rb.rem)
		}
		return -intercept.ERestartRestartBlock
	case unix.SYS_SELECT, unix.SYS_PSELECT6, unix.SYS_PPOLL:
		// The remaining timeout is written back (poll_select_finish).
		idx := map[int]int{unix.SYS_SELECT: 4, unix.SYS_PSELECT6: 4, unix.SYS_PPOLL: 2}[c.Nr]
		if p := args[idx]; p != 0 && g.deadline >= 0 {
			rem := max(0, g.deadline-s.now)
			if c.Nr == unix.SYS_SELECT {
				rem = rem/1e9*1e9 + rem%1e9/1000 // struct timeval
			}
			writeTimespec(mem, p, rem)
		}
		return -intercept.ERestartNoHand
	case unix.SYS_POLL:
		// The kernel restarts a timed poll from its restart_block; here
		// a restart (no handler ran) re-executes it as made.
		return -intercept.ERestartNoHand
	case unix.SYS_EPOLL_WAIT, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2:
		return intercept.Errno(unix.EINTR) // never restarted
	}
	return -intercept.ERestartSys // read, write, accept, wait4, futex...
}

// signalDelivered is called at a signal-delivery-stop of g: the signal
// leaves the pending set. A SIGALRM of one of our interval timers gets
// the siginfo the kernel gives it.
func (s *Scheduler) signalDelivered(g *gthread, sig unix.Signal, info *unix.Siginfo) {
	if g == nil {
		return
	}
	s.markDirty(g.pid)
	if isTimerMarker(info) {
		*info = unix.Siginfo{Signo: int32(sig), Code: siKernel}
	}
}

// externalSignals looks at every process once no thread can run: a
// signal that none of the guest's calls or timers sent (from outside the
// guest, or from the kernel: SIGIO, SIGURG) may be pending. It reports
// whether it made a thread pickable.
func (s *Scheduler) externalSignals() bool {
	for _, g := range s.threads {
		if g.state != stExited {
			s.markDirty(g.pid) // not markSent: pollers are not retried
		}
	}
	s.checkSignals()
	for _, g := range s.threads {
		if g.state != stExited && s.pickable(g) {
			s.note("a signal not sent by the guest's calls or timers woke a thread (from outside the guest, or SIGIO/SIGURG)")
			return true
		}
	}
	return false
}

// GroupStop implements intercept.Tool: a thread that stopped with its
// process (SIGSTOP, SIGTSTP...) is blocked until a SIGCONT; the parent
// was notified (SIGCHLD, and waitpid with WUNTRACED sees the stop).
func (s *Scheduler) GroupStop(t *intercept.Thread, sig unix.Signal) {
	g := s.g(t)
	if g == nil || g.state == stExited {
		return
	}
	t.Hold()
	ps := s.proc(g.pid)
	first := !ps.stopped
	ps.stopped = true
	if g.state == stBlocked {
		s.unblock(g)
	}
	wasRunning := g == s.running
	if wasRunning {
		s.running = nil
	}
	s.block(g, blkStopped)
	g.resume = intercept.Continue()
	if first {
		s.stopOthers(g)
		s.childChanged(t.Proc)
	}
	if wasRunning {
		s.schedule(g)
	}
}

// stopOthers makes the other threads of g's process, all held, enter the
// group-stop too, so that it completes (the kernel notifies the parent
// only then). Threads at other stops than syscalls stay held: the stop
// does not complete, and the run is marked.
func (s *Scheduler) stopOthers(g *gthread) {
	for _, o := range s.threads {
		if o == g || o.pid != g.pid || o.state == stExited || o.state == stBlocked && o.block == blkStopped {
			continue
		}
		if o.state == stBlocked && o.block == blkVfork {
			// It stops once its vfork child has exec'd or exited (the
			// kernel's vfork wait is not interruptible): until then the
			// stop is not complete.
			s.note("job-control stop of a process with a thread in vfork")
			continue
		}
		if err := o.t.JoinGroupStop(); err != nil {
			s.note("job-control stop of a multi-threaded process (a thread could not join the stop: " + err.Error() + ")")
			continue
		}
		if o.state == stBlocked {
			s.unblock(o)
		}
		o.restart = false
		s.block(o, blkStopped)
		o.resume = intercept.Continue()
	}
}

// Continued implements intercept.Tool: the trap that ends a group-stop,
// seen by a thread the scheduler released after SIGCONT.
func (s *Scheduler) Continued(t *intercept.Thread) {
	if g := s.g(t); g != nil && g != s.running && g.state != stExited {
		s.stray(g)
	}
}

// processExited is called when a guest process is gone: its parent has
// SIGCHLD pending, and its children their parent-death signal
// (PR_SET_PDEATHSIG) if they asked for one.
func (s *Scheduler) processExited(p *intercept.Process) {
	s.exitSignals(p.Pid)
	for _, g := range s.threads {
		if g.state != stExited && g.t.Proc.Parent == p && g.t.Tid == g.pid {
			s.markSent(g.pid)
		}
	}
	s.childChanged(p)
}

// childChanged is called when a guest process exited or stopped: its
// parent has SIGCHLD pending (unless it ignores it) and its waits for
// children may succeed now.
func (s *Scheduler) childChanged(p *intercept.Process) {
	if p.Parent == nil {
		return
	}
	s.markSent(p.Parent.Pid)
	for _, g := range s.threads {
		if g.pid == p.Parent.Pid && g.state == stBlocked && g.block == blkChild {
			s.retry(g)
		}
	}
}

// isAnonFD reports whether fd (of the tracer) is an anonymous-inode file
// of the given kind ("[signalfd]", "[timerfd]").
func isAnonFD(fd int, kind string) bool {
	l, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	return err == nil && l == "anon_inode:"+kind
}

// fdinfoHex reads a hexadecimal field of the tracer's /proc/self/fdinfo/fd.
func fdinfoHex(fd int, key string) (uint64, bool) {
	return fdinfoField(fd, key, 16)
}

func fdinfoField(fd int, key string, base int) (uint64, bool) {
	b, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, false
	}
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := b[i+len(key):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(rest)), base, 64)
	return v, err == nil
}
