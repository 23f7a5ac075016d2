// long_run: two threads each make N cheap syscalls (getppid) and add to a
// shared counter without a lock, with a scheduling point between the read
// and the write: a preemption there loses an update. It prints the total
// and exits 1 if it is short (any lost update), 0 otherwise. With N in
// the hundreds of thousands a run makes about a million scheduling
// decisions: the minimizer's bounds are tested on it.
//
//	long_run N
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile long counter;
static long n;

static void *work(void *arg) {
	(void)arg;
	for (long i = 0; i < n; i++) {
		long v = counter;
		getppid();
		counter = v + 1;
	}
	return 0;
}

int main(int argc, char **argv) {
	n = argc > 1 ? atol(argv[1]) : 1000;
	pthread_t t;
	pthread_create(&t, 0, work, 0);
	work(0);
	pthread_join(t, 0);
	printf("counter=%ld of %ld\n", counter, 2 * n);
	return counter == 2 * n ? 0 : 1;
}
