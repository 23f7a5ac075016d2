/* Spins in user code for about 200 ms of its CPU time (the vDSO is off
   under the tracer, so each clock read is a syscall: rare here). The
   tracer's CPU ticks stop it without the guest seeing a signal. */
#include <stdio.h>
#include <time.h>

static double cpu(void) {
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
	volatile unsigned long n = 0;
	double start = cpu();
	/* Check the clock rarely: the loop is user code. */
	while (cpu() - start < 0.2)
		for (int i = 0; i < 1000000; i++)
			n++;
	printf("spun %s\n", n > 0 ? "yes" : "no");
	return 0;
}
