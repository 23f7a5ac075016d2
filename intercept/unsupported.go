package intercept

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// UnsupportedError ends a run whose guest did something the tracer cannot
// follow: it is a property of the program, not a failure of the tracer
// (Run has killed and reaped the guest, as after any error).
type UnsupportedError struct {
	What string // "i386 program /opt/old/tool"
}

func (e *UnsupportedError) Error() string { return "unsupported: " + e.What }

// userCS32 is the code segment of a 32-bit (compat mode) process on
// x86-64; 64-bit processes run in __USER_CS (0x33).
const userCS32 = 0x23

// check64 returns an *UnsupportedError if the process of tid, stopped at
// its entry point with regs, runs a 32-bit program: its initial stack
// and auxv have the i386 layout, which the tracer does not edit.
func check64(tid int, regs *unix.PtraceRegs) error {
	if regs.Cs != userCS32 {
		return nil
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(tid) + "/exe")
	if err != nil {
		exe = "(pid " + strconv.Itoa(tid) + ")"
	}
	return &UnsupportedError{What: "i386 program " + exe}
}
