package intercept

// Thin wrappers over ptrace(2) and wait4(2). Every function here must be
// called from the tracer's locked OS thread (see the package doc). They do no
// allocation and no retries: errors are returned as unix.Errno.

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Requests and options missing from x/sys.
const (
	reqGetSyscallInfo = 0x420e // PTRACE_GET_SYSCALL_INFO (Linux 5.3)
	reqListen         = 0x4208 // PTRACE_LISTEN
	reqGetSiginfo     = 0x4202 // PTRACE_GETSIGINFO
	reqSetSiginfo     = 0x4203 // PTRACE_SETSIGINFO

	// si_code values of SIGTRAP (asm-generic/siginfo.h).
	siKernel   = 0x80 // SI_KERNEL: int3
	trapBrkpt  = 1    // TRAP_BRKPT: step report at a syscall exit
	trapTrace  = 2    // TRAP_TRACE: single-step
	trapHWBkpt = 4    // TRAP_HWBKPT: debug-register breakpoint or watchpoint

	syscallInfoNone    = 0
	syscallInfoEntry   = 1
	syscallInfoExit    = 2
	syscallInfoSeccomp = 3

	auditArchX86_64 = 0xc000003e
	auditArchI386   = 0x40000003
	x32SyscallBit   = 0x40000000
)

// traceOptions are set on every tracee (auto-attached tracees inherit them).
const traceOptions = unix.PTRACE_O_TRACESYSGOOD |
	unix.PTRACE_O_TRACECLONE |
	unix.PTRACE_O_TRACEFORK |
	unix.PTRACE_O_TRACEVFORK |
	unix.PTRACE_O_TRACEVFORKDONE |
	unix.PTRACE_O_TRACEEXEC |
	unix.PTRACE_O_TRACEEXIT |
	unix.PTRACE_O_TRACESECCOMP |
	unix.PTRACE_O_EXITKILL

// syscallInfo mirrors struct ptrace_syscall_info (88 bytes on amd64). The
// union is flattened: for op entry/seccomp, Nr and Args hold nr and args; for
// op exit, Nr holds rval and Args[0]&0xff holds is_error.
type syscallInfo struct {
	Op      uint8
	_       [3]uint8
	Arch    uint32
	IP      uint64
	SP      uint64
	Nr      uint64
	Args    [6]uint64
	RetData uint32
	_       uint32
}

func ptrace(req int, pid int, addr, data uintptr) error {
	_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), addr, data, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func ptraceSeize(pid int, options int) error {
	return ptrace(unix.PTRACE_SEIZE, pid, 0, uintptr(options))
}

func ptraceCont(tid int, sig unix.Signal) error {
	return ptrace(unix.PTRACE_CONT, tid, 0, uintptr(sig))
}

func ptraceSyscall(tid int, sig unix.Signal) error {
	return ptrace(unix.PTRACE_SYSCALL, tid, 0, uintptr(sig))
}

func ptraceListen(tid int) error { return ptrace(reqListen, tid, 0, 0) }

func ptraceInterrupt(tid int) error { return ptrace(unix.PTRACE_INTERRUPT, tid, 0, 0) }

func ptraceSingleStep(tid int) error { return ptrace(unix.PTRACE_SINGLESTEP, tid, 0, 0) }

func ptraceDetach(tid int, sig unix.Signal) error {
	return ptrace(unix.PTRACE_DETACH, tid, 0, uintptr(sig))
}

func ptraceEventMsg(tid int) (uint64, error) {
	var msg uint64
	err := ptrace(unix.PTRACE_GETEVENTMSG, tid, 0, uintptr(unsafe.Pointer(&msg)))
	return msg, err
}

func ptraceGetSiginfo(tid int, si *unix.Siginfo) error {
	return ptrace(reqGetSiginfo, tid, 0, uintptr(unsafe.Pointer(si)))
}

func ptraceSetSiginfo(tid int, si *unix.Siginfo) error {
	return ptrace(reqSetSiginfo, tid, 0, uintptr(unsafe.Pointer(si)))
}

func ptraceGetSyscallInfo(tid int, info *syscallInfo) error {
	return ptrace(reqGetSyscallInfo, tid, unsafe.Sizeof(*info), uintptr(unsafe.Pointer(info)))
}

func ptraceGetRegs(tid int, regs *unix.PtraceRegs) error {
	return ptrace(unix.PTRACE_GETREGS, tid, 0, uintptr(unsafe.Pointer(regs)))
}

func ptraceSetRegs(tid int, regs *unix.PtraceRegs) error {
	return ptrace(unix.PTRACE_SETREGS, tid, 0, uintptr(unsafe.Pointer(regs)))
}

func ptracePokeUser(tid int, off uintptr, val uint64) error {
	return ptrace(unix.PTRACE_POKEUSR, tid, off, uintptr(val))
}

// ptracePeekUser reads one word of struct user. (At the system call level
// PEEK requests store the word at *data; the return value is only the
// error.)
func ptracePeekUser(tid int, off uintptr) (uint64, error) {
	var v uint64
	err := ptrace(unix.PTRACE_PEEKUSR, tid, off, uintptr(unsafe.Pointer(&v)))
	return v, err
}

// wait4 waits for a child or tracee of the calling thread only
// (__WNOTHREAD): several tracers may live in one process, each on its own
// locked thread, and none may steal another's (or os/exec's) children.
func wait4(pid int, status *unix.WaitStatus, opts int) (int, error) {
	for {
		wpid, err := unix.Wait4(pid, status, opts|unix.WALL|unix.WNOTHREAD, nil)
		if err == unix.EINTR {
			continue
		}
		return wpid, err
	}
}

// saveAffinity and restoreAffinity keep the tracer thread's CPU mask
// across a run (launch pins the thread to Options.CPU, see Options.Pin).
func saveAffinity() (unix.CPUSet, bool) {
	var set unix.CPUSet
	return set, unix.SchedGetaffinity(0, &set) == nil
}

func restoreAffinity(set *unix.CPUSet) bool { return unix.SchedSetaffinity(0, set) == nil }
