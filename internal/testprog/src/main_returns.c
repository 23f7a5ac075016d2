/*
 * main_returns - main returns (exit_group) while other threads are alive.
 *
 * Exercises: exit_group(2) tearing down live threads that are blocked in
 * syscalls. Each of two threads writes a line and reports to main over a
 * pipe, then blocks forever (thread 1 in pause(2), thread 2 in read(2) of a
 * pipe nobody writes). main waits for thread 1's report before creating
 * thread 2, so the output order is fixed, then returns from main WITHOUT
 * joining. Under ptrace each thread is reported exiting (PTRACE_EVENT_EXIT
 * if enabled, then its exit) without having called exit itself.
 *
 * Expected stdout (exit status 0):
 *   thread 1 alive
 *   thread 2 alive
 *   main returning
 */
#include "guest.h"

#include <pthread.h>

static int ready[2]; /* threads -> main */
static int never[2]; /* nobody ever writes */

static void *thread_main(void *arg)
{
	int id = (int)(long)arg;
	char line[32];
	int n = snprintf(line, sizeof line, "thread %d alive\n", id);

	if (write_all(STDOUT_FILENO, line, (size_t)n) < 0)
		die("write(stdout)");
	if (write_all(ready[1], "x", 1) < 0)
		die("write(ready)");
	if (id == 1) {
		for (;;)
			pause();
	}
	char c;
	for (;;) {
		if (read(never[0], &c, 1) < 0 && errno != EINTR)
			die("read(never)");
	}
	return NULL;
}

static void wait_ready(void)
{
	char c;
	for (;;) {
		ssize_t n = read(ready[0], &c, 1);
		if (n == 1)
			return;
		if (n == 0 || errno != EINTR)
			die("read(ready)");
	}
}

int main(void)
{
	pthread_t t;
	int err;

	if (pipe(ready) < 0 || pipe(never) < 0)
		die("pipe");
	for (long id = 1; id <= 2; id++) {
		if ((err = pthread_create(&t, NULL, thread_main, (void *)id)) != 0)
			die_err("pthread_create", err);
		wait_ready();
	}
	say("main returning\n");
	return 0;
}
