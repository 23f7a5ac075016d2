// cr4: the cost of one CR4 write on this machine, as the kernel does it at
// every context switch between a task whose rdtsc traps (PR_SET_TSC,
// PR_TSC_SIGSEGV) and one whose does not. Each PR_SET_TSC that changes the
// mode of the calling task writes CR4.TSD at once; PR_GET_TSC is the same
// syscall without the write. Prints one line:
//   cr4 toggle_pair_ns=A get_pair_ns=B cr4_write_ns=C
// with C = (A - B) / 2. The task never executes rdtsc (its clock reads are
// raw syscalls), so it does not fault while its TSC is disabled.
//
// Usage: cr4 [N]   (N pairs, default 100000)
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void) {
	struct timespec ts;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 100000;
	if (n <= 0) {
		fprintf(stderr, "usage: cr4 [N]\n");
		return 2;
	}
	int mode;
	unsigned long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) != 0 || prctl(PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0) != 0) {
			perror("cr4: prctl(PR_SET_TSC)");
			return 1;
		}
	}
	unsigned long long t1 = now_ns();
	for (long i = 0; i < n; i++) {
		prctl(PR_GET_TSC, &mode, 0, 0, 0);
		prctl(PR_GET_TSC, &mode, 0, 0, 0);
	}
	unsigned long long t2 = now_ns();
	double a = (double)(t1 - t0) / n, b = (double)(t2 - t1) / n;
	printf("cr4 toggle_pair_ns=%.0f get_pair_ns=%.0f cr4_write_ns=%.0f\n", a, b, (a - b) / 2);
	return 0;
}
