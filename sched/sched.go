package sched

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/sched/points"
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
	lone      loneState // the current lone stretch (lone.go)
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

// TracerOptions are the intercept options a scheduled run needs: the
// guest's time, randomness and address space layout come from the run,
// not from the machine.
func (s *Scheduler) TracerOptions() intercept.Options {
	var r [16]byte
	s.rng.Read(r[:])
	return intercept.Options{DisableASLR: true, DisableVDSO: true, TrapRDTSC: s.trapsRDTSC(),
		KillOnRootExit: true, AtRandom: &r, CPUTick: tickPeriod(s.cfg.Preempt)}
}

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
		n := len(runnable)
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
		s.loneChoice(n, opts)
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
