package explore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/sandbox"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
	"github.com/schedfuzz/schedfuzz/sched/points"
)

// Target is the program under test.
type Target struct {
	Path string   // resolved executable
	Args []string // argv, including argv[0]
	Env  []string
	Dir  string
}

// Config configures one run.
type Config struct {
	Seed uint64
	// Timeout is the run's time limit: a run whose time reaches it is a
	// hang. The run's time is what it used, not what the machine took:
	// the CPU time of the guest and of the tracer, the time the guest
	// was blocked for real, and its virtual time (sched.Config.Timeout).
	// Wall time is a last resort: a run whose time stops growing for
	// sched.StallFactor times the limit is a hang too.
	Timeout time.Duration
	// Pin pins the run to CPU (intercept.Options.Pin); the zero Config
	// pins nothing. CPUs is the CPU count the guest sees.
	Pin  bool
	CPU  int
	CPUs int
	// Strategy chooses the run's schedule (zero value: random); Hint is
	// what it may learn from earlier runs.
	Strategy Spec
	Hint     Hint
	// Faults makes syscall results decisions too (sched.Config.Faults).
	Faults bool
	// MaxSteps ends a run after this many decisions as a livelock (0: no
	// limit; sched.Config.MaxSteps).
	MaxSteps int
	// Epoch is the guest's realtime clock at the start of the run, in
	// Unix seconds (0: sched.DefaultEpoch; sched.Config.Epoch).
	Epoch int64
	// LoneAfter lets a thread alone pass its function points
	// (sched.Config.LoneAfter; 0: every point stops).
	LoneAfter int
	// Replay, if non-nil, replaces the strategy by a recorded trace: the
	// run must follow it to its end (replay.Follower), else it ends as
	// Diverged with Result.Divergence saying where. The Strategy and
	// Faults of the recorded run must be given too: they decide which
	// questions the scheduler asks.
	Replay []sched.Decision
	// Timeline records the run's timeline (sched.Config.Timeline).
	Timeline bool
	// Points, YieldAt and Watch add scheduling points beyond syscalls
	// (sched.Config); Symbols caches parsed ELF files across runs and
	// Plan their resolution (made from Points and YieldAt, or nil).
	Points  points.Set
	YieldAt []points.Spec
	Watch   []points.Watch
	Symbols *symbols.Cache
	Plan    *points.Plan
	// Spins are spin sites known before the run (a replay's, from its
	// seed file); the run adds those it finds (Result.Spins).
	Spins []sched.SpinSite
	// Memory configures the memory points of Points == points.Memory;
	// each run adds Hint.Shared to it.
	Memory sched.MemoryConfig
	// Decider, if set, makes the run's choices instead of Strategy or
	// Replay (the minimizer's guided schedules); they are recorded too.
	Decider sched.Decider
	// Stacks and StackAt capture the threads' call stacks at their
	// points, for reports (sched.Config.Stacks): replay a failing run
	// with them.
	Stacks  bool
	StackAt func(thread, point int) bool
	// Stdin is the guest's standard input (nil: StdinFile, or
	// /dev/null). StdinFile names a file opened afresh for each run, so
	// that runs going on at once do not share its offset.
	Stdin     *os.File
	StdinFile string
	// OutputLimit is how much of the guest's stdout and of its stderr a
	// run keeps: the last OutputLimit bytes of each (default
	// DefaultOutputLimit); the rest is discarded as it is written
	// (capture.go).
	OutputLimit int
	// Behavior records what the program did (Result.Behavior: its
	// system calls, hashed, and the results of those that depend on the
	// world) and the files it changed outside its sandbox
	// (Result.Outside). It costs a stop per world call (open, stat...);
	// a replay also keeps every call's text (Result.Calls).
	Behavior bool
	// Sandbox, if set, runs the guest in namespaces of its own: fresh
	// /tmp, /var/tmp and /dev/shm, a copy-on-write working directory, its
	// own pids, host name, IPC and network (package intercept/sandbox).
	Sandbox *sandbox.Pool
	// TrapRDTSC traps every rdtsc of the guest from the start
	// (sched.Config.TrapRDTSC). Without it a run whose guest makes code
	// the scheduler cannot see (a JIT) is made again with it; TSCLearned,
	// if set, is shared by a session's runs: the first such rerun sets
	// it and later runs trap from the start. Guided runs (Decider) always
	// trap. The guest's counter values are the same either way.
	TrapRDTSC  bool
	TSCLearned *atomic.Bool
}

// Result is the outcome of one run.
type Result struct {
	Seed uint64
	// Points is the point set the run used (Config.Points, or what a
	// session's MemoryEvery made of it).
	Points    points.Set
	Status    unix.WaitStatus
	Outcome   sched.Outcome
	Hang      bool
	Decisions []sched.Decision
	// Divergence, for a replay whose Outcome.Kind is Diverged, says where
	// and how the run left the trace.
	Divergence *replay.DivergenceError
	Stdout     []byte
	Stderr     []byte
	// StdoutDropped and StderrDropped count the bytes written before
	// the kept tails (Config.OutputLimit).
	StdoutDropped, StderrDropped int64
	// Wall is the wall time of the run and of the runs made before it
	// for new spin sites (Reruns of them); Spins are its spin sites.
	Wall   time.Duration
	Reruns int
	Spins  []sched.SpinSite
	// CPUWait is how long the tracer and guest threads of the run (and
	// of its Reruns) waited for their CPU, if pinned
	// (intercept.Result.CPUWait): timing, for the session's choice of
	// CPUs.
	CPUWait time.Duration
	// keys[i] is where Decisions[i] was made (for the minimizer).
	keys []decisionKey
	// cut, for a hang, is the steps it had completed when it was cut.
	cut int
	// Behavior and Outside, with Config.Behavior: what the program did
	// and the files it changed outside its sandbox.
	Behavior *replay.Behavior
	Outside  []replay.Change
	beh      *behaviorLog
}

// ReplaySteps is the -max-steps a seed file of r needs for its replay to
// end where r ended, or 0 if r ended by itself (the run's own limit
// applies). A hang was cut after some steps, and a replay that goes on
// past them would need decisions the seed does not have: it ends there
// instead, as a livelock, if the program is still stuck.
func (r *Result) ReplaySteps() int {
	if !r.Hang {
		return 0
	}
	return max(r.cut, 1)
}

// Calls returns the text of a replay's calls of thread at its points in
// (from, to] (strace-style), if they were kept (Config.Behavior).
func (r *Result) Calls(thread, from, to int) []string {
	if r.beh == nil {
		return nil
	}
	return r.beh.callsBetween(thread, from, to)
}

// Opened lists the files a replay's program opened, but libraries, in
// the order first opened (Config.Behavior).
func (r *Result) Opened() []string {
	if r.beh == nil {
		return nil
	}
	return r.beh.opened
}

// LastCalls returns the text of a replay's last n calls of thread.
func (r *Result) LastCalls(thread, n int) []string {
	if r.beh == nil || thread < 0 || thread >= len(r.beh.threads) {
		return nil
	}
	log := r.beh.threads[thread].log
	var out []string
	for _, l := range log[max(0, len(log)-n):] {
		out = append(out, l.text)
	}
	return out
}

// Failed reports whether the run found a bug.
func (r *Result) Failed() bool {
	switch r.Outcome.Kind {
	case sched.Deadlock, sched.Livelock:
		return true
	case sched.Finished:
		return r.Hang || !r.Status.Exited() || r.Status.ExitStatus() != 0
	}
	return false
}

// Describe says how the run ended, in a few words ("exit 1",
// "signal SIGSEGV", "deadlock", "hang").
func (r *Result) Describe() string {
	switch {
	case r.Hang:
		return "hang"
	case r.Outcome.Kind != sched.Finished:
		return r.Outcome.Kind.String()
	case r.Status.Exited():
		return fmt.Sprintf("exit %d", r.Status.ExitStatus())
	case r.Status.Signaled():
		return "signal " + unix.SignalName(r.Status.Signal())
	}
	return fmt.Sprintf("status %#x", uint32(r.Status))
}

// Run runs the target once.
//
// A run in which a thread spins at a loop that is not one of cfg.Spins yet
// is made again from the start with that loop as a spin site (see
// sched/spin.go), up to maxReruns times; Result.Spins are the sites of the
// run returned, Result.Reruns how many runs it took before. Replays and
// guided runs (cfg.Replay, cfg.Decider) are never made again for a spin
// site. A run whose guest makes code of its own (a JIT) without
// cfg.TrapRDTSC is made again with it, replays included (the guest reads
// the same rdtsc values either way; guided runs always trap).
func Run(ctx context.Context, tgt *Target, cfg Config) (*Result, error) {
	if cfg.OutputLimit <= 0 {
		cfg.OutputLimit = DefaultOutputLimit
	}
	var wall, waited time.Duration
	for rerun, spinReruns := 0, 0; ; rerun++ {
		again := cfg.Replay == nil && cfg.Decider == nil && spinReruns < maxReruns
		r, err := runOnce(ctx, tgt, cfg, again)
		if r != nil {
			wall, waited = wall+r.Wall, waited+r.CPUWait
			r.Wall, r.CPUWait, r.Reruns, r.Spins = wall, waited, rerun, cfg.Spins
		}
		if err != nil || r.Outcome.Kind != sched.Rerun {
			return r, err
		}
		if r.Outcome.TrapRDTSC {
			// (A parallel run may have set TSCLearned meanwhile: this
			// run was made without the trap all the same.)
			cfg.TrapRDTSC = true
			if cfg.TSCLearned != nil {
				cfg.TSCLearned.Store(true)
			}
			continue
		}
		spinReruns++
		cfg.Spins = r.Outcome.Spins
	}
}

// trapRDTSC reports whether the run traps rdtsc from the start.
func (cfg *Config) trapRDTSC() bool {
	return cfg.TrapRDTSC || cfg.Decider != nil || cfg.TSCLearned != nil && cfg.TSCLearned.Load()
}

// maxReruns bounds how many times one run is made again for new spin
// sites.
const maxReruns = 8

// runOnce makes one run; again lets it end as sched.Rerun.
func runOnce(ctx context.Context, tgt *Target, cfg Config, again bool) (*Result, error) {
	rec := &recorder{}
	var follow *replay.Follower
	switch {
	case cfg.Decider != nil:
		rec.d = cfg.Decider
	case cfg.Replay != nil:
		follow = replay.NewFollower(cfg.Replay)
		rec.d = follow
	default:
		rec.d = strategyDecider{cfg.Strategy.New(cfg.Seed, cfg.Hint)}
	}
	runCtx, timedOut := context.WithCancelCause(ctx)
	defer timedOut(nil)
	mem := cfg.Memory
	if mem.Plant == nil {
		mem.Shared = cfg.Hint.Shared
	}
	var beh *behaviorLog
	var observer sched.Observer
	if cfg.Behavior {
		var inside []string
		if cfg.Sandbox != nil {
			inside = cfg.Sandbox.Inside()
		}
		beh = newBehaviorLog(inside, cfg.Replay != nil)
		observer = beh
	}
	s := sched.New(sched.Config{Decider: rec, Seed: cfg.Seed, CPUs: cfg.CPUs, Done: runCtx.Done(),
		Timeout: cfg.Timeout, OnTimeout: func() { timedOut(errTimeout) },
		Preempt: replayPreempt(cfg.Replay), IdleChoice: cfg.Strategy.idle(), Faults: cfg.Faults,
		MaxSteps: cfg.MaxSteps, Epoch: cfg.Epoch, LoneAfter: cfg.LoneAfter, Timeline: cfg.Timeline,
		Points: cfg.Points, YieldAt: cfg.YieldAt, Watch: cfg.Watch, Symbols: cfg.Symbols, Plan: cfg.Plan,
		Stacks: cfg.Stacks, StackAt: cfg.StackAt, Spins: cfg.Spins, SpinRerun: again,
		Memory: mem, Observer: observer, TrapRDTSC: cfg.trapRDTSC()})
	stdout, err := newCapture(cfg.OutputLimit)
	if err != nil {
		return nil, err
	}
	stderr, err := newCapture(cfg.OutputLimit)
	if err != nil {
		stdout.close()
		return nil, err
	}
	if cfg.Stdin == nil && cfg.StdinFile != "" {
		in, err := os.Open(cfg.StdinFile)
		if err != nil {
			stdout.close()
			stderr.close()
			return nil, fmt.Errorf("standard input: %w", err)
		}
		defer in.Close()
		cfg.Stdin = in
	}
	opts := s.TracerOptions()
	opts.Pin, opts.CPU = cfg.Pin, cfg.CPU
	if cfg.Sandbox != nil {
		opts.Sandbox = cfg.Sandbox.Run()
	}
	start := time.Now()
	res, err := startRetrying(runCtx, &intercept.Command{
		Path: tgt.Path, Args: tgt.Args, Env: tgt.Env, Dir: tgt.Dir, Stdin: cfg.Stdin,
		Stdout: stdout.w, Stderr: stderr.w,
	}, s, opts)
	r := &Result{Seed: cfg.Seed, Points: cfg.Points, Wall: time.Since(start)}
	r.Stdout, r.StdoutDropped = stdout.close()
	r.Stderr, r.StderrDropped = stderr.close()
	r.Outcome = s.Outcome()
	r.Decisions, r.keys = rec.decisions, rec.keys
	if beh != nil {
		r.Behavior, r.Outside, r.beh = &beh.b, beh.changes, beh
	}
	if hungUp(ctx, runCtx, res, err, r.Outcome.Kind) {
		// A hang is a result: whatever the kill at the timeout did to
		// the run (a start-up step interrupted, a thread gone while
		// being restarted, a status of SIGKILL, an error of the
		// teardown) is its consequence, never a tool failure.
		r.Hang, r.cut = true, len(r.Decisions)
		err = nil
		if r.Outcome.Kind == sched.Internal {
			r.Outcome.Kind, r.Outcome.Report = sched.Finished, ""
		}
	}
	var ue *intercept.UnsupportedError
	if errors.As(err, &ue) {
		// A program the tracer cannot follow (an i386 exec): a result.
		r.Outcome.Kind, r.Outcome.Report = sched.Unsupported, ue.Error()
		err = nil
	}
	if err != nil {
		return r, err
	}
	if res != nil {
		r.Status, r.CPUWait = res.Status, res.CPUWait
	}
	if follow != nil {
		r.divergence(follow)
	}
	return r, nil
}

// errTimeout is the cause of a run's cancellation at its timeout.
var errTimeout = errors.New("run timed out")

// hungUp reports whether a run ended by its own timeout (not by the
// caller's cancellation): the run was cancelled for its timeout and ended
// with an error, killed, or with the scheduler having lost track of
// threads the kill took away. A run that finished by itself is not a
// hang, even if the timeout passed while it was being reaped.
func hungUp(ctx, runCtx context.Context, res *intercept.Result, err error, kind sched.OutcomeKind) bool {
	if ctx.Err() != nil || !errors.Is(context.Cause(runCtx), errTimeout) {
		return false
	}
	killed := res != nil && res.Status.Signaled() && res.Status.Signal() == unix.SIGKILL
	return err != nil || res == nil || killed || kind == sched.Internal
}

// strategyDecider makes a Strategy a Decider.
type strategyDecider struct{ s sched.Strategy }

func (d strategyDecider) Choose(r *sched.Request) (int, error) { return d.s.Choose(r), nil }

// recorder records what a Decider chose, and for the minimizer where:
// the key of each decision (thread, its k-th point) and whether it was
// a preemption.
type recorder struct {
	d         sched.Decider
	decisions []sched.Decision
	keys      []decisionKey
}

func (r *recorder) Choose(req *sched.Request) (int, error) {
	c, err := r.d.Choose(req)
	if err == nil {
		r.decisions = append(r.decisions, sched.Decision{Kind: req.Kind, Choice: c, Options: slices.Clone(req.Options), At: req.At})
		r.keys = append(r.keys, keyOf(req, c))
	}
	return c, err
}

// replayPreempt is the watchdog's limit for a replay of trace. The
// watchdog preempts by wall-clock time, so on a loaded machine it can fire
// where the recorded run had no preemption, and the replay would diverge
// there. A trace without preemption points never needs one: the recorded
// run reached a syscall at every step, so the replay, taking the same
// steps, does too. The watchdog then stays out of the way (a changed
// program that now spins ends at the run's timeout, as a divergence).
// Traces with preemption points, and exploration runs, keep the default.
func replayPreempt(trace []sched.Decision) time.Duration {
	if trace == nil {
		return 0
	}
	for _, d := range trace {
		if strings.HasSuffix(d.At, ":preempt") {
			return 0
		}
	}
	return time.Hour
}

// divergence records a replay's divergence: one the follower reported
// during the run, or a run that ended before it used the whole trace.
func (r *Result) divergence(f *replay.Follower) {
	own := f.Err()
	d := f.Finish()
	if d == nil {
		return
	}
	r.Divergence = d
	switch {
	case r.Outcome.Kind != sched.Diverged:
		// The run ended (or hung) short of the trace: what it ended
		// with is not what was recorded.
		ended := r.Describe()
		r.Outcome.Kind = sched.Diverged
		r.Outcome.Report = fmt.Sprintf("%s (the run: %s)", d, ended)
	case own == nil && r.Outcome.Report != "":
		// The scheduler stopped the run for a reason of its own (a
		// recorded memory point that moved): that reason first.
		r.Outcome.Report = fmt.Sprintf("%s (%s)", r.Outcome.Report, d)
	default:
		r.Outcome.Report = d.Error()
	}
}
