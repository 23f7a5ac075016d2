// compute_race: two threads each add 10 to a shared balance, computing
// for about 50 ms (no syscall) between reading the balance and writing it
// back. A thread preempted inside the computation loses the other's
// update: the program then prints it and exits 1.
//
// Expected stdout when no update is lost (exit status 0): "balance 20\n"
#include <pthread.h>
#include <stdio.h>

static long balance;

static void *worker(void *arg) {
	(void)arg;
	long b = balance;
	volatile double x = 0;
	for (long i = 0; i < 20000000; i++)
		x += i * 0.5;
	balance = b + 10;
	return NULL;
}

int main(void) {
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0)
			return 2;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	if (balance != 20) {
		printf("lost update: balance %ld\n", balance);
		return 1;
	}
	printf("balance 20\n");
	return 0;
}
