/*
 * syscall_loop - N raw syscalls in a tight loop, for benchmarks.
 *
 * Usage: syscall_loop [N [NR]]
 *   N   number of syscalls (default 1000; 0 is allowed)
 *   NR  x86-64 syscall number, called with all-zero arguments
 *       (default SYS_getppid = 110). Pick something harmless.
 *
 * Exercises: syscall-entry overhead under the tracer; each iteration is a
 * plain syscall(NR, 0, 0, 0, 0, 0, 0). For getppid every result is
 * checked against the real parent pid (exit status 1 on mismatch).
 *
 * Expected stdout for the defaults (exit status 0):
 *   syscall_loop: 1000 syscalls nr=110
 */
#include "guest.h"

#include <sys/syscall.h>

static long parse(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v < 0) {
		fprintf(stderr, "invalid %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	long n = 1000, nr = SYS_getppid;

	if (argc > 1)
		n = parse(argv[1], "count");
	if (argc > 2)
		nr = parse(argv[2], "syscall number");

	long want = (long)getppid();
	for (long i = 0; i < n; i++) {
		long r = syscall(nr, 0L, 0L, 0L, 0L, 0L, 0L);
		if (nr == SYS_getppid && r != want) {
			fprintf(stderr, "getppid returned %ld, want %ld\n", r, want);
			return 1;
		}
	}
	printf("syscall_loop: %ld syscalls nr=%ld\n", n, nr);
	return 0;
}
