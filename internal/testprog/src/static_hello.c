/*
 * static_hello - hello world with a thread, meant to be linked statically
 * (testprog.Static(), i.e. gcc -static).
 *
 * Exercises: a statically linked executable (no PT_INTERP, no ld.so: the
 * first user instruction is the program's own _start, and glibc's static
 * startup makes a different syscall sequence), plus one pthread that makes
 * a syscall of its own.
 *
 * Expected stdout (exit status 0):
 *   static hello
 *   thread ran
 */
#include "guest.h"

#include <pthread.h>

static void *thread_main(void *arg)
{
	(void)arg;
	say("thread ran\n");
	return NULL;
}

int main(void)
{
	pthread_t t;
	int err;

	say("static hello\n");
	if ((err = pthread_create(&t, NULL, thread_main, NULL)) != 0)
		die_err("pthread_create", err);
	if ((err = pthread_join(t, NULL)) != 0)
		die_err("pthread_join", err);
	return 0;
}
