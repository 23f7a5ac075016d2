// guest: the workload for the ctracer benchmarks.
//
// Usage: guest N [NR|unsub]
//
// Performs N raw syscall(NR) calls in a tight loop (default NR: getppid=110,
// which ctracer traps by default) and prints
//   guest calls=N ns_per_call=X
// to stderr, X being measured with CLOCK_MONOTONIC around the loop only
// (process startup and exit are excluded). "unsub" means getpid (39), which
// ctracer does not subscribe to by default: used to measure what the seccomp
// filter costs a syscall that is allowed without a stop. The raw syscall(2)
// wrapper is used so no libc caching can skip the kernel.
//
// Exit status: 0, or 2 on bad usage.

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv) {
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: guest N [NR|unsub]\n");
		return 2;
	}
	char *end;
	long long n = strtoll(argv[1], &end, 10);
	if (*argv[1] == 0 || *end || n < 0) {
		fprintf(stderr, "guest: bad N %s\n", argv[1]);
		return 2;
	}
	long nr = SYS_getppid;
	if (argc == 3) {
		if (strcmp(argv[2], "unsub") == 0) {
			nr = SYS_getpid;
		} else {
			nr = strtol(argv[2], &end, 0);
			if (*argv[2] == 0 || *end || nr < 0) {
				fprintf(stderr, "guest: bad NR %s\n", argv[2]);
				return 2;
			}
		}
	}

	unsigned long long t0 = now_ns();
	for (long long i = 0; i < n; i++)
		syscall(nr);
	unsigned long long t1 = now_ns();

	fprintf(stderr, "guest calls=%lld ns_per_call=%.1f\n", n,
	        n ? (double)(t1 - t0) / (double)n : 0.0);
	return 0;
}
