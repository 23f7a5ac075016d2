package sched

import (
	"time"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
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
	// (once, from the watchdog's goroutine, which holds its lock: it must
	// not call the Scheduler) when the run's time reaches it, or
	// when it has not grown for StallFactor times the limit. The run's
	// time is the CPU time of the guest (not the tracer's), the time the
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
	// TrapRDTSC makes every rdtsc and rdtscp of the guest trap
	// (PR_SET_TSC) from the start. Without it, a run with points other
	// than syscalls answers the rdtsc instructions of the code it maps
	// through breakpoints instead (tsc.go), and ends as Rerun with
	// Outcome.TrapRDTSC set if the guest makes code it cannot see
	// (anonymous executable memory: a JIT): the run must then be made
	// again with TrapRDTSC. Both give the guest the same counter values.
	TrapRDTSC bool
	// LoneAfter, if positive, disables the function points of a thread's
	// process once this many points in a row have each left it the only
	// thread that can run, until more than one can (lone.go); 0: every
	// point stops.
	LoneAfter int
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
