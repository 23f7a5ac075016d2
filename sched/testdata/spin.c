// spin: two threads that each wait for the other in a spin loop without
// syscalls. Under the serializing scheduler whichever runs first spins
// until the watchdog preempts it; the run must still finish.
//
// Expected stdout (exit status 0): "spun\n"
#include <pthread.h>
#include <stdio.h>

static volatile int ready, go;

static void *worker(void *arg) {
	(void)arg;
	ready = 1;
	while (!go)
		;
	return NULL;
}

int main(void) {
	pthread_t t;
	if (pthread_create(&t, NULL, worker, NULL) != 0)
		return 2;
	while (!ready)
		;
	go = 1;
	pthread_join(t, NULL);
	printf("spun\n");
	return 0;
}
