/*
 * int80 - a 64-bit program making a 32-bit "int $0x80" system call.
 *
 * Exercises: the legacy i386 syscall entry from a 64-bit process. The
 * kernel treats it as a 32-bit syscall: seccomp sees
 * arch == AUDIT_ARCH_I386 and nr 20 (i386 getpid), and ptrace shows
 * orig_rax == 20, which on x86-64 would be writev! A tracer/filter must
 * neither lose such a call nor kill the process for it, nor mistake it for
 * a 64-bit writev. After it, a normal 64-bit write(2).
 *
 * Requires IA32 emulation in the kernel (CONFIG_IA32_EMULATION, not
 * disabled with ia32_emulation=0); otherwise int $0x80 raises SIGSEGV.
 *
 * Expected stdout (exit status 0):
 *   int80 getpid ok
 *   after int80
 * On a result mismatch it prints both values on stderr and exits 1.
 */
#include "guest.h"

#define I386_NR_getpid 20

static long int80_syscall0(long nr)
{
	long ret;
	/* Older kernels clobber r8-r11 on int $0x80 from 64-bit code. */
	__asm__ __volatile__("int $0x80"
			     : "=a"(ret)
			     : "a"(nr)
			     : "memory", "cc", "r8", "r9", "r10", "r11");
	return ret;
}

int main(void)
{
	long got = int80_syscall0(I386_NR_getpid);
	long want = (long)getpid();

	if (got != want) {
		fprintf(stderr, "int $0x80 getpid returned %ld, getpid() = %ld\n", got, want);
		return 1;
	}
	say("int80 getpid ok\n");
	say("after int80\n");
	return 0;
}
