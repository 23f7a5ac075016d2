package sched

import (
	"math/rand/v2"

	"github.com/schedfuzz/schedfuzz/intercept"
)

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
