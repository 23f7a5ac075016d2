package sched

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

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
	// Livelock: the run reached Config.MaxSteps decisions (or 64 times
	// as many points).
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

func (s *Scheduler) note(what string) {
	for _, n := range s.out.Nondeterministic {
		if n == what {
			return
		}
	}
	s.out.Nondeterministic = append(s.out.Nondeterministic, what)
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
