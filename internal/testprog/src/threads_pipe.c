/*
 * threads_pipe - two threads talking over a pipe.
 *
 * Exercises: pthread_create/join (clone with CLONE_THREAD, futex on join),
 * two non-leader threads that both make blocking syscalls: thread A
 * write(2)s "ping N\n" lines into a pipe, thread B read(2)s them and
 * write(2)s "got ping N\n" to stdout, one write per line. The reader may
 * receive several lines per read (or partial lines); it reassembles them,
 * so the output does not depend on the interleaving.
 *
 * Expected stdout (exit status 0):
 *   got ping 1
 *   got ping 2
 *   got ping 3
 *   got ping 4
 *   got ping 5
 *   done
 */
#include "guest.h"

#include <pthread.h>
#include <stdint.h>

#define NPINGS 5

static int pipefd[2];

static void *writer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= NPINGS; i++) {
		char line[32];
		int n = snprintf(line, sizeof line, "ping %d\n", i);
		if (write_all(pipefd[1], line, (size_t)n) < 0)
			die("write(pipe)");
	}
	if (close(pipefd[1]) < 0)
		die("close(pipe write end)");
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	char buf[256];
	size_t have = 0;
	intptr_t lines = 0;

	for (;;) {
		ssize_t n = read(pipefd[0], buf + have, sizeof buf - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read(pipe)");
		}
		if (n == 0)
			break;
		have += (size_t)n;

		/* Emit every complete line, keep the partial tail. */
		char *start = buf;
		char *nl;
		while ((nl = memchr(start, '\n', (size_t)(buf + have - start))) != NULL) {
			char out[sizeof buf + 8];
			size_t len = (size_t)(nl - start) + 1;
			memcpy(out, "got ", 4);
			memcpy(out + 4, start, len);
			if (write_all(STDOUT_FILENO, out, len + 4) < 0)
				die("write(stdout)");
			start = nl + 1;
			lines++;
		}
		have = (size_t)(buf + have - start);
		memmove(buf, start, have);
		if (have == sizeof buf) {
			fprintf(stderr, "line too long\n");
			exit(1);
		}
	}
	if (have != 0) {
		fprintf(stderr, "trailing partial line\n");
		exit(1);
	}
	return (void *)lines;
}

int main(void)
{
	pthread_t a, b;
	void *lines;
	int err;

	if (pipe(pipefd) < 0)
		die("pipe");
	if ((err = pthread_create(&a, NULL, writer, NULL)) != 0)
		die_err("pthread_create(writer)", err);
	if ((err = pthread_create(&b, NULL, reader, NULL)) != 0)
		die_err("pthread_create(reader)", err);
	if ((err = pthread_join(a, NULL)) != 0)
		die_err("pthread_join(writer)", err);
	if ((err = pthread_join(b, &lines)) != 0)
		die_err("pthread_join(reader)", err);
	if ((intptr_t)lines != NPINGS) {
		fprintf(stderr, "reader saw %ld lines, want %d\n", (long)(intptr_t)lines, NPINGS);
		return 1;
	}
	say("done\n");
	return 0;
}
