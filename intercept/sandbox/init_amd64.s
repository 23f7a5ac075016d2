#include "go_asm.h"
#include "textflag.h"

// func cloneInit(flags uintptr, blk *initBlock, stack uintptr) uintptr
//
// The child runs on the stack at stack, shares our memory (CLONE_VM) and
// executes only the raw system calls below: no Go code, and no memory but
// blk and its own stack (blk lies at the bottom of the stack's mapping).
// Register use in the child: R12 = blk, R15 = the signal set on its stack.
TEXT ·cloneInit(SB), NOSPLIT, $0-32
	MOVQ	flags+0(FP), R13
	MOVQ	blk+8(FP), R12
	MOVQ	stack+16(FP), R14
	// Block every signal on this thread: the child starts with this
	// mask, so no Go signal handler ever runs in it, and the signals it
	// waits for stay pending instead of being ignored.
	MOVQ	$14, AX			// rt_sigprocmask(SIG_SETMASK, &all, &old, 8)
	MOVQ	$2, DI
	LEAQ	initBlock_allMask(R12), SI
	LEAQ	initBlock_oldMask(R12), DX
	MOVQ	$8, R10
	SYSCALL
	MOVQ	$56, AX			// clone(flags, stack, NULL, NULL, 0)
	MOVQ	R13, DI
	MOVQ	R14, SI
	XORQ	DX, DX
	XORQ	R10, R10
	XORQ	R8, R8
	SYSCALL
	CMPQ	AX, $0
	JEQ	child
	MOVQ	AX, R15
	MOVQ	$14, AX			// rt_sigprocmask(SIG_SETMASK, &old, NULL, 8)
	MOVQ	$2, DI
	LEAQ	initBlock_oldMask(R12), SI
	XORQ	DX, DX
	MOVQ	$8, R10
	SYSCALL
	MOVQ	R15, ret+24(FP)
	RET

child:
	MOVQ	$157, AX		// prctl(PR_SET_PDEATHSIG, SIGKILL)
	MOVQ	$1, DI
	MOVQ	$9, SI
	XORQ	DX, DX
	XORQ	R10, R10
	XORQ	R8, R8
	SYSCALL
	// Our parent thread may have died before the prctl: then no signal
	// comes. Its pidfd is readable once it has exited.
	CMPL	initBlock_parentFD(R12), $0
	JLT	checked
	MOVQ	$7, AX			// poll(&parent, 1, 0)
	LEAQ	initBlock_parentFD(R12), DI
	MOVQ	$1, SI
	XORQ	DX, DX
	SYSCALL
	CMPQ	AX, $1
	JNE	checked
	// It is gone: say so (status -ESRCH) and exit.
	MOVL	$-3, initBlock_status(R12)
	MOVL	$1, initBlock_done(R12)
	MOVQ	$202, AX		// futex(&done, FUTEX_WAKE_PRIVATE, 1)
	LEAQ	initBlock_done(R12), DI
	MOVQ	$129, SI
	MOVQ	$1, DX
	XORQ	R10, R10
	SYSCALL
	MOVQ	$60, AX			// exit(0)
	XORQ	DI, DI
	SYSCALL
checked:
	XORQ	AX, AX
	CMPL	initBlock_mountProc(R12), $0
	JEQ	started
	MOVQ	$165, AX		// mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)
	LEAQ	initBlock_procSrc(R12), DI
	LEAQ	initBlock_procDst(R12), SI
	LEAQ	initBlock_procType(R12), DX
	MOVQ	$14, R10
	XORQ	R8, R8
	SYSCALL
started:
	MOVL	AX, initBlock_status(R12)
	MOVL	$1, initBlock_done(R12)
	MOVQ	$202, AX		// futex(&done, FUTEX_WAKE_PRIVATE, 1)
	LEAQ	initBlock_done(R12), DI
	MOVQ	$129, SI
	MOVQ	$1, DX
	XORQ	R10, R10
	SYSCALL
	// The set {SIGCHLD, SIGUSR1} for rt_sigtimedwait, on the stack.
	MOVQ	R14, R15
	SUBQ	$16, R15
	MOVQ	$0x10200, 0(R15)

loop:
	// Reap every dead child (orphans the kernel gave us).
	MOVQ	$61, AX			// wait4(-1, NULL, __WALL|WNOHANG, NULL)
	MOVQ	$-1, DI
	XORQ	SI, SI
	MOVQ	$0x40000001, DX
	XORQ	R10, R10
	SYSCALL
	CMPQ	AX, $0
	JGT	loop
	MOVQ	$128, AX		// rt_sigtimedwait(&set, NULL, NULL, 8)
	MOVQ	R15, DI
	XORQ	SI, SI
	XORQ	DX, DX
	MOVQ	$8, R10
	SYSCALL
	CMPQ	AX, $10			// SIGUSR1: a request to reset the pid counter
	JNE	loop

reset:
	MOVQ	$61, AX			// reap what is dead; anything alive makes us busy
	MOVQ	$-1, DI
	XORQ	SI, SI
	MOVQ	$0x40000001, DX
	XORQ	R10, R10
	SYSCALL
	CMPQ	AX, $0
	JGT	reset
	MOVQ	$2, BX			// status 2: a process is still alive
	JEQ	reply
	MOVQ	$257, AX		// openat(AT_FDCWD, "/proc/sys/kernel/ns_last_pid", O_WRONLY|O_CLOEXEC)
	MOVQ	$-100, DI
	LEAQ	initBlock_lastPidPath(R12), SI
	MOVQ	$0x80001, DX
	XORQ	R10, R10
	SYSCALL
	MOVQ	AX, BX			// a negative errno is the status
	CMPQ	AX, $0
	JLT	reply
	MOVQ	AX, R13
	MOVQ	$1, AX			// write(fd, "1", 1): the next pid is 2
	MOVQ	R13, DI
	LEAQ	initBlock_one(R12), SI
	MOVQ	$1, DX
	SYSCALL
	MOVQ	AX, BX			// 1 on success
	MOVQ	$3, AX			// close(fd)
	MOVQ	R13, DI
	SYSCALL
reply:
	MOVL	BX, initBlock_resetStatus(R12)
	MOVL	$1, CX
	LOCK
	XADDL	CX, initBlock_resetSeq(R12)
	MOVQ	$202, AX		// futex(&resetSeq, FUTEX_WAKE_PRIVATE, 1)
	LEAQ	initBlock_resetSeq(R12), DI
	MOVQ	$129, SI
	MOVQ	$1, DX
	XORQ	R10, R10
	SYSCALL
	JMP	loop
