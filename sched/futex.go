package sched

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/futexabi"
)

// futexKey identifies a futex word as the kernel's get_futex_key does: a
// private futex, or one in private memory, by its process (address
// space) and address; a shared futex in a shared mapping by the mapped
// file's device and inode and the word's offset in it (futexkey.go), so
// processes that map the same memory at different addresses meet.
type futexKey struct {
	pid  int // 0 for a shared mapping
	addr uint64
	dev  uint64
	ino  uint64
}

const (
	futexWait          = futexabi.Wait
	futexWake          = futexabi.Wake
	futexRequeue       = futexabi.Requeue
	futexCmpRequeue    = futexabi.CmpRequeue
	futexWakeOp        = futexabi.WakeOp
	futexWaitBitset    = futexabi.WaitBitset
	futexWakeBitset    = futexabi.WakeBitset
	futexPrivate       = futexabi.Private
	futexClockRealtime = futexabi.ClockRealtime
	futexBitsetAll     = futexabi.BitsetMatchAny
	futexOpOpargShift  = 8 // FUTEX_OP_OPARG_SHIFT, in the op field of WAKE_OP's val3
)

// futexCall is a futex(2) call's arguments; ts32 says its timeout is an
// i386 struct old_timespec32 (futex through int $0x80).
type futexCall struct {
	args [6]uint64
	ts32 bool
}

func (fc futexCall) timeout(mem *intercept.Memory) (int64, error) {
	if fc.ts32 {
		return readTimespec32(mem, fc.args[3])
	}
	return readTimespec(mem, fc.args[3])
}

// futex emulates futex(2) for g: no guest thread ever waits in the kernel.
func (s *Scheduler) futex(g *gthread, fc futexCall) {
	mem := g.t.Memory()
	a := fc.args
	uaddr, op, val := a[0], int(a[1]), uint32(a[2])
	cmd := op &^ (futexPrivate | futexClockRealtime)
	key := s.futexKeyOf(g, uaddr, op&futexPrivate != 0)
	switch cmd {
	case futexWait, futexWaitBitset:
		bitset := futexBitsetAll
		if cmd == futexWaitBitset {
			bitset = uint32(a[5])
			if bitset == 0 {
				g.resume = intercept.Emulate(intercept.Errno(unix.EINVAL))
				return
			}
		}
		cur, err := readU32(mem, uaddr)
		if err != nil {
			g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
			return
		}
		if cur != val {
			g.resume = intercept.Emulate(intercept.Errno(unix.EAGAIN))
			return
		}
		deadline := int64(-1)
		if a[3] != 0 {
			d, err := fc.timeout(mem)
			if err != nil {
				g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
				return
			}
			if cmd == futexWait {
				deadline = s.now + d // relative
			} else if op&futexClockRealtime != 0 {
				deadline = d - s.realBase + monoBase // absolute realtime
			} else {
				deadline = d // absolute monotonic
			}
		}
		s.block(g, blkFutex)
		g.fkey, g.fbitset = key, bitset
		s.futexes[key] = append(s.futexes[key], g)
		if deadline >= 0 {
			s.addTimer(g, deadline+timerSlack)
		}
	case futexWake, futexWakeBitset:
		bitset := futexBitsetAll
		if cmd == futexWakeBitset {
			bitset = uint32(a[5])
			if bitset == 0 {
				g.resume = intercept.Emulate(intercept.Errno(unix.EINVAL))
				return
			}
		}
		n := s.wakeFutex(key, int(int32(val)), bitset)
		g.resume = intercept.Emulate(int64(n))
	case futexRequeue, futexCmpRequeue:
		if cmd == futexCmpRequeue {
			cur, err := readU32(mem, uaddr)
			if err != nil {
				g.resume = intercept.Emulate(intercept.Errno(unix.EFAULT))
				return
			}
			if cur != uint32(a[5]) {
				g.resume = intercept.Emulate(intercept.Errno(unix.EAGAIN))
				return
			}
		}
		woken := s.wakeFutex(key, int(int32(val)), futexBitsetAll)
		moved := s.requeue(key, s.futexKeyOf(g, a[4], op&futexPrivate != 0), int(int32(a[3])))
		// Both count the waiters woken and those moved (the kernel's
		// futex_requeue; futex(2) says "woken" for FUTEX_REQUEUE).
		g.resume = intercept.Emulate(int64(woken + moved))
	case futexWakeOp:
		g.resume = s.wakeOp(g, a, op&futexPrivate != 0)
	default:
		s.end(Unsupported, fmt.Sprintf("unsupported: futex op %d (PI futexes are not emulated) at %s", cmd, g.at))
	}
}

// wakeFutex wakes up to n waiters on key whose bitset matches (n < 0:
// all). Which waiters is a decision. It returns how many it woke.
func (s *Scheduler) wakeFutex(key futexKey, n int, bitset uint32) int {
	woken := 0
	for n < 0 || woken < n {
		q := s.futexes[key]
		var idx []int
		for i, w := range q {
			if w.fbitset&bitset != 0 {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			break
		}
		pick := idx[0]
		if n >= 0 {
			c, ok := s.decide(KindWake, idx, "futex:"+strconv.Itoa(len(idx)))
			if !ok {
				return woken
			}
			pick = c
		}
		s.wake(q[pick], intercept.Emulate(0))
		woken++
	}
	return woken
}

// requeue moves up to n waiters from one futex to another, in FIFO order.
// Onto the same futex it moves them in place: the count is all it does
// (programs use it to count waiters).
func (s *Scheduler) requeue(from, to futexKey, n int) int {
	q := s.futexes[from]
	if from == to {
		if n < 0 || n > len(q) {
			return len(q)
		}
		return n
	}
	moved := 0
	for len(q) > 0 && (n < 0 || moved < n) {
		w := q[0]
		q = q[1:]
		w.fkey = to
		s.futexes[to] = append(s.futexes[to], w)
		moved++
	}
	if len(q) == 0 {
		delete(s.futexes, from)
	} else {
		s.futexes[from] = q
	}
	return moved
}

// wakeOp emulates FUTEX_WAKE_OP as the kernel's futex_wake_op does:
// *uaddr2 is updated by an operation encoded in val3, waiters on uaddr are
// woken, and waiters on uaddr2 too if the old value passes a comparison.
// The 12-bit operation and comparison arguments are signed; with
// FUTEX_OP_OPARG_SHIFT the operand is 1 << (oparg & 31). A bad operation
// fails with ENOSYS before *uaddr2 changes, a bad comparison after it,
// and neither wakes anyone.
func (s *Scheduler) wakeOp(g *gthread, a [6]uint64, private bool) intercept.Action {
	mem := g.t.Memory()
	uaddr2, enc := a[4], uint32(a[5])
	op := (enc >> 28) & 7
	cmp := (enc >> 24) & 15
	oparg := signExtend12(enc >> 12)
	cmparg := signExtend12(enc)
	if enc&(futexOpOpargShift<<28) != 0 {
		oparg = 1 << (uint32(oparg) & 31)
	}
	old, err := readU32(mem, uaddr2)
	if err != nil {
		return intercept.Emulate(intercept.Errno(unix.EFAULT))
	}
	var nv uint32
	switch op {
	case 0:
		nv = uint32(oparg)
	case 1:
		nv = old + uint32(oparg)
	case 2:
		nv = old | uint32(oparg)
	case 3:
		nv = old &^ uint32(oparg)
	case 4:
		nv = old ^ uint32(oparg)
	default:
		return intercept.Emulate(intercept.Errno(unix.ENOSYS))
	}
	if err := writeU32(mem, uaddr2, nv); err != nil {
		return intercept.Emulate(intercept.Errno(unix.EFAULT))
	}
	var ok bool
	switch o := int32(old); cmp {
	case 0:
		ok = o == cmparg
	case 1:
		ok = o != cmparg
	case 2:
		ok = o < cmparg
	case 3:
		ok = o <= cmparg
	case 4:
		ok = o > cmparg
	case 5:
		ok = o >= cmparg
	default:
		return intercept.Emulate(intercept.Errno(unix.ENOSYS))
	}
	n := s.wakeFutex(s.futexKeyOf(g, a[0], private), int(int32(a[2])), futexBitsetAll)
	if ok {
		n += s.wakeFutex(s.futexKeyOf(g, uaddr2, private), int(int32(a[3])), futexBitsetAll)
	}
	return intercept.Emulate(int64(n))
}

// signExtend12 is the low 12 bits of v as a signed number.
func signExtend12(v uint32) int32 { return int32(v<<20) >> 20 }

func readU32(mem *intercept.Memory, addr uint64) (uint32, error) {
	var b [4]byte
	if _, err := mem.ReadAt(b[:], int64(addr)); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func writeU32(mem *intercept.Memory, addr uint64, v uint32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	_, err := mem.WriteAt(b[:], int64(addr))
	return err
}

// readTimespec32 reads an i386 struct old_timespec32 as nanoseconds.
func readTimespec32(mem *intercept.Memory, addr uint64) (int64, error) {
	var b [8]byte
	if _, err := mem.ReadAt(b[:], int64(addr)); err != nil {
		return 0, err
	}
	return int64(int32(binary.LittleEndian.Uint32(b[:4])))*1e9 + int64(int32(binary.LittleEndian.Uint32(b[4:]))), nil
}

// readTimespec reads a struct timespec as nanoseconds.
func readTimespec(mem *intercept.Memory, addr uint64) (int64, error) {
	var b [16]byte
	if _, err := mem.ReadAt(b[:], int64(addr)); err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(b[:8]))*1e9 + int64(binary.LittleEndian.Uint64(b[8:])), nil
}

func writeTimespec(mem *intercept.Memory, addr uint64, ns int64) error {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(ns/1e9))
	binary.LittleEndian.PutUint64(b[8:], uint64(ns%1e9))
	_, err := mem.WriteAt(b[:], int64(addr))
	return err
}
