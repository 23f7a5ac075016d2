package intercept

import "golang.org/x/sys/unix"

// Offsets into struct user_regs_struct for PTRACE_POKEUSER.
const (
	offRAX     = 10 * 8
	offOrigRAX = 15 * 8
)

// syscallInsnLen is the length of the instructions that enter the kernel
// for a syscall on amd64: `syscall` (0f 05) and `int $0x80` (cd 80).
const syscallInsnLen = 2

// syscallInsn is the encoding of `syscall`.
var syscallInsn = [2]byte{0x0f, 0x05}

// setSyscallRegs loads a syscall number and its arguments into regs
// following the x86-64 syscall ABI.
func setSyscallRegs(regs *unix.PtraceRegs, nr int, args [6]uint64) {
	regs.Orig_rax = uint64(nr)
	regs.Rax = uint64(nr)
	regs.Rdi = args[0]
	regs.Rsi = args[1]
	regs.Rdx = args[2]
	regs.R10 = args[3]
	regs.R8 = args[4]
	regs.R9 = args[5]
}

// setCallRegs loads a syscall number and its arguments into regs following
// the ABI the call was made through (see Arch).
func setCallRegs(regs *unix.PtraceRegs, arch Arch, nr int, args [6]uint64) {
	switch arch {
	case ArchI386:
		regs.Orig_rax = uint64(nr)
		regs.Rax = uint64(nr)
	case ArchX32:
		regs.Orig_rax = uint64(nr | x32SyscallBit)
		regs.Rax = regs.Orig_rax
	default:
		regs.Orig_rax = uint64(nr)
		regs.Rax = uint64(nr)
	}
	setArgRegs(regs, arch, args)
}

// setArgRegs loads a call's arguments into regs, leaving the number and
// the result alone.
func setArgRegs(regs *unix.PtraceRegs, arch Arch, args [6]uint64) {
	if arch == ArchI386 {
		regs.Rbx, regs.Rcx, regs.Rdx = args[0], args[1], args[2]
		regs.Rsi, regs.Rdi, regs.Rbp = args[3], args[4], args[5]
		return
	}
	regs.Rdi, regs.Rsi, regs.Rdx = args[0], args[1], args[2]
	regs.R10, regs.R8, regs.R9 = args[3], args[4], args[5]
}

// syscallArgs returns the six argument registers.
func syscallArgs(regs *unix.PtraceRegs) [6]uint64 {
	return [6]uint64{regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9}
}
