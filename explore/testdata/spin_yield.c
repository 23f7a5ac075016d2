// spin_yield: two threads wait for each other's flag with sched_yield:
// each sets its own flag only after seeing the other's, so neither ever
// does. A livelock: the run never ends by itself.
#include <pthread.h>
#include <sched.h>

static volatile int a, b;

static void *other(void *arg) {
	(void)arg;
	while (!a) sched_yield();
	b = 1;
	return 0;
}

int main(void) {
	pthread_t t;
	pthread_create(&t, 0, other, 0);
	while (!b) sched_yield();
	a = 1;
	pthread_join(t, 0);
	return 0;
}
