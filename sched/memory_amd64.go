package sched

import (
	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/sched/points/memsites"
)

// regValue is the value of an address register in a thread's registers.
func regValue(regs *unix.PtraceRegs, r memsites.Reg) uint64 {
	switch r {
	case memsites.RAX:
		return regs.Rax
	case memsites.RCX:
		return regs.Rcx
	case memsites.RDX:
		return regs.Rdx
	case memsites.RBX:
		return regs.Rbx
	case memsites.RSP:
		return regs.Rsp
	case memsites.RBP:
		return regs.Rbp
	case memsites.RSI:
		return regs.Rsi
	case memsites.RDI:
		return regs.Rdi
	case memsites.R8:
		return regs.R8
	case memsites.R9:
		return regs.R9
	case memsites.R10:
		return regs.R10
	case memsites.R11:
		return regs.R11
	case memsites.R12:
		return regs.R12
	case memsites.R13:
		return regs.R13
	case memsites.R14:
		return regs.R14
	case memsites.R15:
		return regs.R15
	case memsites.RIP:
		return regs.Rip
	}
	return 0
}
