// yield_spin: a thread spins with sched_yield until another thread, after
// some work with syscalls, sets a flag; and a thread spins on an atomic
// flag without any syscall (a busy-wait) until a thread sets it after a
// short sleep. Both are correct: every schedule must finish (the yield
// loop yields to the setter, the busy loop is preempted by the watchdog).
// Deterministic output; exit 0.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"

static atomic_int flag;

static void *setter(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		getppid(); // some work, each a scheduling point
	atomic_store(&flag, 1);
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	usleep(1000);
	atomic_store(&flag, 2);
	return NULL;
}

int main(void)
{
	pthread_t th;
	CHECK(pthread_create(&th, NULL, setter, NULL) == 0, "pthread_create");
	long spins = 0;
	while (atomic_load(&flag) != 1) {
		sched_yield();
		spins++;
	}
	pthread_join(th, NULL);
	printf("sched_yield spin: flag set\n");
	CHECK(pthread_create(&th, NULL, sleeper, NULL) == 0, "pthread_create");
	while (atomic_load(&flag) != 2)
		;
	pthread_join(th, NULL);
	printf("busy spin: flag set\n");
	return spins < 0;
}
