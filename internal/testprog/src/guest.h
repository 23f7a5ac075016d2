/*
 * guest.h - tiny helpers shared by the schedfuzz guest programs.
 *
 * Include this header FIRST: it defines _GNU_SOURCE before any system
 * header so the programs can be compiled with -std=c11.
 *
 * All output helpers use raw write(2) (no stdio buffering), so the order of
 * lines on stdout is the order of the write syscalls, and they are
 * async-signal-safe.
 */
#ifndef SCHEDFUZZ_GUEST_H
#define SCHEDFUZZ_GUEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* write_all writes len bytes of buf to fd, retrying after EINTR and short
 * writes. Returns 0 on success, -1 (errno set) on failure. */
static inline int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* say writes s to stdout with a single write (for short strings); exits
 * with status 120 if stdout is unwritable. Async-signal-safe. */
static inline void say(const char *s)
{
	if (write_all(STDOUT_FILENO, s, strlen(s)) < 0)
		_exit(120);
}

/* die reports what failed (with errno) on stderr and exits with status 1. */
static inline void die(const char *what)
{
	int e = errno;
	fprintf(stderr, "%s: %s\n", what, strerror(e));
	exit(1);
}

/* die_err is die for APIs that return an error number (pthread_*,
 * posix_spawn) instead of setting errno. */
static inline void die_err(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(err));
	exit(1);
}

#endif /* SCHEDFUZZ_GUEST_H */
