package sched

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"os"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// Guest timers in virtual time. alarm(2), setitimer(2) and the POSIX
// timers (timer_create...) are emulated entirely: the kernel never sees
// them. Each armed timer is a deadline on the scheduler's clock (clock.go),
// so virtual time jumps to it when no thread can run; when it expires the
// tracer sends the signal the kernel would send, at that scheduling point,
// and the signal model (signals.go) takes it from there:
//
//   - alarm and ITIMER_REAL share one timer per process; ITIMER_VIRTUAL
//     and ITIMER_PROF count virtual time too (the guest's CPU clocks are
//     virtual time, see clockNow), with SIGVTALRM and SIGPROF. They are
//     not inherited by fork and survive execve. Their signal is
//     process-directed and reaches a handler with si_code SI_KERNEL, as
//     the kernel sends it (it is queued as SI_QUEUE, which is all a
//     tracer may send, and rewritten at delivery; sigwaitinfo sees the
//     queued one).
//   - POSIX timers (SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE; glibc's
//     SIGEV_THREAD is SIGEV_THREAD_ID to its helper thread) send their
//     signal with the kernel's siginfo (SI_TIMER, timer id, overrun,
//     sigev_value). While the previous signal of a timer is still
//     pending, expirations are counted as overruns instead. Timer ids are
//     allocated from 0 per process; execve and exit delete the timers.
//   - Periodic timers that expired several times while the clock jumped
//     count the missed expirations as overruns (one signal).
//
// timerfds keep their real file, so read, poll, select and epoll work on
// it natively; only the arming is virtual. timerfd_settime and
// timerfd_gettime are emulated, and an expiry sets the file's expiration
// count through a duplicate of it held by the tracer (pidfd_getfd: the
// same open file description) with TFD_IOC_SET_TICKS, which the kernel
// has with CONFIG_CHECKPOINT_RESTORE; without it, the duplicate is armed
// for real with an absolute time in the past and the tracer waits until
// it is readable (then a read returns at most one expiration per firing).
// A timerfd is known by the guest's (pid, fd) pairs that refer to it
// (timerfd_settime on an fd whose file is already known, compared with
// kcmp, adds a pair); close, dup2 and dup3 drop pairs, a fork copies a
// process's pairs, an execve drops the pairs whose fd it closed. The last
// pair's close disarms it.

type timerKind uint8

const (
	tkItimer timerKind = iota
	tkPosix
	tkTimerfd
)

// guestTimer is one timer of the guest.
type guestTimer struct {
	kind     timerKind
	pid      int
	tid      int         // SIGEV_THREAD_ID: the target thread (0: the process)
	signo    unix.Signal // 0: no signal (SIGEV_NONE)
	value    uint64      // sigev_value
	id       int         // POSIX timer id
	clock    int         // for absolute times
	interval int64
	ht       *timer // the armed deadline (nil: disarmed)
	overrun  int    // expirations since the last signal was queued
	reported int    // timer_getoverrun: the overrun of the last signal
	dup      int    // timerfd: the tracer's duplicate
	keys     int    // timerfd: the guest's (pid, fd) pairs
}

// procTimers are a process's interval and POSIX timers.
type procTimers struct {
	itimer [3]*guestTimer
	posix  []*guestTimer // by id; nil once deleted
}

type timerfdKey struct{ pid, fd int }

// timerfds are the timerfds the guest armed.
type timerfds struct {
	keys map[timerfdKey]*guestTimer
	all  []*guestTimer // in creation order
}

const (
	siKernel = 0x80 // SI_KERNEL
	siQueue  = -1   // SI_QUEUE
	siTimer  = -2   // SI_TIMER

	sigevSignal   = 0
	sigevNone     = 1
	sigevThreadID = 4

	tfdIocSetTicks = 0x40085400 // TFD_IOC_SET_TICKS, _IOW('T', 0, u64)
	kcmpFile       = 0          // KCMP_FILE

	// timerMarker is the sigev value of the SIGALRM of an interval timer
	// as queued by the tracer (see signalDelivered).
	timerMarker = 0x5c4edf022a1a3e00

	// maxIdleFires bounds the timer expirations one pick may wait for
	// while no thread can run and no thread has a deadline.
	maxIdleFires = 1000
)

// timerCall emulates the timer syscalls. It reports whether the call is
// settled.
func (s *Scheduler) timerCall(g *gthread, c *intercept.Syscall) bool {
	mem := g.t.Memory()
	ret := func(v int64) bool { g.resume = intercept.Emulate(v); return true }
	errno := func(e unix.Errno) bool { return ret(intercept.Errno(e)) }
	switch c.Nr {
	case unix.SYS_ALARM:
		gt := s.itimer(g.pid, 0)
		left := s.remaining(gt)
		s.armAfter(gt, int64(uint32(c.Args[0]))*1e9, 0)
		sec := left / 1e9
		if ns := left % 1e9; sec == 0 && ns > 0 || ns >= 5e8 {
			sec++ // alarm_setitimer: never 0 for a pending alarm
		}
		return ret(sec)
	case unix.SYS_SETITIMER, unix.SYS_GETITIMER:
		which := int(int32(c.Args[0]))
		if which < 0 || which > 2 {
			return errno(unix.EINVAL)
		}
		gt := s.itimer(g.pid, which)
		var interval, value int64
		if c.Nr == unix.SYS_SETITIMER && c.Args[1] != 0 {
			var ok bool
			if interval, value, ok = readTimerPair(mem, c.Args[1], true); !ok {
				return errno(unix.EFAULT)
			}
			if interval < 0 || value < 0 {
				return errno(unix.EINVAL)
			}
		}
		out := c.Args[1]
		if c.Nr == unix.SYS_SETITIMER {
			out = c.Args[2]
		}
		if out != 0 && !writeTimerPair(mem, out, gt.interval, s.remaining(gt), true) {
			return errno(unix.EFAULT)
		}
		if c.Nr == unix.SYS_SETITIMER {
			s.armAfter(gt, value, interval)
		}
		return ret(0)
	case unix.SYS_TIMER_CREATE:
		return s.timerCreate(g, c)
	case unix.SYS_TIMER_SETTIME, unix.SYS_TIMER_GETTIME, unix.SYS_TIMER_GETOVERRUN, unix.SYS_TIMER_DELETE:
		ps := s.proc(g.pid)
		id := int(int32(c.Args[0]))
		if id < 0 || id >= len(ps.timers.posix) || ps.timers.posix[id] == nil {
			return errno(unix.EINVAL)
		}
		gt := ps.timers.posix[id]
		switch c.Nr {
		case unix.SYS_TIMER_GETOVERRUN:
			return ret(int64(gt.reported))
		case unix.SYS_TIMER_DELETE:
			s.disarm(gt)
			ps.timers.posix[id] = nil
			return ret(0)
		case unix.SYS_TIMER_GETTIME:
			if !writeTimerPair(mem, c.Args[1], gt.interval, s.remaining(gt), false) {
				return errno(unix.EFAULT)
			}
			return ret(0)
		}
		return s.settime(g, gt, c.Args[1], c.Args[2], c.Args[3], 1)
	case unix.SYS_TIMERFD_SETTIME, unix.SYS_TIMERFD_GETTIME:
		gt, e := s.timerfdOf(g.pid, int(int32(c.Args[0])))
		if e != 0 {
			return errno(e)
		}
		if c.Nr == unix.SYS_TIMERFD_GETTIME {
			if !writeTimerPair(mem, c.Args[1], gt.interval, s.remaining(gt), false) {
				return errno(unix.EFAULT)
			}
			return ret(0)
		}
		if c.Args[1]&^3 != 0 { // TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET
			return errno(unix.EINVAL)
		}
		// A setting resets the expiration count (timerfd_setup).
		unix.TimerfdSettime(gt.dup, 0, &unix.ItimerSpec{}, nil)
		return s.settime(g, gt, c.Args[1], c.Args[2], c.Args[3], 1)
	case unix.SYS_CLOSE:
		s.dropTimerfd(timerfdKey{g.pid, int(int32(c.Args[0]))})
	case unix.SYS_DUP2, unix.SYS_DUP3:
		if c.Args[0] != c.Args[1] {
			s.dropTimerfd(timerfdKey{g.pid, int(int32(c.Args[1]))})
		}
	}
	return false
}

// settime is timer_settime and timerfd_settime: flags&abs is the
// absolute-time flag.
func (s *Scheduler) settime(g *gthread, gt *guestTimer, flags, newp, oldp uint64, abs uint64) bool {
	mem := g.t.Memory()
	interval, value, ok := readTimerPair(mem, newp, false)
	if !ok {
		g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
		return true
	}
	if interval < 0 || value < 0 {
		g.resume = intercept.Emulate(intercept.Errno(unix.EINVAL))
		return true
	}
	if oldp != 0 && !writeTimerPair(mem, oldp, gt.interval, s.remaining(gt), false) {
		g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
		return true
	}
	if flags&abs != 0 && value != 0 {
		value = max(s.monoOf(gt.clock, value)-s.now, 1)
	}
	s.armAfter(gt, value, interval)
	g.resume = intercept.Emulate(0)
	return true
}

// monoOf converts an absolute time on clock to the virtual monotonic
// clock (see clockNow).
func (s *Scheduler) monoOf(clock int, t int64) int64 {
	switch clock {
	case unix.CLOCK_REALTIME, unix.CLOCK_REALTIME_ALARM, unix.CLOCK_TAI:
		return t - s.realBase + monoBase
	case unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME, unix.CLOCK_BOOTTIME_ALARM:
		return t
	}
	return t + monoBase // CPU-time clocks count virtual time from 0
}

// timerCreate emulates timer_create(2).
func (s *Scheduler) timerCreate(g *gthread, c *intercept.Syscall) bool {
	mem := g.t.Memory()
	errno := func(e unix.Errno) bool {
		g.resume = intercept.Emulate(intercept.Errno(e))
		return true
	}
	clock := int(int32(c.Args[0]))
	switch clock {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_PROCESS_CPUTIME_ID,
		unix.CLOCK_THREAD_CPUTIME_ID, unix.CLOCK_BOOTTIME, unix.CLOCK_REALTIME_ALARM,
		unix.CLOCK_BOOTTIME_ALARM, unix.CLOCK_TAI:
	default:
		if clock >= 0 { // negative ids are the CPU clocks of a thread or process
			return errno(unix.EINVAL)
		}
	}
	ps := s.proc(g.pid)
	gt := &guestTimer{kind: tkPosix, pid: g.pid, id: len(ps.timers.posix), clock: clock}
	gt.signo, gt.value = unix.SIGALRM, uint64(gt.id)
	if p := c.Args[1]; p != 0 {
		var b [20]byte
		if _, err := mem.ReadAt(b[:], int64(p)); err != nil {
			return errno(unix.EFAULT)
		}
		gt.value = binary.LittleEndian.Uint64(b[0:])
		signo := int32(binary.LittleEndian.Uint32(b[8:]))
		notify := int32(binary.LittleEndian.Uint32(b[12:]))
		tid := int(int32(binary.LittleEndian.Uint32(b[16:])))
		switch notify {
		case sigevNone:
			gt.signo = 0
		case sigevSignal, sigevSignal | sigevThreadID:
			if signo < 1 || signo > 64 {
				return errno(unix.EINVAL)
			}
			gt.signo = unix.Signal(signo)
			if notify&sigevThreadID != 0 {
				if !s.threadOf(g.pid, tid) {
					return errno(unix.EINVAL)
				}
				gt.tid = tid
			}
		default:
			return errno(unix.EINVAL)
		}
	}
	var id [4]byte
	binary.LittleEndian.PutUint32(id[:], uint32(gt.id))
	if _, err := mem.WriteAt(id[:], int64(c.Args[2])); err != nil {
		return errno(unix.EFAULT)
	}
	ps.timers.posix = append(ps.timers.posix, gt)
	g.resume = intercept.Emulate(0)
	return true
}

// threadOf reports whether tid is a live thread of process pid.
func (s *Scheduler) threadOf(pid, tid int) bool {
	for _, g := range s.threads {
		if g.pid == pid && g.t.Tid == tid && g.state != stExited {
			return true
		}
	}
	return false
}

// itimer returns process pid's interval timer which (ITIMER_*).
func (s *Scheduler) itimer(pid, which int) *guestTimer {
	ps := s.proc(pid)
	if ps.timers.itimer[which] == nil {
		sig := [3]unix.Signal{unix.SIGALRM, unix.SIGVTALRM, unix.SIGPROF}[which]
		ps.timers.itimer[which] = &guestTimer{kind: tkItimer, pid: pid, signo: sig, clock: unix.CLOCK_MONOTONIC}
	}
	return ps.timers.itimer[which]
}

// remaining is the time until gt expires (0: disarmed). An armed timer
// whose deadline has come but which has not fired yet shows 1 ns.
func (s *Scheduler) remaining(gt *guestTimer) int64 {
	if gt == nil || gt.ht == nil {
		return 0
	}
	return max(gt.ht.when-s.now, 1)
}

// armAfter arms gt to expire after value ns, then every interval ns
// (value 0 disarms it).
func (s *Scheduler) armAfter(gt *guestTimer, value, interval int64) {
	s.disarm(gt)
	gt.overrun = 0
	if value <= 0 {
		gt.interval = 0
		return
	}
	gt.interval = interval
	s.timerSeq++
	gt.ht = &timer{when: s.now + value, seq: s.timerSeq, gt: gt}
	heap.Push(&s.timers, gt.ht)
}

// disarm cancels gt's deadline.
func (s *Scheduler) disarm(gt *guestTimer) {
	if gt.ht != nil && gt.ht.index >= 0 {
		heap.Remove(&s.timers, gt.ht.index)
	}
	gt.ht = nil
}

// fireGuest handles the expiry of a guest timer at deadline when.
func (s *Scheduler) fireGuest(gt *guestTimer, when int64) {
	gt.ht = nil
	count := 1
	if gt.interval > 0 {
		missed := (s.now - when) / gt.interval
		count += int(missed)
		s.timerSeq++
		gt.ht = &timer{when: when + (missed+1)*gt.interval, seq: s.timerSeq, gt: gt}
		heap.Push(&s.timers, gt.ht)
	}
	switch gt.kind {
	case tkTimerfd:
		s.tickTimerfd(gt, count)
	case tkItimer:
		info := siginfo(gt.signo, siQueue, 0, 0, timerMarker)
		if sigqueue(gt.pid, 0, gt.signo, &info) == nil {
			s.markSent(gt.pid)
		}
	case tkPosix:
		s.signalPosix(gt, count)
	}
}

// signalPosix sends the signal of a POSIX timer that expired count times,
// or counts them as overruns while its previous signal is pending.
func (s *Scheduler) signalPosix(gt *guestTimer, count int) {
	if gt.signo == 0 {
		return
	}
	target := gt.tid
	if target == 0 {
		target = gt.pid
	}
	if st, ok := readSigStatus(target); ok {
		pending := st.shd
		if gt.tid != 0 {
			pending |= st.pnd
		}
		if pending&sigBit(gt.signo) != 0 {
			gt.overrun += count
			return
		}
	}
	over := gt.overrun + count - 1
	info := siginfo(gt.signo, siTimer, uint32(gt.id), uint32(over), gt.value)
	if sigqueue(gt.pid, gt.tid, gt.signo, &info) == nil {
		gt.reported, gt.overrun = over, 0
		s.markSent(gt.pid)
	}
}

// siginfo builds a siginfo_t: the union's first two ints (si_pid and
// si_uid, or si_tid and si_overrun for SI_TIMER) and si_value.
func siginfo(sig unix.Signal, code int32, a, b uint32, value uint64) [128]byte {
	var si [128]byte
	binary.LittleEndian.PutUint32(si[0:], uint32(sig))
	binary.LittleEndian.PutUint32(si[8:], uint32(code))
	binary.LittleEndian.PutUint32(si[16:], a)
	binary.LittleEndian.PutUint32(si[20:], b)
	binary.LittleEndian.PutUint64(si[24:], value)
	return si
}

// isTimerMarker reports whether info is the SIGALRM of an interval timer
// as the tracer queued it.
func isTimerMarker(info *unix.Siginfo) bool {
	if info == nil || info.Code != siQueue {
		return false
	}
	b := (*[128]byte)(unsafe.Pointer(info))
	return binary.LittleEndian.Uint64(b[16:]) == 0 && binary.LittleEndian.Uint64(b[24:]) == timerMarker
}

// sigqueue queues sig with info to process tgid (tid 0) or its thread tid.
func sigqueue(tgid, tid int, sig unix.Signal, info *[128]byte) error {
	var errno unix.Errno
	if tid == 0 {
		_, _, errno = unix.Syscall(unix.SYS_RT_SIGQUEUEINFO, uintptr(tgid), uintptr(sig), uintptr(unsafe.Pointer(info)))
	} else {
		_, _, errno = unix.Syscall6(unix.SYS_RT_TGSIGQUEUEINFO, uintptr(tgid), uintptr(tid), uintptr(sig), uintptr(unsafe.Pointer(info)), 0, 0)
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// timerfdOf returns the timer of the guest's timerfd (pid, fd), known or
// new; e is EBADF or EINVAL if fd is not a timerfd.
func (s *Scheduler) timerfdOf(pid, fd int) (*guestTimer, unix.Errno) {
	tf := &s.timerfds
	key := timerfdKey{pid, fd}
	if gt := tf.keys[key]; gt != nil {
		return gt, 0
	}
	dup, ok := s.dupFD(pid, fd)
	if !ok {
		return nil, unix.EBADF
	}
	if !isAnonFD(dup, "[timerfd]") {
		unix.Close(dup)
		return nil, unix.EINVAL
	}
	if tf.keys == nil {
		tf.keys = map[timerfdKey]*guestTimer{}
	}
	self := os.Getpid()
	for _, gt := range tf.all {
		if sameFile(self, dup, self, gt.dup) {
			unix.Close(dup)
			gt.keys++
			tf.keys[key] = gt
			return gt, 0
		}
	}
	clock, _ := fdinfoField(dup, "clockid:", 10)
	gt := &guestTimer{kind: tkTimerfd, pid: pid, clock: int(clock), dup: dup, keys: 1}
	tf.all = append(tf.all, gt)
	tf.keys[key] = gt
	return gt, 0
}

// sameFile reports whether fd1 of pid1 and fd2 of pid2 are the same open
// file description (kcmp(2)).
func sameFile(pid1, fd1, pid2, fd2 int) bool {
	r, _, errno := unix.Syscall6(unix.SYS_KCMP, uintptr(pid1), uintptr(pid2), kcmpFile, uintptr(fd1), uintptr(fd2), 0)
	return errno == 0 && r == 0
}

// dropTimerfd forgets the guest's fd key; the timer goes with its last key.
func (s *Scheduler) dropTimerfd(key timerfdKey) {
	tf := &s.timerfds
	gt := tf.keys[key]
	if gt == nil {
		return
	}
	delete(tf.keys, key)
	if gt.keys--; gt.keys > 0 {
		return
	}
	s.disarm(gt)
	unix.Close(gt.dup)
	for i, o := range tf.all {
		if o == gt {
			tf.all = append(tf.all[:i], tf.all[i+1:]...)
			break
		}
	}
}

// tickTimerfd adds count expirations to a timerfd's count, and retries the
// threads that poll: the file may be among their fds.
func (s *Scheduler) tickTimerfd(gt *guestTimer, count int) {
	ticks, _ := fdinfoField(gt.dup, "ticks:", 10)
	n := ticks + uint64(count)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(gt.dup), tfdIocSetTicks, uintptr(unsafe.Pointer(&n)))
	if errno == unix.ENOTTY || errno == unix.EINVAL {
		// No TFD_IOC_SET_TICKS: let the real timer expire at once.
		its := unix.ItimerSpec{Value: unix.Timespec{Nsec: 1}}
		if unix.TimerfdSettime(gt.dup, unix.TFD_TIMER_ABSTIME, &its, nil) == nil {
			pfd := []unix.PollFd{{Fd: int32(gt.dup), Events: unix.POLLIN}}
			for i := 0; i < 100; i++ {
				if n, _ := unix.Poll(pfd, 10); n > 0 {
					break
				}
			}
		}
	}
	for _, g := range s.threads {
		if g.state == stBlocked && g.block == blkRetry && !g.sig.ready {
			s.retryPoll(g)
		}
	}
}

// readTimerPair reads a struct itimerspec (or, if val, a struct
// itimerval): the interval, then the value, in ns. Fields out of range
// give a negative result.
func readTimerPair(mem *intercept.Memory, addr uint64, val bool) (interval, value int64, ok bool) {
	var b [32]byte
	if _, err := mem.ReadAt(b[:], int64(addr)); err != nil {
		return 0, 0, false
	}
	unit, lim := int64(1), int64(1e9)
	if val {
		unit, lim = 1000, 1e6
	}
	conv := func(o int) int64 {
		sec, sub := int64(binary.LittleEndian.Uint64(b[o:])), int64(binary.LittleEndian.Uint64(b[o+8:]))
		if sec < 0 || sub < 0 || sub >= lim {
			return -1
		}
		return sec*1e9 + sub*unit
	}
	return conv(0), conv(16), true
}

// writeTimerPair writes an itimerspec (or an itimerval).
func writeTimerPair(mem *intercept.Memory, addr uint64, interval, value int64, val bool) bool {
	var b [32]byte
	put := func(o int, ns int64) {
		sub := ns % 1e9
		if val {
			sub /= 1000
		}
		binary.LittleEndian.PutUint64(b[o:], uint64(ns/1e9))
		binary.LittleEndian.PutUint64(b[o+8:], uint64(sub))
	}
	put(0, interval)
	put(16, value)
	_, err := mem.WriteAt(b[:], int64(addr))
	return err == nil
}

// threadTimerPending reports whether some thread waits for a deadline.
func (s *Scheduler) threadTimerPending() bool {
	for _, t := range s.timers {
		if t.g != nil {
			return true
		}
	}
	return false
}

// forkSignals gives a forked child its parent's signalfd flag and
// timerfds (not its timers: fork does not inherit them).
func (s *Scheduler) forkSignals(child, parent int) {
	pp := s.procs[parent]
	if pp == nil {
		return
	}
	s.proc(child).signalfd = pp.signalfd
	var copied []timerfdKey
	for k := range s.timerfds.keys {
		if k.pid == parent {
			copied = append(copied, timerfdKey{child, k.fd})
		}
	}
	sortKeys(copied)
	for _, k := range copied {
		gt := s.timerfds.keys[timerfdKey{parent, k.fd}]
		gt.keys++
		s.timerfds.keys[k] = gt
	}
}

// execSignals: execve deletes the POSIX timers, keeps the interval
// timers, and closes the close-on-exec fds; a pending signal that the new
// program's default handlers ignore no longer interrupts.
func (s *Scheduler) execSignals(g *gthread) {
	ps := s.procs[g.pid]
	if ps == nil {
		return
	}
	for _, gt := range ps.timers.posix {
		if gt != nil {
			s.disarm(gt)
		}
	}
	ps.timers.posix = nil
	var gone []timerfdKey
	self := os.Getpid()
	for k, gt := range s.timerfds.keys {
		if k.pid == g.pid && !sameFile(g.pid, k.fd, self, gt.dup) {
			gone = append(gone, k)
		}
	}
	sortKeys(gone)
	for _, k := range gone {
		s.dropTimerfd(k)
	}
	s.markDirty(g.pid)
}

// exitSignals forgets a process that exited: its timers stop.
func (s *Scheduler) exitSignals(pid int) {
	if ps := s.procs[pid]; ps != nil {
		for _, gt := range ps.timers.itimer {
			if gt != nil {
				s.disarm(gt)
			}
		}
		for _, gt := range ps.timers.posix {
			if gt != nil {
				s.disarm(gt)
			}
		}
		delete(s.procs, pid)
	}
	var gone []timerfdKey
	for k := range s.timerfds.keys {
		if k.pid == pid {
			gone = append(gone, k)
		}
	}
	sortKeys(gone)
	for _, k := range gone {
		s.dropTimerfd(k)
	}
}

// sortKeys orders timerfd keys taken from the map.
func sortKeys(keys []timerfdKey) {
	slices.SortFunc(keys, func(a, b timerfdKey) int { return cmp.Or(a.pid-b.pid, a.fd-b.fd) })
}
