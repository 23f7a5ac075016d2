/*
 * thread_exec - execve(2) from a non-leader thread.
 *
 * Exercises: the de_thread() path of execve. The main thread blocks in
 * pthread_join (futex wait) while a second thread calls
 * execve("/bin/echo", {"echo", "from-thread"}). The kernel kills the main
 * thread, and the exec'ing thread takes over the thread-group leader's
 * pid. A tracer sees PTRACE_EVENT_EXEC under the leader's pid, with the
 * exec'ing thread's *old* tid in PTRACE_GETEVENTMSG; that old tid simply
 * disappears (see "execve(2) under ptrace" in ptrace(2)).
 *
 * Expected stdout (exit status 0, from echo):
 *   from-thread
 * If the exec fails, or pthread_join ever returns, it exits 1.
 */
#include "guest.h"

#include <pthread.h>

static void *exec_thread(void *arg)
{
	(void)arg;
	char *argv[] = {"echo", "from-thread", NULL};
	execve("/bin/echo", argv, environ);
	die("execve(/bin/echo) from thread");
	return NULL;
}

int main(void)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, exec_thread, NULL);
	if (err != 0)
		die_err("pthread_create", err);
	err = pthread_join(t, NULL);
	/* Unreachable if the exec succeeded. */
	fprintf(stderr, "pthread_join returned (%s): exec did not happen\n",
		err ? strerror(err) : "ok");
	return 1;
}
