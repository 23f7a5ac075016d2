package sched

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// Calls made through the i386 ABI (int $0x80) from a 64-bit process. Their
// numbers follow the i386 table and their arguments are 32 bits wide. The
// futex calls are emulated like the native ones (a wait in the kernel
// would hang the run) and the clock and sleep calls run on the virtual
// clock; io_uring is refused as it is natively. Other i386 calls run as
// they are.
const (
	i386Time                 = 13
	i386Gettimeofday         = 78
	i386Nanosleep            = 162
	i386Futex                = 240
	i386ClockGettime         = 265
	i386ClockNanosleep       = 267
	i386ClockGettime64       = 403
	i386ClockNanosleepTime64 = 407
	i386Futex64              = 422
	i386IoUringSetup         = 425
	i386IoUringEnter         = 426
	i386IoUringRegister      = 427
)

// syscall386 applies the deterministic model to an i386 call.
func (s *Scheduler) syscall386(g *gthread, c *intercept.Syscall) {
	var a [6]uint64
	for i, v := range c.Args {
		a[i] = uint64(uint32(v)) // the kernel sees the low 32 bits
	}
	mem := g.t.Memory()
	fault := intercept.Emulate(intercept.Errno(unix.EFAULT))
	switch c.Nr {
	case i386Futex, i386Futex64:
		s.futex(g, futexCall{args: a, ts32: c.Nr == i386Futex})
	case i386Time:
		sec := s.clockNow(unix.CLOCK_REALTIME) / 1e9
		if a[0] != 0 && writeU32(mem, a[0], uint32(sec)) != nil {
			g.resume = fault
			return
		}
		g.resume = intercept.Emulate(sec)
	case i386Gettimeofday:
		g.resume = intercept.Emulate(0)
		if a[0] != 0 {
			ns := s.clockNow(unix.CLOCK_REALTIME)
			if writePair32(mem, a[0], ns/1e9, ns%1e9/1000) != nil {
				g.resume = fault
			}
		}
	case i386ClockGettime, i386ClockGettime64:
		ns := s.clockNow(int(int32(a[0])))
		var err error
		if c.Nr == i386ClockGettime {
			err = writePair32(mem, a[1], ns/1e9, ns%1e9)
		} else {
			err = writeTimespec(mem, a[1], ns)
		}
		g.resume = intercept.Emulate(0)
		if err != nil {
			g.resume = fault
		}
	case i386Nanosleep:
		d, err := readTimespec32(mem, a[0])
		if err != nil {
			g.resume = fault
			return
		}
		s.sleepUntil(g, s.now+d)
	case i386ClockNanosleep, i386ClockNanosleepTime64:
		read := readTimespec
		if c.Nr == i386ClockNanosleep {
			read = readTimespec32
		}
		d, err := read(mem, a[2])
		if err != nil {
			g.resume = fault
			return
		}
		if a[1]&1 != 0 { // TIMER_ABSTIME
			s.sleepUntil(g, d-s.clockNow(int(int32(a[0])))+s.now)
		} else {
			s.sleepUntil(g, s.now+d)
		}
	case i386IoUringSetup, i386IoUringEnter, i386IoUringRegister:
		g.resume = intercept.Emulate(intercept.Errno(unix.ENOSYS))
	}
}

// writePair32 writes two 32-bit integers (struct old_timespec32, struct
// old_timeval32).
func writePair32(mem *intercept.Memory, addr uint64, a, b int64) error {
	var buf [8]byte
	binary.LittleEndian.PutUint32(buf[:4], uint32(a))
	binary.LittleEndian.PutUint32(buf[4:], uint32(b))
	_, err := mem.WriteAt(buf[:], int64(addr))
	return err
}
