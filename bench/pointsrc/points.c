// points: the workload for the breakpoint and watchpoint benchmarks.
//
// Usage: points N MODE
//
// Runs a loop of N iterations and prints
//   points mode=MODE n=N ns_per_op=X
// to stderr, X being measured with CLOCK_MONOTONIC around the loop only.
// MODE is what each iteration does:
//   emulated  calls hit_push, whose first instruction (push %rbx) the
//             tracer steps over by emulation
//   stepped   calls hit_step, whose first instruction (imul) the tracer
//             single-steps in place
//   write     stores to the global `watched` (one movl)
//   getppid   a raw getppid syscall: the subscribed-syscall-stop baseline
//   int3      (run natively) executes int3, caught by a SIGTRAP handler:
//             what the kernel alone spends on a breakpoint trap
//   tf        (run natively) runs the loop with the trap flag set, each
//             instruction's single-step trap caught by a SIGTRAP handler
//             (ns_per_op is per trap): the kernel's cost of a debug
//             exception, the path of single steps and watchpoints
// It is built without PIE so that symbol values are run-time addresses.
//
// Exit status: 0, or 2 on bad usage.

#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

__asm__(".text\n"
	".globl hit_push\n.type hit_push,@function\n"
	"hit_push:\n"
	"\tpush %rbx\n"
	"\tlea 1(%rdi), %eax\n"
	"\tpop %rbx\n"
	"\tret\n"
	".size hit_push, .-hit_push\n"
	".globl hit_step\n.type hit_step,@function\n"
	"hit_step:\n"
	"\timul $1, %edi, %eax\n"
	"\tadd $1, %eax\n"
	"\tret\n"
	".size hit_step, .-hit_step\n");

int hit_push(int x);
int hit_step(int x);

int watched __attribute__((aligned(8)));

static volatile long long traps, trap_limit;

static void on_trap(int sig, siginfo_t *si, void *ctx) {
	(void)sig;
	(void)si;
	ucontext_t *uc = ctx;
	if (++traps >= trap_limit)
		uc->uc_mcontext.gregs[REG_EFL] &= ~0x100LL; /* clear TF */
}

static unsigned long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: points N emulated|stepped|write|getppid|int3|tf\n");
		return 2;
	}
	char *end;
	long long n = strtoll(argv[1], &end, 10);
	if (*argv[1] == 0 || *end || n < 0) {
		fprintf(stderr, "points: bad N %s\n", argv[1]);
		return 2;
	}
	const char *mode = argv[2];
	if (strcmp(mode, "int3") == 0 || strcmp(mode, "tf") == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_trap;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGTRAP, &sa, NULL);
		trap_limit = n;
	}
	long sum = 0;
	unsigned long long t0 = now_ns();
	if (strcmp(mode, "emulated") == 0) {
		for (long long i = 0; i < n; i++)
			sum += hit_push((int)i);
	} else if (strcmp(mode, "stepped") == 0) {
		for (long long i = 0; i < n; i++)
			sum += hit_step((int)i);
	} else if (strcmp(mode, "write") == 0) {
		for (long long i = 0; i < n; i++)
			__asm__ volatile("movl %0, watched(%%rip)" : : "r"((int)i) : "memory");
	} else if (strcmp(mode, "int3") == 0) {
		for (long long i = 0; i < n; i++)
			__asm__ volatile("int3");
	} else if (strcmp(mode, "tf") == 0) {
		if (n > 0) {
			__asm__ volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq" : : : "memory", "cc");
			while (traps < n)
				;
		}
	} else if (strcmp(mode, "getppid") == 0) {
		for (long long i = 0; i < n; i++)
			syscall(SYS_getppid);
	} else {
		fprintf(stderr, "points: unknown mode %s\n", mode);
		return 2;
	}
	unsigned long long t1 = now_ns();
	if ((strcmp(mode, "int3") == 0 || strcmp(mode, "tf") == 0) && traps != n) {
		fprintf(stderr, "points: %lld traps, want %lld\n", traps, n);
		return 1;
	}
	long long want = n * (n + 1) / 2;
	if ((strcmp(mode, "emulated") == 0 || strcmp(mode, "stepped") == 0) && sum != (long)want) {
		fprintf(stderr, "points: sum %ld, want %lld\n", sum, want);
		return 1;
	}
	fprintf(stderr, "points mode=%s n=%lld ns_per_op=%.1f\n", mode, n,
	        n ? (double)(t1 - t0) / (double)n : 0.0);
	return 0;
}
