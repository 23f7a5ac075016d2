// spin_race: a consumer spin-waits (no syscall) for a flag that the
// producer sets before it has computed the data the flag announces. A
// consumer that runs between the two sees the flag without the data and
// exits 1.
//
// Expected stdout when the consumer sees the data (exit status 0): "data 42\n"
#include <pthread.h>
#include <stdio.h>

static volatile int flag;
static volatile int data;

static void *producer(void *arg) {
	(void)arg;
	flag = 1; // bug: announced before it is ready
	volatile double x = 0;
	for (long i = 0; i < 20000000; i++)
		x += i * 0.5;
	data = 42;
	return NULL;
}

int main(void) {
	pthread_t t;
	if (pthread_create(&t, NULL, producer, NULL) != 0)
		return 2;
	while (!flag)
		;
	int d = data;
	pthread_join(t, NULL);
	if (d != 42) {
		printf("no data: %d\n", d);
		return 1;
	}
	printf("data %d\n", d);
	return 0;
}
