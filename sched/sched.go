package sched

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/sysname"
)

// Config configures a Scheduler.
type Config struct {
	// Decider makes the run's choices (required).
	Decider Decider
	// Seed seeds the guest's randomness (getrandom), a stream separate
	// from the scheduling decisions.
	Seed uint64
	// CPUs is the CPU count the guest sees (default 4).
	CPUs int
	// Quantum is the virtual time that passes at each scheduling point
	// (default 1µs).
	Quantum int64
	// Done, when closed, abandons a real wait for external input (the
	// run is being cancelled).
	Done <-chan struct{}
	// Preempt is the CPU time a thread may run without reaching a
	// scheduling point before the watchdog preempts it (default 20ms).
	Preempt time.Duration
}

// OutcomeKind classifies how a run ended, beyond the guest's exit status.
type OutcomeKind uint8

const (
	// Finished: the guest ran to its end; its exit status tells the rest.
	Finished OutcomeKind = iota
	// Deadlock: no thread could run and no timer was pending.
	Deadlock
	// Unsupported: the guest did something the scheduler cannot make
	// deterministic (PI futexes, futex_waitv...); the run was stopped.
	Unsupported
	// Diverged: a replay did not follow its recorded trace.
	Diverged
	// Internal: the scheduler lost track of the guest (a bug).
	Internal
)

func (k OutcomeKind) String() string {
	return [...]string{"finished", "deadlock", "unsupported", "diverged", "internal error"}[k]
}

// Outcome is what the scheduler has to say about a run.
type Outcome struct {
	Kind   OutcomeKind
	Report string // for Deadlock: what each thread waits on; else a reason
	// Steps counts scheduling points; VirtualTime is the final clock (ns
	// since the start of the run).
	Steps       int
	VirtualTime int64
	// Nondeterministic notes what may keep a replay from matching.
	Nondeterministic []string
}

type threadState uint8

const (
	stRunnable threadState = iota
	stRunning
	stBlocked
	stExited
)

// blockKind is what a blocked thread waits for.
type blockKind uint8

const (
	blkNone   blockKind = iota
	blkFutex            // an emulated futex wait
	blkSleep            // nanosleep and friends
	blkChild            // wait4/waitid on a child
	blkFD               // readiness of an fd (read, accept, epoll_wait...)
	blkRetry            // poll/select: retried whenever another thread ran
	blkVfork            // a vfork parent, until the child execs or exits
	blkSignal           // pause, sigsuspend, sigtimedwait: until a signal is sent
)

// gthread is the scheduler's handler for one guest thread (tvisor's
// per-thread "kernel"): its state, its pending syscall's resolution and
// what it waits on.
type gthread struct {
	t      *intercept.Thread
	vtid   int
	pid    int // process, fixed at creation (t.Proc may be reused)
	state  threadState
	resume intercept.Action // how it continues when picked
	at     string           // its current scheduling point, for decisions
	block  blockKind
	// futex wait
	fkey    futexKey
	fbitset uint32
	// fd wait
	fd     int
	events int16
	epoch  uint64 // s.epoch when it blocked (blkRetry)
	// vfork parent: the child's vtid
	vforkChild int
	timer      *timer
	clearTID   uint64
	exitAt     exitWait // when its exit lets others run
	// restart: re-execute the syscall when picked (it is held at the
	// syscall's exit)
	restart bool
	// poll-like calls: the virtual deadline (-1: none), kept across
	// retries of the same call
	deadline  int64
	retrying  bool
	pollCall  bool
	exitGroup bool
}

type exitWait uint8

const (
	exitNotYet exitWait = iota
	exitAtReap
	exitAtProcess
)

// Scheduler is an intercept.Tool that serializes the guest: exactly one
// guest thread runs at a time, and at each scheduling point the Decider
// chooses which runnable thread goes next.
//
// Invariants: at most one gthread is stRunning (s.running); every other
// live thread is stopped and held by the tracer; all decisions are made in
// callbacks, when every live thread is at a known point.
type Scheduler struct {
	intercept.NopTool
	cfg      Config
	tr       *intercept.Tracer
	threads  []*gthread // by vtid
	running  *gthread
	now      int64 // virtual monotonic ns
	timers   timerHeap
	timerSeq uint64
	futexes  map[futexKey][]*gthread
	dying    map[int]bool // pids of processes being torn down
	pidfds   map[int]int  // per-process pidfd, for readiness checks
	epoch    uint64       // counts scheduling points, for blkRetry
	// signalled lists processes a guest thread sent a signal to at its
	// last point; their signal waiters wake at the next point, when the
	// signal has been sent.
	signalled []int
	rng       *rand.ChaCha8
	tsc       uint64
	ended     bool
	out       Outcome
	scratch   []int
	dog       *watchdog
	randomFDs map[randomFD]bool
}

// New returns a scheduler for one run.
func New(cfg Config) *Scheduler {
	if cfg.CPUs <= 0 {
		cfg.CPUs = 4
	}
	if cfg.Quantum <= 0 {
		cfg.Quantum = 1000
	}
	if cfg.Preempt <= 0 {
		cfg.Preempt = 20 * time.Millisecond
	}
	var seed [32]byte
	for i := range 4 {
		v := cfg.Seed ^ uint64(i)*0x9e3779b97f4a7c15
		for j := range 8 {
			seed[i*8+j] = byte(v >> (8 * j))
		}
	}
	return &Scheduler{
		cfg:       cfg,
		now:       monoBase,
		futexes:   map[futexKey][]*gthread{},
		dying:     map[int]bool{},
		pidfds:    map[int]int{},
		randomFDs: map[randomFD]bool{},
		rng:       rand.NewChaCha8(seed),
	}
}

// TracerOptions are the intercept options a scheduled run needs: the
// guest's time, randomness and address space layout come from the run,
// not from the machine.
func (s *Scheduler) TracerOptions(cpu int) intercept.Options {
	var r [16]byte
	s.rng.Read(r[:])
	return intercept.Options{CPU: cpu, DisableASLR: true, DisableVDSO: true, TrapRDTSC: true,
		KillOnRootExit: true, AtRandom: &r}
}

// Outcome returns how the run ended; call it once, after intercept.Run
// returns: it also releases the scheduler's resources.
func (s *Scheduler) Outcome() Outcome {
	if s.dog != nil {
		s.dog.stop()
		s.dog = nil
	}
	o := s.out
	o.VirtualTime = s.now - monoBase
	for _, fd := range s.pidfds {
		unix.Close(fd)
	}
	s.pidfds = map[int]int{}
	return o
}

// Subscription implements intercept.Tool: every syscall is a scheduling
// point.
func (s *Scheduler) Subscription() intercept.Subscription { return intercept.SubscribeAll() }

func (s *Scheduler) g(t *intercept.Thread) *gthread {
	g, _ := t.State.(*gthread)
	return g
}

// end stops the run with an outcome other than Finished.
func (s *Scheduler) end(kind OutcomeKind, report string) {
	if s.ended {
		return
	}
	s.ended = true
	s.out.Kind = kind
	s.out.Report = report
	if s.tr != nil {
		s.tr.Kill()
	}
}

func (s *Scheduler) note(what string) {
	for _, n := range s.out.Nondeterministic {
		if n == what {
			return
		}
	}
	s.out.Nondeterministic = append(s.out.Nondeterministic, what)
}

// ThreadStart implements intercept.Tool: thread creation is a scheduling
// point for the creator and the new thread.
func (s *Scheduler) ThreadStart(t *intercept.Thread, parent *intercept.Thread) {
	s.tr = t.Tracer()
	if s.dog == nil {
		s.dog = startWatchdog(s.cfg.Preempt)
	}
	g := &gthread{t: t, vtid: len(s.threads), pid: t.Proc.Pid, clearTID: t.ClearTID, resume: intercept.Continue()}
	g.at = "t" + strconv.Itoa(g.vtid) + ":start"
	s.threads = append(s.threads, g)
	t.State = g
	t.Hold()
	if parent == nil {
		s.schedule(g.at)
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
	s.schedule(pg.at)
}

// SyscallEnter implements intercept.Tool: every syscall entry is a
// scheduling point.
func (s *Scheduler) SyscallEnter(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
	g := s.g(t)
	if s.ended {
		return intercept.Continue()
	}
	if g != s.running {
		// A thread ran that the scheduler did not release (e.g. woken
		// by SIGCONT): hold it and carry on.
		s.note(fmt.Sprintf("thread %d ran outside the schedule", g.vtid))
		t.Hold()
		g.state = stRunnable
		g.resume = intercept.Continue()
		return intercept.Hold()
	}
	t.Hold()
	s.running = nil
	g.state = stRunnable
	g.resume = intercept.Continue()
	g.at = "t" + strconv.Itoa(g.vtid) + ":" + syscallName(c)
	s.syscall(g, c)
	s.schedule(g.at)
	return intercept.Hold()
}

func syscallName(c *intercept.Syscall) string {
	if c.Arch != intercept.ArchX86_64 {
		return c.Arch.String() + "_" + strconv.Itoa(c.Nr)
	}
	return sysname.Name(c.Nr)
}

// SyscallExit implements intercept.Tool, for calls made non-blocking.
func (s *Scheduler) SyscallExit(t *intercept.Thread, c *intercept.Syscall, ret int64) int64 {
	return s.syscallExit(s.g(t), c, ret)
}

// Signal implements intercept.Tool.
func (s *Scheduler) Signal(t *intercept.Thread, sig unix.Signal, info *unix.Siginfo) unix.Signal {
	g := s.g(t)
	if isOurStop(sig, info) {
		if g != nil && g == s.running {
			// The watchdog caught g spinning: a preemption point.
			s.note("timing-based preemption (a thread ran without a syscall for over " + s.cfg.Preempt.String() + ")")
			t.Hold()
			s.running = nil
			g.state = stRunnable
			g.resume = intercept.Continue()
			g.at = "t" + strconv.Itoa(g.vtid) + ":preempt"
			s.schedule(g.at)
		}
		return 0
	}
	if sig == unix.SIGSEGV && info.Code == 0x80 /* SI_KERNEL */ {
		if s.emulateRDTSC(t) {
			return 0
		}
	}
	if g != nil && willKill(t.Tid, sig) {
		s.dying[g.pid] = true
	}
	switch sig {
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		s.note("job-control stop signals")
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
	if parent == nil {
		return
	}
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
	wasRunning := g == s.running
	s.unblock(g)
	g.state = stExited
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
		s.wakeFutex(futexKey{g.pid, g.clearTID}, -1, ^uint32(0))
		s.schedule(g.at)
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
	if g.state != stExited {
		s.unblock(g)
		g.state = stExited
	}
	if g.clearTID != 0 {
		s.wakeFutex(futexKey{g.pid, g.clearTID}, -1, ^uint32(0))
	}
	s.releaseVfork(g)
	if g == s.running && g.exitAt == exitAtReap {
		s.running = nil
		s.schedule(g.at)
	}
}

// ProcessExit implements intercept.Tool: parents waiting for a child may
// retry, and a dead running process lets the others run.
func (s *Scheduler) ProcessExit(p *intercept.Process, ws unix.WaitStatus) {
	for k := range s.randomFDs {
		if k.pid == p.Pid {
			delete(s.randomFDs, k)
		}
	}
	if fd, ok := s.pidfds[p.Pid]; ok {
		unix.Close(fd)
		delete(s.pidfds, p.Pid)
	}
	for _, g := range s.threads {
		if g.state == stBlocked && g.block == blkChild {
			s.retry(g)
		}
	}
	if s.running != nil && s.running.pid == p.Pid {
		s.running = nil
		s.schedule("p" + strconv.Itoa(p.Pid) + ":exit")
	}
}

// schedule picks the next thread to run, if none is running.
func (s *Scheduler) schedule(at string) {
	if s.running != nil || s.ended {
		return
	}
	s.epoch++
	s.out.Steps++
	s.now += s.cfg.Quantum
	for _, pid := range s.signalled {
		for _, g := range s.threads {
			if g.state == stBlocked && g.block == blkSignal && (pid <= 0 || g.pid == pid) {
				s.wake(g, intercept.Continue())
			}
		}
	}
	s.signalled = s.signalled[:0]
	for {
		s.pollFDs()
		runnable := s.scratch[:0]
		for _, g := range s.threads {
			if g.state == stRunnable && !s.dying[g.pid] {
				runnable = append(runnable, g.vtid)
			}
		}
		s.scratch = runnable
		if len(runnable) == 0 {
			if s.fireTimers() {
				continue
			}
			if s.waitExternal() {
				continue
			}
			if s.anyLive() {
				s.end(Deadlock, s.deadlockReport())
			}
			return
		}
		choice := runnable[0]
		if len(runnable) > 1 {
			c, err := s.cfg.Decider.Choose(KindPick, runnable, at)
			if err != nil {
				s.end(Diverged, err.Error())
				return
			}
			choice = c
		}
		s.run(s.threads[choice])
		return
	}
}

func (s *Scheduler) anyLive() bool {
	for _, g := range s.threads {
		if g.state != stExited && !s.dying[g.pid] {
			return true
		}
	}
	return false
}

// run releases g.
func (s *Scheduler) run(g *gthread) {
	s.running = g
	g.state = stRunning
	s.dog.running(g.pid, g.t.Tid)
	a := g.resume
	g.resume = intercept.Continue()
	if g.exitGroup {
		// exit_group kills every other thread of the process: none of
		// them may be picked while they die.
		s.dying[g.pid] = true
	}
	if g.restart {
		g.restart = false
		if err := g.t.Restart(); err != nil {
			s.end(Internal, fmt.Sprintf("restart t%d: %v", g.vtid, err))
			return
		}
	}
	if err := g.t.Resume(a); err != nil {
		s.end(Internal, fmt.Sprintf("resume t%d: %v", g.vtid, err))
	}
}

// block marks g blocked (it is held at its syscall entry or exit).
func (s *Scheduler) block(g *gthread, kind blockKind) {
	g.state = stBlocked
	g.block = kind
}

// wake makes a blocked thread runnable; it will continue with a.
func (s *Scheduler) wake(g *gthread, a intercept.Action) {
	if g.state != stBlocked {
		return
	}
	s.unblock(g)
	g.state = stRunnable
	g.resume = a
}

// retry makes a thread blocked at a syscall exit runnable again; when
// picked it re-executes the syscall (a fresh scheduling point).
func (s *Scheduler) retry(g *gthread) {
	if g.state != stBlocked {
		return
	}
	s.unblock(g)
	g.state = stRunnable
	g.restart = true
	g.resume = intercept.Continue()
}

// unblock removes g from whatever it waits on.
func (s *Scheduler) unblock(g *gthread) {
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
}

// timeout handles a fired deadline.
func (s *Scheduler) timeout(g *gthread) {
	switch g.block {
	case blkFutex:
		s.wake(g, intercept.Emulate(intercept.Errno(unix.ETIMEDOUT)))
	case blkSleep:
		s.wake(g, intercept.Emulate(0))
	case blkFD:
		// epoll_wait and friends time out with 0 events.
		s.wake(g, intercept.Emulate(0))
	case blkRetry:
		s.retry(g)
	case blkSignal:
		s.wake(g, intercept.Emulate(intercept.Errno(unix.EAGAIN))) // sigtimedwait
	}
}

// deadlockReport says what every live thread waits on.
func (s *Scheduler) deadlockReport() string {
	var b strings.Builder
	b.WriteString("deadlock: no thread can run and no timer is pending\n")
	for _, g := range s.threads {
		if g.state == stExited {
			continue
		}
		fmt.Fprintf(&b, "  thread %d (tid %d, pid %d) at %s: ", g.vtid, g.t.Tid, g.pid, g.at)
		switch g.block {
		case blkFutex:
			fmt.Fprintf(&b, "waits on futex %#x", g.fkey.addr)
		case blkChild:
			b.WriteString("waits for a child process")
		case blkFD:
			fmt.Fprintf(&b, "waits for fd %d", g.fd)
		case blkRetry:
			b.WriteString("polls fds")
		case blkVfork:
			fmt.Fprintf(&b, "waits for vfork child thread %d", g.vforkChild)
		case blkSignal:
			b.WriteString("waits for a signal")
		default:
			b.WriteString("is not blocked (state ")
			b.WriteString(strconv.Itoa(int(g.state)))
			b.WriteString(")")
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// Threads lists the vtids that exist, for reports.
func (s *Scheduler) threadIDs() []int {
	ids := make([]int, 0, len(s.threads))
	for _, g := range s.threads {
		ids = append(ids, g.vtid)
	}
	sort.Ints(ids)
	return ids
}
