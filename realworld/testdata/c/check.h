// Shared helpers of the realworld C guests: CHECK reports a failed
// expectation on stderr and exits 1, so a wrong result under the scheduler
// is an exit status the suite compares with the native one.
#ifndef REALWORLD_CHECK_H
#define REALWORLD_CHECK_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond, what)                                                        \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "FAIL %s: %s (errno %d %s)\n", what, #cond, \
				errno, strerror(errno));                         \
			exit(1);                                                 \
		}                                                                \
	} while (0)

// now_ms is CLOCK_MONOTONIC in milliseconds (virtual time under schedfuzz).
static inline long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#endif
