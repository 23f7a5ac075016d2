/*
 * upper - copies stdin to stdout, converting ASCII letters to upper case.
 *
 * Exercises: a filter in a shell pipeline (sh -c 'echo hi | upper'): the
 * tracer must follow sh's forks and execs and the pipe between them.
 *
 * Expected: "echo hi | upper" prints "HI", exit status 0.
 */
#include "guest.h"

int main(void)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read(stdin)");
		}
		if (n == 0)
			return 0;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] >= 'a' && buf[i] <= 'z')
				buf[i] = (char)(buf[i] - 'a' + 'A');
		}
		if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			die("write(stdout)");
	}
}
