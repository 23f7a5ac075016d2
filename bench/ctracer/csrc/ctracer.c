// ctracer: a minimal, fast seccomp+ptrace tracer used as the C baseline for
// schedfuzz's tracer benchmarks.
//
// Usage: ctracer [-p CPU] [-n NR[,NR...]] [-x] [-t] -- PROG ARGS...
//
//   -p CPU   pin the tracer and the tracee (inherited by all its children) to CPU
//   -n NRS   comma-separated x86-64 syscall numbers to trap with
//            SECCOMP_RET_TRACE (default: 110 = getppid); all others are allowed
//   -x       on every seccomp stop also fetch nr+args with
//            PTRACE_GET_SYSCALL_INFO, as a real tracer would
//   -t       make rdtsc fault in the tracee (prctl PR_SET_TSC,
//            PR_TSC_SIGSEGV before exec, inherited), as schedfuzz's scheduler
//            does: the kernel then rewrites CR4 at every context switch between
//            the tracee and the tracer. rdtsc is not emulated: the guest must
//            not execute it (a dynamically linked one does, in ld.so; so does
//            clock_gettime through the vDSO), or it dies of SIGSEGV.
//
// The child stops itself with SIGSTOP, the parent PTRACE_SEIZEs it, the child
// then installs the seccomp filter and execs PROG. Every seccomp stop in the
// whole tracee tree (threads, forks, vforks, execs are followed) is counted
// and resumed with PTRACE_CONT.
//
// At the end one line is printed to stderr:
//   ctracer stops=N wall_ns=T ns_per_stop=X
// where T is the wall time from just before fork() until the tracee tree is
// gone, and X = T/N (0 if N == 0). The exit status is the guest's: its exit
// code, or 128+signal if it was killed by a signal.
//
// Exit codes of ctracer itself: 125 = ctracer failed (bad usage, ptrace or
// seccomp unavailable: the message then starts with "ctracer: unsupported:"),
// 127 = PROG could not be executed.

#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_NRS 64
#define EXIT_SELF 125
#define EXIT_NOEXEC 127

// <sys/ptrace.h> (glibc >= 2.32) declares PTRACE_GET_SYSCALL_INFO and
// struct __ptrace_syscall_info; <linux/ptrace.h> conflicts with it.

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(void) {
	fprintf(stderr, "usage: ctracer [-p CPU] [-n NR[,NR...]] [-x] [-t] -- PROG ARGS...\n");
	exit(EXIT_SELF);
}

static void pin(int cpu) {
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		fprintf(stderr, "ctracer: sched_setaffinity(%d): %s\n", cpu, strerror(errno));
		_exit(EXIT_SELF);
	}
}

// install_filter runs in the child: arch check, then one JEQ per listed
// syscall number -> SECCOMP_RET_TRACE, everything else -> SECCOMP_RET_ALLOW.
// The filter looks only at arch and nr, so the kernel's seccomp action cache
// (5.11+) lets unsubscribed syscalls skip running the BPF program entirely.
static void install_filter(const int *nrs, int n) {
	struct sock_filter f[4 + 2 * MAX_NRS + 1];
	int i = 0;
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                      offsetof(struct seccomp_data, arch));
	f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                      offsetof(struct seccomp_data, nr));
	for (int k = 0; k < n; k++) {
		f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nrs[k], 0, 1);
		f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	}
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {.len = (unsigned short)i, .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "ctracer: unsupported: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
		_exit(EXIT_SELF);
	}
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
		fprintf(stderr, "ctracer: unsupported: seccomp(SET_MODE_FILTER): %s\n", strerror(errno));
		_exit(EXIT_SELF);
	}
}

static int parse_nrs(const char *s, int *nrs) {
	int n = 0;
	while (*s) {
		char *end;
		errno = 0;
		long v = strtol(s, &end, 0);
		if (end == s || errno || v < 0 || v > 0x7fffffff || (*end && *end != ','))
			usage();
		if (n == MAX_NRS) {
			fprintf(stderr, "ctracer: at most %d syscall numbers\n", MAX_NRS);
			exit(EXIT_SELF);
		}
		nrs[n++] = (int)v;
		s = *end ? end + 1 : end;
	}
	if (n == 0)
		usage();
	return n;
}

int main(int argc, char **argv) {
	int cpu = -1, xflag = 0, tflag = 0, nnrs = 1;
	int nrs[MAX_NRS] = {SYS_getppid};
	int opt;

	while ((opt = getopt(argc, argv, "+p:n:xt")) != -1) {
		switch (opt) {
		case 'p': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == 0 || *end || v < 0 || v >= CPU_SETSIZE)
				usage();
			cpu = (int)v;
			break;
		}
		case 'n':
			nnrs = parse_nrs(optarg, nrs);
			break;
		case 'x':
			xflag = 1;
			break;
		case 't':
			tflag = 1;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	char **prog = argv + optind;

	if (cpu >= 0)
		pin(cpu); // before fork: the child inherits the affinity
	uint64_t t0 = now_ns();

	pid_t child = fork();
	if (child < 0) {
		perror("ctracer: fork");
		return EXIT_SELF;
	}
	if (child == 0) {
		// Wait here until the parent has seized us and sent SIGCONT.
		raise(SIGSTOP);
		if (tflag && prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) != 0) {
			fprintf(stderr, "ctracer: prctl(PR_SET_TSC): %s\n", strerror(errno));
			_exit(EXIT_SELF);
		}
		install_filter(nrs, nnrs);
		execvp(prog[0], prog);
		fprintf(stderr, "ctracer: exec %s: %s\n", prog[0], strerror(errno));
		_exit(EXIT_NOEXEC);
	}

	int st;
	if (waitpid(child, &st, WSTOPPED) != child || !WIFSTOPPED(st)) {
		fprintf(stderr, "ctracer: child did not stop (status %#x)\n", st);
		kill(child, SIGKILL);
		return EXIT_SELF;
	}
	long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL |
	            PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
	            PTRACE_O_TRACEEXEC;
	if (ptrace(PTRACE_SEIZE, child, 0L, opts) != 0) {
		fprintf(stderr, "ctracer: unsupported: PTRACE_SEIZE: %s\n", strerror(errno));
		kill(child, SIGKILL);
		return EXIT_SELF;
	}
	// End the child's group-stop for real (like strace does). Just
	// PTRACE_CONTing it would leave SIGNAL_STOP_STOPPED set, making later
	// auto-attached threads report their initial stop as a group-stop.
	// The seize trap and the SIGCONT delivery are handled by the loop below.
	kill(child, SIGCONT);

	uint64_t stops = 0, badnr = 0;
	volatile uint64_t sink = 0;
	int exit_status = EXIT_SELF;
	struct __ptrace_syscall_info info;

	for (;;) {
		pid_t pid = waitpid(-1, &st, __WALL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				break; // the whole tracee tree is gone
			perror("ctracer: waitpid");
			return EXIT_SELF;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (pid == child)
				exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;

		int sig = WSTOPSIG(st);
		int event = (unsigned)st >> 16;
		long req = PTRACE_CONT;
		long inject = 0;

		if (event == PTRACE_EVENT_SECCOMP) { // the hot path
			stops++;
			if (xflag) {
				long n = ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info);
				if (n <= 0 || info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
					if (n < 0 && errno == ESRCH)
						continue;
					fprintf(stderr, "ctracer: unsupported: PTRACE_GET_SYSCALL_INFO: %s\n",
					        n < 0 ? strerror(errno) : "not a seccomp stop");
					return EXIT_SELF; // EXITKILL takes the tracees down
				}
				int ok = 0;
				for (int k = 0; k < nnrs; k++)
					ok |= info.seccomp.nr == (uint64_t)nrs[k];
				badnr += !ok;
				sink += info.seccomp.nr + info.seccomp.args[0] + info.seccomp.args[1] +
				        info.seccomp.args[2] + info.seccomp.args[3] + info.seccomp.args[4] +
				        info.seccomp.args[5];
			}
		} else if (event == PTRACE_EVENT_STOP) {
			// SIGTRAP: initial stop of the seized child or of an
			// auto-attached thread/process, or a re-trap after LISTEN.
			// Stop signals: a group-stop; honour it with LISTEN so the
			// tracee stays stopped until a SIGCONT.
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				req = PTRACE_LISTEN;
		} else if (event != 0) {
			// CLONE/FORK/VFORK/EXEC (and anything else): just resume.
		} else if (sig == (SIGTRAP | 0x80)) {
			// Syscall stop: never requested, resume.
		} else {
			// Signal-delivery stop: deliver the signal. (The SIGCONT we
			// sent above lands here; its default action is a no-op.)
			inject = sig;
		}
		if (ptrace(req, pid, 0L, inject) != 0 && errno != ESRCH) {
			fprintf(stderr, "ctracer: ptrace(%ld, %d): %s\n", req, pid, strerror(errno));
			return EXIT_SELF;
		}
	}

	uint64_t wall = now_ns() - t0;
	if (badnr)
		fprintf(stderr, "ctracer: %llu seccomp stops for unsubscribed syscalls\n",
		        (unsigned long long)badnr);
	fprintf(stderr, "ctracer stops=%llu wall_ns=%llu ns_per_stop=%.1f\n",
	        (unsigned long long)stops, (unsigned long long)wall,
	        stops ? (double)wall / (double)stops : 0.0);
	(void)sink;
	return exit_status;
}
