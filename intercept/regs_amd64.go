//go:build linux && amd64

package intercept

// The architecture contract. Everything that knows the amd64 register
// layout, the syscall ABI or the instruction set is in the _amd64.go files
// of this package; the rest is architecture-neutral and uses only the
// names below (and unix.PtraceRegs's PC and SetPC). A port to another
// architecture (arm64) provides the same names in its own _arm64.go files;
// `GOARCH=arm64 go build -gcflags=-e ./intercept/` lists what is missing.
//
//   - regs_amd64.go: the syscall ABI on a register set: sysNr, ret, setRet,
//     setNoSyscall, sp, setSyscallRegs, setCallRegs, setArgRegs; the same
//     on a stopped thread: pokePC, pokeRet, pokeNoSyscall; syscallInsn and
//     syscallInsnLen; cloneArgs (the clone family's argument order);
//     check64 (refusing compat-mode programs).
//   - insn_amd64.go: breakpoints' instruction set: int3, int3Len,
//     maxInsnLen, insn and its kinds (insnStep, insnSyscall, insnNop),
//     decodeInsn and insn.emulate; Thread.RDTSC.
//   - debugregs_amd64.go: hardware watchpoints: NumWatchSlots, dr7Bits,
//     maxUserAddr, Thread.syncDebugRegs and Thread.watchHits.

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

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
// the ABI the call was made through (see syscalls.Arch).
func setCallRegs(regs *unix.PtraceRegs, arch syscalls.Arch, nr int, args [6]uint64) {
	switch arch {
	case syscalls.I386:
		regs.Orig_rax = uint64(nr)
		regs.Rax = uint64(nr)
	case syscalls.X32:
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
func setArgRegs(regs *unix.PtraceRegs, arch syscalls.Arch, args [6]uint64) {
	if arch == syscalls.I386 {
		regs.Rbx, regs.Rcx, regs.Rdx = args[0], args[1], args[2]
		regs.Rsi, regs.Rdi, regs.Rbp = args[3], args[4], args[5]
		return
	}
	regs.Rdi, regs.Rsi, regs.Rdx = args[0], args[1], args[2]
	regs.R10, regs.R8, regs.R9 = args[3], args[4], args[5]
}

// cloneArgs reads the flags and child-tid pointer of the clone that parent
// is stopped in.
func cloneArgs(parent *Thread) (flags, clearTID uint64) {
	var regs unix.PtraceRegs
	if ptraceGetRegs(parent.Tid, &regs) != nil {
		return 0, 0
	}
	switch regs.Orig_rax {
	case unix.SYS_CLONE:
		return regs.Rdi, regs.R10
	case unix.SYS_CLONE3:
		// struct clone_args { flags, pidfd, child_tid, ... }
		f, err := parent.Proc.Mem.ReadUint64(regs.Rdi)
		if err != nil {
			return 0, 0
		}
		ctid, _ := parent.Proc.Mem.ReadUint64(regs.Rdi + 16)
		return f, ctid
	case unix.SYS_FORK:
		return uint64(unix.SIGCHLD), 0
	case unix.SYS_VFORK:
		return unix.CLONE_VM | unix.CLONE_VFORK | uint64(unix.SIGCHLD), 0
	}
	return 0, 0
}

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

// pokePC sets the instruction pointer of tid, stopped.
func pokePC(tid int, pc uint64) error { return ptracePokeUser(tid, offRIP, pc) }

// pokeRet sets the syscall return register of tid, stopped at a syscall.
func pokeRet(tid int, v uint64) error { return ptracePokeUser(tid, offRAX, v) }

// pokeNoSyscall makes the call tid is stopped at the entry of no call
// (number -1): the kernel skips it, leaving the return register as the
// tracer set it.
func pokeNoSyscall(tid int) error { return ptracePokeUser(tid, offOrigRAX, ^uint64(0)) }

// sysNr is the number of the syscall regs were read in (orig_rax), negative
// outside one.
func sysNr(regs *unix.PtraceRegs) int64 { return int64(regs.Orig_rax) }

// ret is the syscall return register.
func ret(regs *unix.PtraceRegs) uint64 { return regs.Rax }

// setRet sets the syscall return register.
func setRet(regs *unix.PtraceRegs, v uint64) { regs.Rax = v }

// setNoSyscall is pokeNoSyscall on a register set.
func setNoSyscall(regs *unix.PtraceRegs) { regs.Orig_rax = ^uint64(0) }

// sp is the stack pointer.
func sp(regs *unix.PtraceRegs) uint64 { return regs.Rsp }
