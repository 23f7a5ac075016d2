// Package futexabi holds the futex(2) ABI constants (linux/futex.h),
// which golang.org/x/sys/unix does not define: the operation numbers and
// flags, shared by the syscall decoder and the scheduler's emulation.
package futexabi

// Operations (the low bits of futex_op).
const (
	Wait          = 0
	Wake          = 1
	FD            = 2
	Requeue       = 3
	CmpRequeue    = 4
	WakeOp        = 5
	LockPI        = 6
	UnlockPI      = 7
	TrylockPI     = 8
	WaitBitset    = 9
	WakeBitset    = 10
	WaitRequeuePI = 11
	CmpRequeuePI  = 12
	LockPI2       = 13
)

// Flags or'ed into futex_op.
const (
	Private       = 128
	ClockRealtime = 256
)

// BitsetMatchAny is the bitset of FUTEX_WAIT and FUTEX_WAKE.
const BitsetMatchAny = ^uint32(0)
