// compute_ticker: the main thread computes for about 80 ms (natively)
// without a syscall while another thread sleeps 20 µs in a loop until it
// is done, as Go's sysmon does beside a goroutine that computes. Only the
// computing thread can make progress, and only by running: letting virtual
// time pass for the sleeper each time it is the only other thread (as the
// scheduler did before spinners got slices) never ends the run.
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static volatile int done;

static void *ticker(void *arg) {
	while (!done) {
		struct timespec ts = {0, 20000};
		nanosleep(&ts, NULL);
	}
	return arg;
}

int main(void) {
	pthread_t t;
	pthread_create(&t, NULL, ticker, NULL);
	volatile unsigned long x = 0;
	for (unsigned long i = 0; i < 200000000UL; i++)
		x += i * i;
	done = 1;
	pthread_join(t, NULL);
	printf("%lu\n", x);
	return 0;
}
