package intercept

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// Guarded calls. Whatever the tool decides, a guest may not escape tracing
// or reach the tracer with a signal; the tracer checks these calls itself
// when they are about to run (a call the tool emulates runs nothing):
//
//   - clone(CLONE_UNTRACED) would create a child the kernel does not
//     attach: it would run untraced and outlive the run. The flag is
//     removed (in clone's register, or in clone3's struct clone_args).
//   - kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo and
//     pidfd_send_signal aimed at a thread of the tracer process fail with
//     EPERM. The guest finds the tracer through getppid() (the first guest
//     process is the tracer's child) or TracerPid in /proc/self/status.
//   - kill(0, sig), kill(-pgrp, sig) and kill(-1, sig) aimed at a process
//     group holding the tracer (a guest run in the tracer's group, as trace
//     runs it, or one that found the group through getpgid(getppid())) go
//     to the guest processes of that group only: sent one by one by the
//     tracer, in pid order (EPERM if there is none). kill(-1) goes to every
//     other guest process.
//   - setpgid(pid, pgrp) into the tracer's process group, from a guest
//     not already in it, fails with EPERM: that is how a guest started in
//     a group of its own would reach the tracer's.
//   - fcntl(F_SETOWN, F_SETOWN_EX) and ioctl(FIOSETOWN, SIOCSPGRP) naming
//     the tracer or its group fail with EPERM: SIGIO and SIGURG would be
//     sent to it.
//
// The checks compare pids, so they apply only while the guest shares the
// tracer's pid namespace; in another one it cannot name the tracer at all.
// The guarded numbers are always in the seccomp filter; a tool that did
// not subscribe to them does not see them.

// Syscall numbers the guard knows, per ABI (i386 through int $0x80).
type guardNrs struct {
	kill, tkill, tgkill, sigqueue, tgsigqueue, pidfdSend int
	setpgid, fcntl, fcntl64, ioctl, clone, clone3        int
}

var (
	guardNative = guardNrs{kill: unix.SYS_KILL, tkill: unix.SYS_TKILL, tgkill: unix.SYS_TGKILL,
		sigqueue: unix.SYS_RT_SIGQUEUEINFO, tgsigqueue: unix.SYS_RT_TGSIGQUEUEINFO,
		pidfdSend: unix.SYS_PIDFD_SEND_SIGNAL, setpgid: unix.SYS_SETPGID, fcntl: unix.SYS_FCNTL,
		fcntl64: -1, ioctl: unix.SYS_IOCTL, clone: unix.SYS_CLONE, clone3: unix.SYS_CLONE3}
	guardI386 = guardNrs{kill: 37, tkill: 238, tgkill: 270, sigqueue: 178, tgsigqueue: 335,
		pidfdSend: 424, setpgid: 57, fcntl: 55, fcntl64: 221, ioctl: 54, clone: 120, clone3: 435}
)

// guardedSyscalls are the native numbers always in the filter.
func guardedSyscalls() []int {
	g := guardNative
	return []int{g.kill, g.tkill, g.tgkill, g.sigqueue, g.tgsigqueue, g.pidfdSend, g.setpgid, g.fcntl, g.ioctl, g.clone, g.clone3}
}

// Constants missing from x/sys.
const (
	cloneUntraced           = 0x00800000 // CLONE_UNTRACED
	pidfdSignalProcessGroup = 1 << 2     // PIDFD_SIGNAL_PROCESS_GROUP
	fOwnerTid               = 0          // F_OWNER_TID
	fOwnerPgrp              = 2          // F_OWNER_PGRP
	fioSetOwn               = 0x8901     // FIOSETOWN
	siocSPgrp               = 0x8902     // SIOCSPGRP
)

// guard is the tracer's identity as guests can name it.
type guard struct {
	self, pgrp int
	checked    bool // sameNS is known
	sameNS     bool // the guest shares our pid namespace
}

func newGuard() guard { return guard{self: os.Getpid(), pgrp: unix.Getpgrp()} }

// enabled reports whether pids the guest names are ours to compare.
func (g *guard) enabled(tid int) bool {
	if !g.checked {
		mine, err1 := os.Readlink("/proc/self/ns/pid")
		theirs, err2 := os.Readlink("/proc/" + strconv.Itoa(tid) + "/ns/pid")
		g.sameNS = err1 != nil || err2 != nil || mine == theirs
		g.checked = true
	}
	return g.sameNS
}

// isTracer reports whether pid names a thread of the tracer process.
func (g *guard) isTracer(pid int) bool {
	if pid <= 0 {
		return false
	}
	if pid == g.self {
		return true
	}
	_, err := os.Stat("/proc/self/task/" + strconv.Itoa(pid))
	return err == nil
}

// owner reports whether an F_SETOWN owner (pid, or -pgrp) is the tracer.
func (g *guard) owner(v int) bool {
	return g.isTracer(v) || (v < 0 && -v == g.pgrp)
}

// guardCall checks t's call, about to run: it may rewrite the call
// (t.call), or refuse it with a result for the guest.
func (tr *Tracer) guardCall(t *Thread) (ret int64, refuse bool) {
	c := &t.call
	var n *guardNrs
	switch c.Arch {
	case syscalls.X86_64, syscalls.X32:
		n = &guardNative
	case syscalls.I386:
		n = &guardI386
	default:
		return 0, false
	}
	// Every argument checked is a C int (pid_t, a command, an owner):
	// the kernel reads the low 32 bits of the register.
	arg := func(i int) int { return int(int32(c.Args[i])) }
	switch c.Nr {
	case n.clone:
		if c.Args[0]&cloneUntraced != 0 {
			c.Args[0] &^= cloneUntraced
		}
		return 0, false
	case n.clone3:
		return tr.guardClone3(t, c.Args[0], c.Args[1])
	}
	g := &tr.guard
	if !g.enabled(t.Tid) {
		return 0, false
	}
	eperm := Errno(unix.EPERM)
	switch c.Nr {
	case n.kill:
		pid := arg(0)
		switch {
		case pid == -1:
			return tr.killGuests(t, -1, arg(1)), true
		case pid == 0:
			if pg, err := unix.Getpgid(t.Tid); err == nil && pg == g.pgrp {
				return tr.killGuests(t, pg, arg(1)), true
			}
		case pid < 0:
			if -pid == g.pgrp {
				return tr.killGuests(t, -pid, arg(1)), true
			}
		case g.isTracer(pid):
			return eperm, true
		}
	case n.tkill, n.sigqueue:
		if g.isTracer(arg(0)) {
			return eperm, true
		}
	case n.tgkill, n.tgsigqueue:
		if g.isTracer(arg(0)) || g.isTracer(arg(1)) {
			return eperm, true
		}
	case n.pidfdSend:
		pid, ok := pidOfFD(t.Tid, arg(0))
		if ok && g.isTracer(pid) {
			return eperm, true
		}
		if ok && c.Args[3]&pidfdSignalProcessGroup != 0 {
			if pg, err := unix.Getpgid(pid); err == nil && pg == g.pgrp {
				return eperm, true
			}
		}
	case n.setpgid:
		if pg, err := unix.Getpgid(t.Tid); arg(1) == g.pgrp && (err != nil || pg != g.pgrp) {
			return eperm, true
		}
	case n.fcntl, n.fcntl64:
		switch arg(1) {
		case unix.F_SETOWN:
			if g.owner(arg(2)) {
				return eperm, true
			}
		case unix.F_SETOWN_EX:
			// struct f_owner_ex { int type; pid_t pid; }
			v, err := t.Proc.Mem.ReadUint64(c.Args[2])
			kind, pid := int32(v), int(int32(v>>32))
			if err == nil && ((kind == fOwnerPgrp && pid == g.pgrp) || (kind != fOwnerPgrp && g.isTracer(pid))) {
				return eperm, true
			}
		}
	case n.ioctl:
		if req := uint32(c.Args[1]); req == fioSetOwn || req == siocSPgrp {
			v, err := t.Proc.Mem.ReadUint64(c.Args[2])
			if err == nil && g.owner(int(int32(v))) {
				return eperm, true
			}
		}
	}
	return 0, false
}

// guardClone3 removes CLONE_UNTRACED from a clone3 call's struct
// clone_args (its first field) in guest memory; a struct it cannot
// rewrite makes the call fail with EPERM.
func (tr *Tracer) guardClone3(t *Thread, addr, size uint64) (int64, bool) {
	if size < 8 {
		return 0, false // the kernel refuses it (EINVAL)
	}
	flags, err := t.Proc.Mem.ReadUint64(addr)
	if err != nil || flags&cloneUntraced == 0 {
		return 0, false // unreadable: the kernel says EFAULT
	}
	var b [8]byte
	for i := range b {
		b[i] = byte((flags &^ cloneUntraced) >> (8 * i))
	}
	if _, err := t.Proc.Mem.WriteAt(b[:], int64(addr)); err != nil {
		return Errno(unix.EPERM), true
	}
	return 0, false
}

// killGuests sends sig, for t, to the guest processes of process group
// pgrp (every guest process but t's own for pgrp -1), in pid order, as
// kill(2) would have without reaching the tracer. It returns kill's
// result: 0 if one was signalled, EPERM if the group holds no guest
// process (ESRCH for -1), the first error otherwise.
func (tr *Tracer) killGuests(t *Thread, pgrp, sig int) int64 {
	var pids []int
	for pid := range tr.procs {
		if pgrp == -1 {
			if pid != t.Proc.Pid {
				pids = append(pids, pid)
			}
		} else if pg, err := unix.Getpgid(pid); err == nil && pg == pgrp {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		if pgrp == -1 {
			return Errno(unix.ESRCH)
		}
		return Errno(unix.EPERM)
	}
	slices.Sort(pids)
	var first error
	sent := false
	for _, pid := range pids {
		if err := unix.Kill(pid, unix.Signal(sig)); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		sent = true
	}
	if !sent {
		if e, ok := first.(unix.Errno); ok {
			return Errno(e)
		}
		return Errno(unix.EPERM)
	}
	return 0
}

// pidOfFD returns the pid a guest's pidfd (or /proc/PID directory fd)
// refers to.
func pidOfFD(tid, fd int) (int, bool) {
	if fd < 0 {
		return 0, false
	}
	base := "/proc/" + strconv.Itoa(tid)
	if info, err := os.ReadFile(base + "/fdinfo/" + strconv.Itoa(fd)); err == nil {
		for _, l := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(l, "Pid:"); ok {
				pid, err := strconv.Atoi(strings.TrimSpace(v))
				return pid, err == nil && pid > 0
			}
		}
	}
	link, err := os.Readlink(base + "/fd/" + strconv.Itoa(fd))
	if err != nil {
		return 0, false
	}
	if v, ok := strings.CutPrefix(link, "/proc/"); ok {
		if pid, err := strconv.Atoi(v); err == nil {
			return pid, true
		}
	}
	return 0, false
}

// with returns s plus nrs.
func (s Subscription) with(nrs []int) Subscription {
	if s.all {
		return s
	}
	out := Subscription{nums: make(map[int]bool, len(s.nums)+len(nrs))}
	for nr := range s.nums {
		out.nums[nr] = true
	}
	for _, nr := range nrs {
		out.nums[nr] = true
	}
	return out
}

// refuse makes t's call, which the tool let run with a, fail with ret
// instead: skipped (nr -1) with ret in rax, and reported to the tool's
// SyscallExit if a asked for it.
func (t *Thread) refuse(a Action, ret int64) error {
	if err := t.emulateResult(ret); err != nil {
		return err
	}
	if a.kind == actTraceExit {
		t.wantExit = true
	}
	return t.cont(0)
}
