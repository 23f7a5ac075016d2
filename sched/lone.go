package sched

import (
	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// Points where no choice is possible (Config.LoneAfter).
//
// A scheduling point where only one thread can run makes no decision: the
// strategy is not asked and the seed file records nothing. Yet each costs
// a stop of the guest (the int3's trap, the tracer's bookkeeping, the
// original instruction run), and real programs make millions: node parses
// its CA certificates on its main thread while the others sleep, taking a
// read lock per certificate (1.6 of 1.8 million points in a run of
// realworld's workers.js made no decision).
//
// So once LoneAfter points in a row have each left one thread able to run
// (a lone stretch), the function points (Config.Points and YieldAt) of
// that thread's process are disabled (intercept.Process.DisableBreakpoint)
// and the thread runs on without stopping at them. Syscalls stay points.
// A stretch ends, and every disabled function point is enabled again
// before the thread goes on, at the first point where another thread can
// run, and at any syscall that might make one runnable once it has run (a
// write to a pipe wakes its reader after the entry's pick; the next point
// of the writer must stop). Only the calls in privateCalls, which act on
// the caller alone, let a stretch go on. Whatever else makes a thread
// runnable is noticed at a point too (a deadline passed, input from
// outside, a signal), so no point where a choice exists is passed: a run
// makes the same decisions with and without LoneAfter (TestLoneAfter).
//
// What changes is the count of points: the k-th hit in a point's name
// ("#k") counts the hits that stopped, and virtual time, which passes per
// point, passes more slowly while a thread is alone. Both follow from the
// decisions, so a run is as deterministic as before; a seed file records
// LoneAfter (replay.SeedFile.LoneAfter) and one without it replays with
// every point stopping, as it was recorded.
//
// Memory points, watchpoints, spin sites and rdtsc sites are left alone
// (the memory points are few and sampled; the others are not scheduling
// choices). A process that shares its address space (a vfork child and
// its parent) is never disabled: its breakpoints are the other's too. No
// process is disabled when a clone or an exec happens (neither call is
// private), so a fork child's text never holds a disabled int3 and a new
// image starts with its points enabled.
//
// Cost: each toggle writes one byte per planted function point, twice per
// lone stretch; LoneAfter bounds how often a stretch too short to pay
// for it is taken.

// loneState is a run's lone stretch: its length so far, and the processes
// whose function points it disabled.
type loneState struct {
	streak int
	procs  []int // pids, in the order disabled
}

// loneChoice notes the options of a pick: n threads could run before the
// spin filter (spin.go), opts is what the strategy chooses among. A
// single option that is the only runnable thread lengthens the stretch;
// anything else ends it.
func (s *Scheduler) loneChoice(n int, opts []int) {
	if s.cfg.LoneAfter <= 0 || s.pts == nil {
		return
	}
	if n != 1 || len(opts) != 1 || opts[0] < 0 || !s.from.private() {
		s.loneEnd()
		return
	}
	if s.lone.streak++; s.lone.streak >= s.cfg.LoneAfter {
		s.loneDisable(s.threads[opts[0]])
	}
}

// private reports whether g's point cannot have made another thread
// runnable: any but a syscall that might (a write to a pipe wakes its
// reader; a read, a writer waiting for room; a close, a poller). The
// calls models apply at their entry (futex wakes, kill) have done so
// before the pick. Only calls that act on the caller alone are private.
func (g *gthread) private() bool {
	if g.pk != PointSyscall {
		return true
	}
	c := g.t.Syscall()
	return c != nil && c.Arch == syscalls.X86_64 && privateCalls[c.Nr]
}

// privateCalls are the x86-64 syscalls that neither wake nor unblock
// another thread: queries of the caller's own state, its memory map, its
// signal dispositions and mask, and files' metadata. Node makes these
// between the read locks of its certificate parsing.
var privateCalls = map[int]bool{
	unix.SYS_CLOCK_GETTIME: true, unix.SYS_GETTIMEOFDAY: true, unix.SYS_TIME: true,
	unix.SYS_GETPID: true, unix.SYS_GETTID: true, unix.SYS_GETPPID: true,
	unix.SYS_GETUID: true, unix.SYS_GETGID: true, unix.SYS_GETEUID: true, unix.SYS_GETEGID: true,
	unix.SYS_CAPGET: true, unix.SYS_PRLIMIT64: true, unix.SYS_GETRLIMIT: true, unix.SYS_SYSINFO: true,
	unix.SYS_UNAME: true, unix.SYS_GETRUSAGE: true, unix.SYS_GETRANDOM: true,
	unix.SYS_SCHED_GETAFFINITY: true, unix.SYS_GETCWD: true,
	unix.SYS_BRK: true, unix.SYS_MMAP: true, unix.SYS_MPROTECT: true, unix.SYS_MUNMAP: true,
	unix.SYS_MADVISE: true, unix.SYS_MREMAP: true,
	unix.SYS_RT_SIGACTION: true, unix.SYS_RT_SIGPROCMASK: true, unix.SYS_SIGALTSTACK: true,
	unix.SYS_FSTAT: true, unix.SYS_NEWFSTATAT: true, unix.SYS_STATX: true, unix.SYS_LSEEK: true,
	unix.SYS_READLINK: true, unix.SYS_READLINKAT: true, unix.SYS_ACCESS: true, unix.SYS_FACCESSAT: true,
	unix.SYS_FACCESSAT2: true, unix.SYS_RSEQ: true, unix.SYS_SET_ROBUST_LIST: true,
}

// loneDisable disables the function points of g's process.
func (s *Scheduler) loneDisable(g *gthread) {
	pp := s.pts.procs[g.pid]
	p := g.t.Proc
	if pp == nil || pp.off || len(pp.names) == 0 || p.SharesBreakpoints() {
		return
	}
	for a := range pp.names {
		// A failed write leaves the int3 in place: its hits stop,
		// as without LoneAfter.
		p.DisableBreakpoint(a)
	}
	pp.off, pp.proc = true, p
	s.lone.procs = append(s.lone.procs, g.pid)
}

// loneEnd ends a lone stretch: every function point disabled is enabled.
func (s *Scheduler) loneEnd() {
	s.lone.streak = 0
	for _, pid := range s.lone.procs {
		pp := s.pts.procs[pid]
		if pp == nil || !pp.off {
			continue // exited, or a new image since (exec)
		}
		for a := range pp.names {
			pp.proc.EnableBreakpoint(a)
		}
		pp.off, pp.proc = false, nil
	}
	s.lone.procs = s.lone.procs[:0]
}
