/*
 * points - guest for breakpoint and watchpoint tests.
 *
 * The breakpoint targets are written in assembly so that their first
 * instruction is fixed whatever the compiler flags, one per way the tracer
 * steps over a breakpoint:
 *   bp_step   imul (sets flags: single-stepped in place)
 *   bp_push   push %rbx (emulated)
 *   bp_endbr  endbr64 (emulated as a nop)
 *   bp_mov    mov %rdi,%rax (emulated)
 *   bp_lea    lea 1(%rdi,%rdi,2),%eax (emulated)
 *   bp_rip    lea bp_rip(%rip),%rcx (emulated; the function checks rcx
 *             against the same lea executed natively)
 *   bp_load   mov alu_word(%rip),%ecx (a load: emulated when the thread
 *             runs alone, stepped otherwise; the function checks ecx)
 *   bp_sys_insn, inside bp_sys(nr, a1, a2, a3): a raw `syscall`
 *   bp_store  movl %edi,watched_counter(%rip) (stepped; it writes a global)
 * Each of the first seven returns 3*x+1.
 *
 * For "alu", each function alu_bp_NAME starts with the instruction under
 * test (operands in rdi, rsi; result left in rdi) and stores RFLAGS just
 * after it; alu_ref_NAME is the same code, never given a breakpoint. The
 * guest checks that both give the same result and flags on edge values,
 * so a tracer that emulates the instruction must match the CPU. watched_counter and watched_wide
 * are only accessed by the accessor functions below (one instruction per
 * access), so a watchpoint on them sees an exact number of accesses.
 *
 * Usage and expected stdout (exit status 0 in every mode):
 *   points threads [N]  two threads each call the seven targets N times
 *                       (default 100), then write "worker done\n":
 *                         worker done
 *                         worker done
 *                         threads: sum=209300      (for N=100)
 *   points libc [K]     K (default 3) calls of puts("libc line")
 *   points fork         parent calls the targets once, a fork child 3
 *                       times, a vfork child once, the parent once more:
 *                         fork: child exited 0
 *                         vfork: child exited 0
 *   points exec         calls the targets once, then execs itself as
 *                       "points exec exec2", which calls them 3 times:
 *                         exec: done
 *   points traps        raise(SIGTRAP) and an int3 of its own, both caught
 *                       by a SIGTRAP handler, then the targets once:
 *                         traps: handled=2 codes=-6,128
 *   points watch [K]    two threads each increment watched_counter K times
 *                       (default 50) under a mutex: one load and one store
 *                       per increment; main loads it once at the end. Each
 *                       thread also stores watched_wide once:
 *                         watch: counter=100
 *   points store        main stores watched_counter and watched_wide in
 *                       turn 3 times, then bp_store(5):
 *                         store: counter=5 wide=2
 *   points syscall [N]  N raw getppid and N raw getpid through bp_sys:
 *                         syscall: ok
 *   points sysblock     thread A reads 4 bytes from a pipe through bp_sys
 *                       (blocking); thread B sleeps 20 ms and writes them:
 *                         sysblock: read 4
 *   points signal step|push
 *                       thread A publishes its tid and calls bp_step (or
 *                       bp_push) once, then waits for the signal; main
 *                       sends it SIGUSR1 (tgkill) as soon as the tid is
 *                       published; A's handler counts:
 *                         signal: handled=1 r=4
 *   points alu          runs each alu_bp_ and alu_ref_ pair on 15x15
 *                       edge-value operands (loads: on a table) and
 *                       compares results and flags:
 *                         alu: ok 4785
 *   points offsetof     prints offsetof(struct user, u_debugreg):
 *                         u_debugreg=848
 */
#include "guest.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>

__asm__(".text\n"
	".globl bp_step\n.type bp_step,@function\n"
	"bp_step:\n"
	"\timul $3, %edi, %eax\n"
	"\tadd $1, %eax\n"
	"\tret\n"
	".size bp_step, .-bp_step\n"
	".globl bp_push\n.type bp_push,@function\n"
	"bp_push:\n"
	"\tpush %rbx\n"
	"\tlea 1(%rdi,%rdi,2), %eax\n"
	"\tpop %rbx\n"
	"\tret\n"
	".size bp_push, .-bp_push\n"
	".globl bp_endbr\n.type bp_endbr,@function\n"
	"bp_endbr:\n"
	"\t.byte 0xf3, 0x0f, 0x1e, 0xfa\n" /* endbr64 */
	"\tlea 1(%rdi,%rdi,2), %eax\n"
	"\tret\n"
	".size bp_endbr, .-bp_endbr\n"
	".globl bp_mov\n.type bp_mov,@function\n"
	"bp_mov:\n"
	"\tmov %rdi, %rax\n"
	"\tlea 1(%rax,%rax,2), %eax\n"
	"\tret\n"
	".size bp_mov, .-bp_mov\n"
	".globl bp_lea\n.type bp_lea,@function\n"
	"bp_lea:\n"
	"\tlea 1(%rdi,%rdi,2), %eax\n"
	"\tret\n"
	".size bp_lea, .-bp_lea\n"
	".globl bp_rip\n.type bp_rip,@function\n"
	"bp_rip:\n"
	"\tlea bp_rip(%rip), %rcx\n"
	"\tlea bp_rip(%rip), %rdx\n"
	"\tsub %rdx, %rcx\n"
	"\tlea 1(%rdi,%rdi,2), %eax\n"
	"\tadd %ecx, %eax\n"
	"\tret\n"
	".size bp_rip, .-bp_rip\n"
	".globl bp_load\n.type bp_load,@function\n"
	"bp_load:\n"
	"\tmov alu_word(%rip), %ecx\n"
	"\tsub $0x44332211, %ecx\n"
	"\tlea 1(%rdi,%rdi,2), %eax\n"
	"\tadd %ecx, %eax\n"
	"\tret\n"
	".size bp_load, .-bp_load\n"
	".globl bp_store\n.type bp_store,@function\n"
	"bp_store:\n"
	"\tmovl %edi, watched_counter(%rip)\n"
	"\tret\n"
	".size bp_store, .-bp_store\n"
	".globl bp_sys\n.type bp_sys,@function\n"
	"bp_sys:\n"
	"\tmov %rdi, %rax\n"
	"\tmov %rsi, %rdi\n"
	"\tmov %rdx, %rsi\n"
	"\tmov %rcx, %rdx\n"
	".globl bp_sys_insn\n"
	"bp_sys_insn:\n"
	"\tsyscall\n"
	"\tret\n"
	".size bp_sys, .-bp_sys\n");

/* ALU(name, insn): alu_bp_name and alu_ref_name(a, b, &flags). */
#define ALU_FN(pfx, name, insn)                                            \
	".globl alu_" pfx "_" name "\n.type alu_" pfx "_" name ",@function\n" \
	"alu_" pfx "_" name ":\n"                                             \
	"\t" insn "\n"                                                      \
	"\tpushfq\n"                                                        \
	"\tpop %rax\n"                                                      \
	"\tmov %rax, (%rdx)\n"                                              \
	"\tmov %rdi, %rax\n"                                                \
	"\tret\n"
#define ALU(name, insn) ALU_FN("bp", name, insn) ALU_FN("ref", name, insn)
__asm__(".text\n"
	ALU("add64", "add %rsi, %rdi")
	ALU("add32", "add %esi, %edi")
	ALU("sub64", "sub %rsi, %rdi")
	ALU("sub32", "sub %esi, %edi")
	ALU("subrev64", ".byte 0x48, 0x2b, 0xfe") /* sub %rsi,%rdi as 2b /r */
	ALU("cmp64", "cmp %rsi, %rdi")
	ALU("cmp32", "cmp %esi, %edi")
	ALU("and64", "and %rsi, %rdi")
	ALU("or32", "or %esi, %edi")
	ALU("xor64", "xor %rsi, %rdi")
	ALU("test32", "test %esi, %edi")
	ALU("test64", "test %rsi, %rdi")
	ALU("subi8", "sub $0x7f, %rdi")
	ALU("addi8", "add $-1, %edi")
	ALU("andi32", "and $0x12345678, %rdi")
	ALU("cmpi32", "cmp $-0x80000000, %rdi")
	ALU("xori8", "xor $0x55, %edi")
	ALU("ori32", "or $0x40000001, %edi")
	/* no flags: compared on the result only */
	ALU("movi32", "mov $0x80000000, %edi")
	ALU("movi64", "movabs $0x8000000000000001, %rdi")
	ALU("movis", "mov $-2, %rdi")
	/* loads: rsi = edge, rdi = an index into it */
	ALU("load64", "mov (%rsi,%rdi,8), %rdi")
	ALU("load32", "mov 4(%rsi,%rdi,8), %edi")
	ALU("loaddisp", "mov 8(%rsi), %rdi")
	ALU("loadrip", "mov alu_word(%rip), %rdi"));

uint64_t alu_word = 0x8877665544332211;

typedef uint64_t alu_fn(uint64_t a, uint64_t b, uint64_t *flags);
#define ALU_DECL(name) alu_fn alu_bp_##name, alu_ref_##name;
ALU_DECL(add64) ALU_DECL(add32) ALU_DECL(sub64) ALU_DECL(sub32) ALU_DECL(subrev64)
ALU_DECL(cmp64) ALU_DECL(cmp32) ALU_DECL(and64) ALU_DECL(or32) ALU_DECL(xor64)
ALU_DECL(test32) ALU_DECL(test64) ALU_DECL(subi8) ALU_DECL(addi8) ALU_DECL(andi32)
ALU_DECL(cmpi32) ALU_DECL(xori8) ALU_DECL(ori32) ALU_DECL(movi32) ALU_DECL(movi64)
ALU_DECL(movis) ALU_DECL(load64) ALU_DECL(load32) ALU_DECL(loaddisp) ALU_DECL(loadrip)

int bp_step(int x);
int bp_push(int x);
int bp_endbr(int x);
int bp_mov(int x);
int bp_lea(int x);
int bp_rip(int x);
int bp_load(int x);
long bp_sys(long nr, long a1, long a2, long a3);
void bp_store(int x);

int watched_counter __attribute__((aligned(8)));
uint64_t watched_wide __attribute__((aligned(8)));

static int load_counter(void)
{
	int v;
	__asm__ volatile("movl watched_counter(%%rip), %0" : "=r"(v) : : "memory");
	return v;
}

static void store_counter(int v)
{
	__asm__ volatile("movl %0, watched_counter(%%rip)" : : "r"(v) : "memory");
}

static void store_wide(uint64_t v)
{
	__asm__ volatile("movq %0, watched_wide(%%rip)" : : "r"(v) : "memory");
}

/* call_all calls each of the seven targets once. */
static long call_all(int x)
{
	return (long)bp_step(x) + bp_push(x) + bp_endbr(x) + bp_mov(x) + bp_lea(x) + bp_rip(x) + bp_load(x);
}

static long arg_or(int argc, char **argv, int i, long def)
{
	return argc > i ? strtol(argv[i], NULL, 10) : def;
}

static long iterations;

static void *worker(void *arg)
{
	(void)arg;
	long sum = 0;
	for (long i = 0; i < iterations; i++)
		sum += call_all((int)i);
	if (write_all(1, "worker done\n", 12) < 0)
		die("write");
	return (void *)sum;
}

static void run_threads(long n)
{
	iterations = n;
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0)
			die("pthread_create");
	long sum = 0;
	for (int i = 0; i < 2; i++) {
		void *r;
		if (pthread_join(t[i], &r) != 0)
			die("pthread_join");
		sum += (long)r;
	}
	printf("threads: sum=%ld\n", sum);
}

static void wait_child(pid_t pid, const char *what)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	printf("%s: child exited %d\n", what, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	fflush(stdout);
}

static void run_fork(void)
{
	call_all(1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (int i = 0; i < 3; i++)
			call_all(i);
		_exit(0);
	}
	wait_child(pid, "fork");
	pid = vfork();
	if (pid < 0)
		die("vfork");
	if (pid == 0) {
		call_all(2);
		_exit(0);
	}
	wait_child(pid, "vfork");
	call_all(3);
}

static int trap_count;
static int trap_codes[2];

static void on_trap(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (trap_count < 2)
		trap_codes[trap_count] = si->si_code;
	trap_count++;
}

__attribute__((noinline)) static void run_traps(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGTRAP, &sa, NULL) < 0)
		die("sigaction");
	raise(SIGTRAP);
	__asm__ volatile("int3");
	call_all(1);
	printf("traps: handled=%d codes=%d,%d\n", trap_count, trap_codes[0], trap_codes[1]);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *incrementer(void *arg)
{
	for (long i = 0; i < iterations; i++) {
		pthread_mutex_lock(&mu);
		store_counter(load_counter() + 1);
		pthread_mutex_unlock(&mu);
	}
	store_wide((uint64_t)(uintptr_t)arg);
	return NULL;
}

static void run_watch(long k)
{
	iterations = k;
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, incrementer, (void *)(uintptr_t)(i + 1)) != 0)
			die("pthread_create");
	for (int i = 0; i < 2; i++)
		if (pthread_join(t[i], NULL) != 0)
			die("pthread_join");
	printf("watch: counter=%d\n", load_counter());
}

static void run_syscall(long n)
{
	long ppid = getppid(), pid = getpid();
	int ok = 1;
	for (long i = 0; i < n; i++) {
		ok &= bp_sys(SYS_getppid, 0, 0, 0) == ppid;
		ok &= bp_sys(SYS_getpid, 0, 0, 0) == pid;
	}
	printf("syscall: %s\n", ok ? "ok" : "WRONG");
}

static int pipefd[2];

static void *block_reader(void *arg)
{
	(void)arg;
	char buf[4];
	long n = bp_sys(SYS_read, pipefd[0], (long)buf, sizeof buf);
	return (void *)n;
}

static void *late_writer(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	if (write_all(pipefd[1], "ping", 4) < 0)
		die("write(pipe)");
	return NULL;
}

static void run_sysblock(void)
{
	if (pipe(pipefd) < 0)
		die("pipe");
	pthread_t a, b;
	if (pthread_create(&a, NULL, block_reader, NULL) != 0 ||
	    pthread_create(&b, NULL, late_writer, NULL) != 0)
		die("pthread_create");
	void *n;
	if (pthread_join(a, &n) != 0 || pthread_join(b, NULL) != 0)
		die("pthread_join");
	printf("sysblock: read %ld\n", (long)n);
}

static volatile sig_atomic_t handled;
static _Atomic long a_tid;
static int (*signal_target)(int);

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void *signalled(void *arg)
{
	(void)arg;
	a_tid = (long)syscall(SYS_gettid);
	long r = signal_target(1);
	while (handled == 0)
		; /* stay alive until the signal has been handled */
	return (void *)r;
}

static void run_signal(const char *which)
{
	signal_target = strcmp(which, "push") == 0 ? bp_push : bp_step;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		die("sigaction");
	pthread_t a;
	if (pthread_create(&a, NULL, signalled, NULL) != 0)
		die("pthread_create");
	while (a_tid == 0)
		;
	if (syscall(SYS_tgkill, getpid(), a_tid, SIGUSR1) < 0)
		die("tgkill");
	void *r;
	if (pthread_join(a, &r) != 0)
		die("pthread_join");
	printf("signal: handled=%d r=%ld\n", (int)handled, (long)r);
}

static const uint64_t edge[] = {
	0, 1, 0xf, 0x10, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff,
	0x100000000, 0x7fffffffffffffff, 0x8000000000000000, 0xffffffffffffffff,
	0x123456789abcdef0,
};
#define NEDGE (sizeof edge / sizeof edge[0])

static void run_alu(void)
{
	static const struct {
		const char *name;
		alu_fn *bp, *ref;
		int flags; /* compare RFLAGS too */
		int load;  /* b is edge, a an index into it */
	} fns[] = {
#define F(name, flags, load) {#name, alu_bp_##name, alu_ref_##name, flags, load}
		F(add64, 1, 0), F(add32, 1, 0), F(sub64, 1, 0), F(sub32, 1, 0), F(subrev64, 1, 0),
		F(cmp64, 1, 0), F(cmp32, 1, 0), F(and64, 1, 0), F(or32, 1, 0), F(xor64, 1, 0),
		F(test32, 1, 0), F(test64, 1, 0), F(subi8, 1, 0), F(addi8, 1, 0), F(andi32, 1, 0),
		F(cmpi32, 1, 0), F(xori8, 1, 0), F(ori32, 1, 0), F(movi32, 0, 0), F(movi64, 0, 0),
		F(movis, 0, 0), F(load64, 0, 1), F(load32, 0, 1), F(loaddisp, 0, 1), F(loadrip, 0, 1),
#undef F
	};
	int checks = 0, bad = 0;
	for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
		for (size_t i = 0; i < NEDGE; i++) {
			for (size_t j = 0; j < NEDGE; j++) {
				uint64_t a = edge[i], b = edge[j];
				if (fns[f].load) {
					if (j > 0)
						continue; /* one pass over the table */
					a = i;
					b = (uint64_t)(uintptr_t)edge;
				}
				uint64_t fb = 0, fr = 0;
				uint64_t rb = fns[f].bp(a, b, &fb);
				uint64_t rr = fns[f].ref(a, b, &fr);
				checks++;
				if (rb != rr || (fns[f].flags && fb != fr)) {
					if (bad++ < 10)
						printf("alu: %s(%#lx, %#lx): %#lx flags %#lx, want %#lx flags %#lx\n",
						       fns[f].name, (unsigned long)a, (unsigned long)b,
						       (unsigned long)rb, (unsigned long)fb,
						       (unsigned long)rr, (unsigned long)fr);
				}
			}
		}
	}
	if (bad)
		printf("alu: %d of %d WRONG\n", bad, checks);
	else
		printf("alu: ok %d\n", checks);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "threads";
	if (strcmp(mode, "threads") == 0) {
		run_threads(arg_or(argc, argv, 2, 100));
	} else if (strcmp(mode, "libc") == 0) {
		long k = arg_or(argc, argv, 2, 3);
		for (long i = 0; i < k; i++)
			puts("libc line");
	} else if (strcmp(mode, "fork") == 0) {
		run_fork();
	} else if (strcmp(mode, "exec") == 0) {
		if (argc > 2 && strcmp(argv[2], "exec2") == 0) {
			for (int i = 0; i < 3; i++)
				call_all(i);
			printf("exec: done\n");
		} else {
			call_all(0);
			char *args[] = {argv[0], "exec", "exec2", NULL};
			execv("/proc/self/exe", args);
			die("execv");
		}
	} else if (strcmp(mode, "traps") == 0) {
		run_traps();
	} else if (strcmp(mode, "watch") == 0) {
		run_watch(arg_or(argc, argv, 2, 50));
	} else if (strcmp(mode, "store") == 0) {
		for (int i = 0; i < 3; i++) {
			store_counter(i);
			store_wide((uint64_t)i);
		}
		bp_store(5);
		printf("store: counter=%d wide=%lu\n", load_counter(), (unsigned long)watched_wide);
	} else if (strcmp(mode, "syscall") == 0) {
		run_syscall(arg_or(argc, argv, 2, 10));
	} else if (strcmp(mode, "sysblock") == 0) {
		run_sysblock();
	} else if (strcmp(mode, "signal") == 0) {
		run_signal(argc > 2 ? argv[2] : "step");
	} else if (strcmp(mode, "alu") == 0) {
		run_alu();
	} else if (strcmp(mode, "offsetof") == 0) {
		printf("u_debugreg=%zu\n", offsetof(struct user, u_debugreg));
	} else {
		fprintf(stderr, "points: unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}
