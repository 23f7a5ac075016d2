package sched

import (
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// PointKind is the kind of scheduling point a thread is stopped at.
// Every kind is a deterministic place in the guest's execution (no
// hardware counters): a syscall entry, a thread's birth or death, a
// breakpoint hit counted per thread, or an access to a watched variable.
// Only PointPreempt depends on timing (see spin.go).
type PointKind uint8

const (
	// PointStart: a new thread, before its first instruction.
	PointStart PointKind = iota
	// PointSyscall: the entry of an intercepted syscall.
	PointSyscall
	// PointExit: a thread or process has exited and the others run on.
	PointExit
	// PointPreempt: the watchdog stopped a thread that ran too long
	// without reaching another point.
	PointPreempt
	// PointCall: a breakpoint at a function entry or a source line.
	PointCall
	// PointWatch: an access to a watched variable (or to the address of
	// a memory point's armed watch).
	PointWatch
	// PointSpin: a counted hit of a spin site (spin.go).
	PointSpin
	// PointMemory: a breakpoint before a sampled memory access.
	PointMemory
)

var pointNames = [...]string{"start", "syscall", "exit", "preempt", "call", "watch", "spin", "memory"}

func (k PointKind) String() string {
	if int(k) < len(pointNames) {
		return pointNames[k]
	}
	return "point" + strconv.Itoa(int(k))
}

// setPoint records that g is at a new scheduling point. name is the
// syscall or function; it appears in the decision trace as "t<vtid>:name".
func (s *Scheduler) setPoint(g *gthread, kind PointKind, name string, obj uint64) {
	if kind != PointSpin {
		g.spinReset()
	}
	if g.remapped {
		// The call that changed its mappings has run.
		g.remapped = false
		delete(s.maps, g.pid)
	}
	g.pk, g.pname, g.pobj = kind, name, obj
	g.at = "t" + strconv.Itoa(g.vtid) + ":" + name
	g.points++
	g.last[g.points%len(g.last)] = name
	if s.stk != nil {
		s.captureStack(g)
	}
}

// releasedInUserCode reports whether a thread released from a point of
// kind k, now at its next point, has run only user code since: no fd can
// have changed, since every syscall is a point (Subscription: all). Such
// a point is quiet: it does not make pollers retry (see schedule).
func releasedInUserCode(k PointKind) bool {
	return k == PointStart || k >= PointPreempt
}

// yield is the common path of a scheduling point reached by the running
// thread g: it is held where it stopped, becomes runnable, and the
// strategy picks who runs next.
func (s *Scheduler) yield(g *gthread) {
	g.t.Hold()
	s.running = nil
	g.state = stRunnable
	g.resume = intercept.Continue()
	s.schedule(g)
}

// yielding reports whether g gave up the CPU at its current point
// (Request.Yield): a sched_yield, or a preemption of a spin loop.
func (g *gthread) yielding() bool {
	return Event{Point: g.pk, Name: g.pname}.Yields()
}

// eventOf is Request.Pending.
func (s *Scheduler) eventOf(vtid int) Event {
	if vtid < 0 || vtid >= len(s.threads) {
		return Event{Thread: vtid}
	}
	return s.event(s.threads[vtid])
}

// event describes g's pending point for strategies (Request.Event).
func (s *Scheduler) event(g *gthread) Event {
	e := Event{Thread: g.vtid, Count: g.points, Point: g.pk, Name: g.pname, Obj: g.pobj}
	if e.Obj == 0 && g.state != stExited {
		switch g.pk {
		case PointSyscall:
			e.Obj = s.syscallObj(g, g.t.Syscall())
		case PointCall:
			e.Obj = callObj(g)
		}
	}
	return e
}

// syscallObj names the object a syscall touches, coarsely: fds are
// matched by number across processes (a pipe shared by a parent and its
// child usually has the same number in both), paths by their text.
func (s *Scheduler) syscallObj(g *gthread, c *intercept.Syscall) uint64 {
	if c.Arch != syscalls.X86_64 {
		return 0
	}
	path := func(i int) uint64 {
		p, _, err := g.t.Memory().ReadString(c.Args[i], 256)
		if err != nil {
			return 0
		}
		return objKeyString("path", p)
	}
	switch c.Nr {
	case unix.SYS_FUTEX:
		return objKey("futex", uint64(g.pid), c.Args[0])
	case unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV,
		unix.SYS_PREAD64, unix.SYS_PWRITE64, unix.SYS_LSEEK, unix.SYS_CLOSE,
		unix.SYS_RECVFROM, unix.SYS_RECVMSG, unix.SYS_SENDTO, unix.SYS_SENDMSG,
		unix.SYS_ACCEPT, unix.SYS_ACCEPT4, unix.SYS_CONNECT, unix.SYS_FSYNC,
		unix.SYS_FTRUNCATE, unix.SYS_FSTAT, unix.SYS_FLOCK, unix.SYS_FCNTL,
		unix.SYS_EPOLL_CTL, unix.SYS_EPOLL_WAIT, unix.SYS_EPOLL_PWAIT, unix.SYS_SENDFILE:
		return objKey("fd", c.Args[0])
	case unix.SYS_OPEN, unix.SYS_ACCESS, unix.SYS_STAT, unix.SYS_LSTAT,
		unix.SYS_UNLINK, unix.SYS_MKDIR, unix.SYS_RMDIR, unix.SYS_RENAME,
		unix.SYS_CREAT, unix.SYS_TRUNCATE, unix.SYS_CHMOD:
		return path(0)
	case unix.SYS_OPENAT, unix.SYS_FACCESSAT, unix.SYS_FACCESSAT2, unix.SYS_NEWFSTATAT,
		unix.SYS_UNLINKAT, unix.SYS_MKDIRAT, unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2,
		unix.SYS_STATX, unix.SYS_FCHMODAT:
		return path(1)
	case unix.SYS_WAIT4, unix.SYS_WAITID:
		return objKey("children", uint64(g.pid))
	case unix.SYS_KILL, unix.SYS_TGKILL:
		return objKey("signal", c.Args[0])
	case unix.SYS_EXIT_GROUP:
		return objKey("process", uint64(g.pid))
	}
	return 0
}
