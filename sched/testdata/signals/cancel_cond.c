// Deferred pthread_cancel of a thread blocked in pthread_cond_wait: it
// wakes, reacquires the mutex, runs its cleanup handler and exits.
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int waiting, cleaned;

static void cleanup(void *arg) {
	(void)arg;
	cleaned = 1;
	pthread_mutex_unlock(&mu);
}

static void *wait_forever(void *arg) {
	(void)arg;
	pthread_mutex_lock(&mu);
	waiting = 1;
	pthread_cleanup_push(cleanup, 0);
	for (;;)
		pthread_cond_wait(&cv, &mu);
	pthread_cleanup_pop(1);
	return 0;
}

int main(void) {
	pthread_t th;
	pthread_create(&th, 0, wait_forever, 0);
	for (;;) {
		pthread_mutex_lock(&mu);
		int w = waiting;
		pthread_mutex_unlock(&mu);
		if (w)
			break;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, 0);
	}
	pthread_cancel(th);
	void *ret;
	pthread_join(th, &ret);
	printf("%s, cleanup %s\n", ret == PTHREAD_CANCELED ? "canceled" : "not canceled", cleaned ? "ran" : "did not run");
	return 0;
}
