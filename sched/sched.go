package sched

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
	"github.com/schedfuzz/schedfuzz/sched/points"
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
	// Timeout, if positive, is the run's time limit: OnTimeout is called
	// (once, from another goroutine) when the run's time reaches it, or
	// when it has not grown for StallFactor times the limit. The run's
	// time is the CPU time of the guest and of the tracer, the time the
	// guest was blocked for real, and the virtual time; time spent
	// waiting for a CPU is not counted (see account in watchdog.go). The
	// limit runs from New: call it just before starting the guest.
	Timeout   time.Duration
	OnTimeout func()
	// IdleChoice lets a pick also choose IdleOption while threads are
	// runnable and a thread's deadline is pending within idleHorizon
	// (100 ms): virtual time jumps to it first. Sleeps and timeouts then
	// end early relative to the other threads' progress, and a strategy
	// can starve a thread even when nothing else could run (rr's chaos
	// mode). The guest's own timers (alarm, timer_create) are never made
	// to fire early.
	IdleChoice bool
	// Faults makes syscall results a decision (KindFault) at the calls
	// where the kernel may legitimately return less or fail
	// transiently: short reads and writes and EINTR on pipes, sockets
	// and terminals, EAGAIN on non-blocking ones, spurious futex
	// wake-ups.
	Faults bool
	// MaxSteps ends a run that has made this many decisions (the steps
	// of its schedule, as a seed file records them) as a livelock (0: no
	// limit). Points where only one thread can run do not count: a long
	// correct run of a program whose other threads sleep (node makes a
	// million and more points) is not cut, and the seed file of any run
	// stays within MaxSteps lines. A run also ends as a livelock at
	// pointsPerStep times MaxSteps points (one thread going round while
	// the others wait for it).
	MaxSteps int
	// Epoch is CLOCK_REALTIME at the start of the run, in Unix seconds
	// (0: DefaultEpoch). A run's clock is virtual; only where it starts
	// is an input, like a file: the CLI starts it after the files the
	// guest may see (make compares their times with the clock's) and
	// records it in the seed file.
	Epoch int64
	// Timeline records the run's running stretches and wake-ups in
	// Outcome.Timeline (for -trace).
	Timeline bool
	// Points adds the function entries of a point set (points.Sync) as
	// scheduling points, YieldAt the user's functions and source lines,
	// and Watch accesses to global variables (see breakpoints.go).
	Points  points.Set
	YieldAt []points.Spec
	Watch   []points.Watch
	// Spins are the spin sites known when the run starts (spin.go);
	// SpinRerun lets a run that finds a new one end as Rerun, to be run
	// again with it (without it, the thread is preempted where the
	// watchdog caught it, a timing-based preemption).
	Spins     []SpinSite
	SpinRerun bool
	// Symbols caches parsed ELF files across runs (nil: a cache per run),
	// Plan the resolution of Points and YieldAt in each image (nil: one
	// per run; if set, it must have been made from Points and YieldAt).
	Symbols *symbols.Cache
	Plan    *points.Plan
	// Observer, if set, sees every syscall point and, when it asks, the
	// call's result (observe.go). It changes nothing in the run.
	Observer Observer
	// Stacks unwinds each thread's call stack at its scheduling points
	// for reports (stacks.go): Outcome.Stacks has those StackAt asks for
	// (nil: none) and each thread's last ones.
	Stacks  bool
	StackAt func(thread, point int) bool
	// Memory configures the memory-level points of points.Memory
	// (memory.go).
	Memory MemoryConfig
}

// IdleOption is the pick option that lets virtual time pass to the next
// deadline instead of running a thread (see Config.IdleChoice).
const IdleOption = -1

// idleHorizon bounds how far IdleOption may move the clock while threads
// are runnable: a sleep or timeout ends early relative to their progress
// by at most this much. A farther deadline comes only with the threads'
// progress, or when none can run. Unbounded, a 5 s timeout fired before a
// thread that had 20 ms of work left, which no machine does, and Go's
// timers (a Ticker's ticks dropped, an HTTP client's timeout) failed
// correct programs; 100 ms still lets a timeout with a 10x margin (5 ms
// of work, 50 ms to wait) expire first. (rr's chaos mode starves a thread
// for up to 2 s; a parent that forks, then arms a 1 s timer, must not see
// its child's 10 s sleep end first.)
const idleHorizon = 100_000_000

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
	// Livelock: the run reached Config.MaxSteps scheduling points.
	Livelock
	// Rerun: a thread spun at a loop that is not a spin site yet; the
	// run must be made again from the start with Outcome.Spins
	// (Config.SpinRerun).
	Rerun
)

func (k OutcomeKind) String() string {
	return [...]string{"finished", "deadlock", "unsupported", "diverged", "internal error", "livelock", "rerun"}[k]
}

// Outcome is what the scheduler has to say about a run.
type Outcome struct {
	Kind   OutcomeKind
	Report string // for Deadlock: what each thread waits on; else a reason
	// Steps counts scheduling points; VirtualTime is the final clock (ns
	// since the start of the run).
	Steps       int
	VirtualTime int64
	// Charged is the run's time as Config.Timeout counts it.
	Charged time.Duration
	// Spins are the run's spin sites: Config.Spins, and for Rerun the
	// site found.
	Spins []SpinSite
	// Nondeterministic notes what may keep a replay from matching.
	Nondeterministic []string
	// Threads describes every thread of the run, by vtid.
	Threads []ThreadInfo
	// Ender is the vtid of the thread that ended the first process (its
	// exit_group, its fatal signal), -1 if none did.
	Ender int
	// Timeline is the run in virtual time, if Config.Timeline was set.
	Timeline []Span
	// Points are the function and data points planted, by name, and
	// Warnings what could not be (a point set or spec that resolved to
	// nothing, a watchpoint that could not be set).
	Points   []ResolvedPoint
	Warnings []string
	// Stacks are the threads' stacks at some points (Config.Stacks).
	Stacks []PointStack
	// SharedSites are the memory sites the run saw two threads access
	// (points.Memory), sorted: what later runs sample first.
	SharedSites []SiteRef
}

// Span is one entry of a timeline: a running stretch of Thread from Start
// to End (virtual ns since the start of the run) that ended at the
// scheduling point Point; or, if Woke >= 0, a wake-up of thread Woke by
// Thread (-1: a timer) at Start.
type Span struct {
	Thread     int
	Start, End int64
	Point      string
	Woke       int
}

// ThreadInfo is what a report says about one thread.
type ThreadInfo struct {
	Vtid, Pid int
	// Parent is the creating thread (-1 for the first) and Born the
	// creator's scheduling point at the time ("t0:clone3").
	Parent int
	Born   string
	// Last names its last scheduling points, oldest first (at most 8).
	Last []string
	// Points counts the scheduling points it reached.
	Points int
	// Exited reports whether it had exited when the run ended; if not,
	// Waits says what it was blocked on ("" if it was runnable).
	Exited bool
	Waits  string
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
	blkNone     blockKind = iota
	blkFutex              // an emulated futex wait
	blkSleep              // nanosleep and friends
	blkChild              // wait4/waitid on a child
	blkFD                 // readiness of an fd (read, accept, epoll_wait...)
	blkRetry              // poll/select: retried whenever another thread ran
	blkVfork              // a vfork parent, until the child execs or exits
	blkSignal             // pause, sigsuspend, sigtimedwait: until a signal is sent
	blkFifo               // a FIFO's open, until the other end opens (fifo.go)
	blkSignalFD           // a read of a signalfd: until a signal it reads is pending
	blkStopped            // in a group-stop (SIGSTOP...): until SIGCONT
)

// gthread is the scheduler's handler for one guest thread (tvisor's
// per-thread "kernel"): its state, its pending syscall's resolution and
// what it waits on.
type gthread struct {
	t        *intercept.Thread
	vtid     int
	pid      int // process, fixed at creation (t.Proc may be reused)
	state    threadState
	resume   intercept.Action // how it continues when picked
	at       string           // its current scheduling point, for decisions
	pk       PointKind        // the kind of that point
	pname    string           // its syscall or function name
	pobj     uint64           // the object it touches, if known at the point
	rng      *rand.ChaCha8    // its share of the guest's randomness
	points   int              // scheduling points reached
	hits     map[string]int   // breakpoint and watchpoint hits, by point name
	mapping  bool             // its mmap/mprotect/munmap is traced to its exit
	remapped bool             // its last call may have changed its process's mappings
	spin     *spinState       // its spin points (spin.go); nil: none yet
	last     [8]string        // the names of its last points (a ring)
	parent   int              // the creating thread's vtid (-1: none)
	born     string           // the creator's point when it was created
	block    blockKind
	// futex wait
	fkey    futexKey
	fbitset uint32
	// fd wait: the fd and the events awaited, and the tracer's duplicate
	// of it while it waits (-1: none yet)
	fd     int
	events int16
	fdDup  int
	epoch  uint64 // the s.epoch after which it is retried (blkRetry)
	// atExit: it is held at the exit of a call made non-blocking that
	// would have blocked; waking it re-issues the call (see retry).
	atExit bool
	// recheck: woken at its syscall entry by its fd's readiness, which
	// is checked again at every point until it runs (another thread may
	// have drained the fd meanwhile).
	recheck bool
	// io is its blocking transfer in progress, done in non-blocking
	// pieces (io.go); fifo its blocking open of a FIFO (fifo.go).
	io      *transfer
	ioAside *transfer
	fifo    *fifoOpen
	// fifoReal: its next FIFO open waits for real (for the outside).
	fifoReal bool
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
	expiry    int64     // the deadline with the kernel's timer slack
	fdSets    [3][]byte // select's fd sets as the guest passed them
	retrying  bool
	pollCall  bool
	pollReal  bool // its next poll waits for real (for the outside)
	exitGroup bool
	sig       sigThread // its part of the signal model (signals.go)
	// observed: the Observer wants the result of the call at point
	// obsPoint (obsOnly: the scheduler itself did not ask for its exit).
	observed obsState
	obsPoint int
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
	dying    map[int]bool          // pids of processes being torn down
	pidfds   map[int]int           // per-process pidfd, for readiness checks
	maps     map[int][]sharedRange // per-process shared mappings (futexkey.go)
	epoch    uint64                // counts scheduling points after which fds may have changed, for blkRetry
	quiet    bool                  // the thread that stopped changed no fd since its release (no epoch)
	// procs is the signal and timer state of each process (signals.go,
	// timers.go); sigDirty says some process's must be read again.
	procs       map[int]*procSig
	sigDirty    bool
	sigStamp    uint64
	sigScratch  []*gthread
	timerfds    timerfds
	rng         *rand.ChaCha8
	tsc         uint64
	ended       bool
	out         Outcome
	scratch     []int
	idleScratch []int
	dog         *watchdog
	dogOn       bool
	randomFDs   map[randomFD]bool
	pts         *pointSet            // nil: syscalls only
	mem         *memState            // nil: no memory points
	pending     func(vtid int) Event // s.eventOf, bound once
	// from is the thread whose point the current decisions belong to:
	// the one that yielded, or the running one for wake and fault
	// decisions.
	from *gthread
	// ender is the vtid of the thread that ended the first process.
	ender int
	// stretch is the thread running since stretchAt, for the timeline;
	// waker the thread whose action wakes others now (nil: a timer).
	stretch   *gthread
	stretchAt int64
	waker     *gthread
	stk       *stackSet // nil unless Config.Stacks
	decisions int       // decisions asked of the Decider (Config.MaxSteps)
	realBase  int64     // CLOCK_REALTIME at the start (ns; Config.Epoch)
	// skipped is the virtual time IdleOption let pass while threads
	// could run: the strategy's delay, not the program's sleep, so the
	// per-run timeout does not count it (watchdog's account).
	skipped int64
	// stepHook, if set (by tests), runs before each step of a catch.
	stepHook func(g *gthread)
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
	s := &Scheduler{
		cfg:       cfg,
		now:       monoBase,
		futexes:   map[futexKey][]*gthread{},
		dying:     map[int]bool{},
		pidfds:    map[int]int{},
		maps:      map[int][]sharedRange{},
		randomFDs: map[randomFD]bool{},
		procs:     map[int]*procSig{},
		ender:     -1,
		rng:       newGuestRand(cfg.Seed, ^uint64(0)),
	}
	s.pending = s.eventOf
	s.realBase = cmp.Or(cfg.Epoch, DefaultEpoch) * 1e9
	s.pts = newPointSet(&s.cfg)
	if cfg.Stacks {
		s.stk = newStackSet(cfg.Symbols)
	}
	s.dog = newWatchdog(cfg.Preempt)
	if cfg.Timeout > 0 {
		// The run's time limit covers the guest's start-up.
		s.dog.arm(cfg.Timeout, cfg.OnTimeout)
	}
	if cfg.Points == points.Memory {
		s.mem = newMemState(cfg.Memory, cfg.Seed)
	}
	return s
}

// startDog completes the watchdog at the first callback, on the tracer
// thread.
func (s *Scheduler) startDog() {
	if !s.dogOn {
		s.dogOn = true
		s.dog.arm(s.cfg.Timeout, s.cfg.OnTimeout)
	}
}

// newGuestRand returns a ChaCha8 stream of the guest's randomness for
// (seed, stream); streams are independent of each other and of the
// scheduling decisions.
func newGuestRand(seed, stream uint64) *rand.ChaCha8 {
	var key [32]byte
	for i := range 4 {
		v := seed ^ uint64(i)*0x9e3779b97f4a7c15
		if i == 3 {
			v ^= stream * 0xbf58476d1ce4e5b9
		}
		for j := range 8 {
			key[i*8+j] = byte(v >> (8 * j))
		}
	}
	return rand.NewChaCha8(key)
}

// threadRand is thread vtid's own random stream (getrandom, reads of
// /dev/urandom): what one thread draws does not depend on how many bytes
// the others drew before it.
func (s *Scheduler) threadRand(vtid int) *rand.ChaCha8 {
	return newGuestRand(s.cfg.Seed, uint64(vtid))
}

// TracerOptions are the intercept options a scheduled run needs: the
// guest's time, randomness and address space layout come from the run,
// not from the machine.
func (s *Scheduler) TracerOptions(cpu int) intercept.Options {
	var r [16]byte
	s.rng.Read(r[:])
	return intercept.Options{CPU: cpu, DisableASLR: true, DisableVDSO: true, TrapRDTSC: true,
		KillOnRootExit: true, AtRandom: &r, CPUTick: tickPeriod(s.cfg.Preempt)}
}

// Outcome returns how the run ended; call it once, after intercept.Run
// returns: it also releases the scheduler's resources.
func (s *Scheduler) Outcome() Outcome {
	o := s.out
	if s.dog != nil {
		o.Charged = s.dog.charged()
		s.dog.stop()
		s.dog = nil
	}
	o.VirtualTime = s.now - monoBase
	if s.pts != nil {
		o.Points, o.Warnings = s.pts.resolved()
	}
	if s.mem != nil {
		o.SharedSites = s.mem.sharedSites()
	}
	o.Ender = s.ender
	if s.stk != nil {
		o.Stacks = s.stk.stacks(s.threads)
	}
	if o.Threads == nil {
		for _, g := range s.threads {
			o.Threads = append(o.Threads, g.info())
		}
	}
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
	s.snapshot()
	if s.tr != nil {
		s.tr.Kill()
	}
}

// snapshot records every thread's state for the report, once: at the end
// of the run, before the teardown kills them.
func (s *Scheduler) snapshot() {
	if s.out.Threads != nil {
		return
	}
	s.out.Threads = make([]ThreadInfo, 0, len(s.threads))
	for _, g := range s.threads {
		s.out.Threads = append(s.out.Threads, g.info())
	}
}

// cancelled reports whether the run is being cancelled from outside (a
// hang at the timeout): threads die from then on, and the report must
// show them as they were.
func (s *Scheduler) cancelled() bool {
	select {
	case <-s.cfg.Done:
		return true
	default:
		return false
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
	if c.Arch != intercept.ArchX86_64 {
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

// schedule picks the next thread to run, if none is running.
func (s *Scheduler) schedule(from *gthread) {
	quiet := s.quiet
	s.quiet = false
	if s.running != nil || s.ended {
		return
	}
	s.from = from
	if st := s.stretch; st != nil {
		s.out.Timeline = append(s.out.Timeline, Span{Thread: st.vtid, Start: s.stretchAt - monoBase, End: s.now - monoBase, Point: st.at, Woke: -1})
		s.stretch = nil
	}
	s.waker = from
	if !quiet {
		// Pollers are retried after a point that may have changed an
		// fd, not after an empty poll or user code: else two pollers
		// would retry each other forever (starving the threads that
		// could make them ready), and every mutex point of a worker
		// would release them again.
		s.epoch++
	}
	s.out.Steps++
	if s.cfg.MaxSteps > 0 && s.out.Steps > pointsPerStep*s.cfg.MaxSteps {
		s.end(Livelock, fmt.Sprintf("livelock: %d scheduling points without the run ending (-max-steps %d)", pointsPerStep*s.cfg.MaxSteps, s.cfg.MaxSteps))
		return
	}
	s.now += s.cfg.Quantum
	s.expireTimers()
	idle := 0
	for {
		s.pollFDs()
		s.checkSignals()
		runnable := s.scratch[:0]
		for _, g := range s.threads {
			if s.pickable(g) {
				runnable = append(runnable, g.vtid)
			}
		}
		s.scratch = runnable
		if len(runnable) > 0 && len(s.timers) > 0 && s.onlySpinning(runnable) {
			// Every thread that can run spins: time passes first.
			s.fireTimers()
			continue
		}
		runnable = s.spinOptions(runnable)
		if len(runnable) == 0 {
			// Periodic timers whose signals wake no thread would fire
			// forever: past a bound, only a thread's deadline counts.
			if idle++; idle <= maxIdleFires || s.threadTimerPending() {
				if s.fireTimers() {
					continue
				}
			}
			s.dog.external.Store(true)
			woke := s.waitExternal()
			s.dog.external.Store(false)
			if woke {
				continue
			}
			if s.anyLive() {
				if s.externalSignals() {
					continue
				}
				report := s.deadlockReport()
				if idle > maxIdleFires {
					report += "\n  (only periodic timers were pending, and their expirations wake no thread)"
				}
				s.end(Deadlock, report)
			}
			return
		}
		opts := runnable
		if s.cfg.IdleChoice && len(s.timers) > 0 && s.timers[0].g != nil && s.timers[0].when-s.now <= idleHorizon {
			// Time may pass early to a thread's deadline, not to a
			// timer of the guest's (its signal would come before the
			// thread that armed it has run on: alarm(1); pause()).
			opts = append(s.idleScratch[:0], IdleOption)
			opts = append(opts, runnable...)
			s.idleScratch = opts
		}
		choice, ok := s.decide(KindPick, opts, from.at)
		if !ok {
			return
		}
		if choice == IdleOption {
			before := s.now
			s.fireTimers()
			s.skipped += s.now - before
			continue
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

// pointsPerStep bounds a run's points by its decisions' limit
// (Config.MaxSteps).
const pointsPerStep = 64

// decide asks the Decider to choose among options (none asked if there
// is only one). ok is false if the run ended (a replay diverged, or the
// choice was not one of the options).
func (s *Scheduler) decide(kind Kind, options []int, at string) (choice int, ok bool) {
	if len(options) == 1 {
		return options[0], true
	}
	if s.decisions++; s.cfg.MaxSteps > 0 && s.decisions > s.cfg.MaxSteps {
		s.end(Livelock, fmt.Sprintf("livelock: %d decisions without the run ending (-max-steps)", s.cfg.MaxSteps))
		return 0, false
	}
	req := &Request{Kind: kind, Options: options, At: at, Thread: -1,
		Step: s.out.Steps, Now: s.now - monoBase, Pending: s.pending}
	if s.from != nil {
		req.Thread, req.Count = s.from.vtid, s.from.points
		req.Yield = kind == KindPick && s.from.yielding()
	}
	c, err := s.cfg.Decider.Choose(req)
	if err != nil {
		s.end(Diverged, err.Error())
		return 0, false
	}
	for _, o := range options {
		if o == c {
			return c, true
		}
	}
	s.end(Internal, fmt.Sprintf("%s decision at %s: choice %d is not one of %v", kind, at, c, options))
	return 0, false
}

// run releases g.
func (s *Scheduler) run(g *gthread) {
	if g.sig.ready {
		s.interrupt(g)
	}
	s.ranSignals(g)
	if s.cfg.Timeline {
		s.stretch, s.stretchAt = g, s.now
	}
	s.running = g
	g.state = stRunning
	s.armSpins(g)
	s.dog.running(g.pid, g.t.Tid, s.now-monoBase-s.skipped, g.t.CPUTicking())
	a := g.resume
	g.resume = intercept.Continue()
	if g.exitGroup {
		// exit_group kills every other thread of the process: none of
		// them may be picked while they die.
		s.dying[g.pid] = true
		s.setEnder(g)
	}
	g.recheck = false
	if g.fdDup >= 0 {
		unix.Close(g.fdDup)
		g.fdDup = -1
	}
	if g.restart {
		g.restart = false
		if err := s.reissue(g); err != nil && !s.killed(err) {
			s.end(Internal, fmt.Sprintf("restart t%d: %v", g.vtid, err))
			return
		}
	} else if g.io != nil && g.io.armed {
		// A transfer's first piece: non-blocking from now until its exit.
		s.startPiece(g)
	}
	if err := g.t.Resume(a); err != nil && !s.killed(err) {
		s.end(Internal, fmt.Sprintf("resume t%d: %v", g.vtid, err))
	}
}

// killed reports whether err, from restarting or resuming a thread, only
// says that the thread is gone (killed while held: its exit is reported
// like any other) or that the run is being torn down (a hang at its
// timeout): not a loss of track.
func (s *Scheduler) killed(err error) bool {
	return errors.Is(err, unix.ESRCH) || errors.Is(err, intercept.ErrThreadGone) || s.cancelled()
}

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

// deadlockReport says what every live thread waits on.
func (s *Scheduler) deadlockReport() string {
	var b strings.Builder
	b.WriteString("deadlock: no thread can run and no timer is pending\n")
	for _, g := range s.threads {
		if g.state == stExited {
			continue
		}
		fmt.Fprintf(&b, "  thread %d (tid %d, pid %d) at %s: ", g.vtid, g.t.Tid, g.pid, g.at)
		if w := g.waits(); w != "" {
			b.WriteString(w)
		} else {
			b.WriteString("is not blocked (state ")
			b.WriteString(strconv.Itoa(int(g.state)))
			b.WriteString(")")
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// waits says what a blocked thread waits on ("" if it is not blocked).
func (g *gthread) waits() string {
	if g.state != stBlocked {
		return ""
	}
	switch g.block {
	case blkFutex:
		return fmt.Sprintf("waits on futex %#x", g.fkey.addr)
	case blkChild:
		return "waits for a child process"
	case blkFD:
		return fmt.Sprintf("waits for fd %d", g.fd)
	case blkRetry:
		return "polls fds"
	case blkVfork:
		return fmt.Sprintf("waits for vfork child thread %d", g.vforkChild)
	case blkSignal:
		return "waits for a signal"
	case blkSignalFD:
		return "waits for a signal on a signalfd"
	case blkStopped:
		return "is stopped (job control), waits for SIGCONT"
	case blkSleep:
		return "sleeps"
	case blkFifo:
		if g.fifo != nil && g.fifo.read {
			return "waits for a writer to open a FIFO"
		}
		return "waits for a reader to open a FIFO"
	}
	return ""
}

// info describes g for reports.
func (g *gthread) info() ThreadInfo {
	ti := ThreadInfo{Vtid: g.vtid, Pid: g.pid, Parent: g.parent, Born: g.born,
		Points: g.points, Exited: g.state == stExited, Waits: g.waits()}
	n := min(g.points, len(g.last))
	for i := g.points - n + 1; i <= g.points; i++ {
		ti.Last = append(ti.Last, g.last[i%len(g.last)])
	}
	return ti
}

// setEnder records g as the thread that ended the first process.
func (s *Scheduler) setEnder(g *gthread) {
	if s.ender < 0 && len(s.threads) > 0 && g.pid == s.threads[0].pid {
		s.ender = g.vtid
	}
}
