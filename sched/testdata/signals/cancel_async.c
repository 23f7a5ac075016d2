// Asynchronous pthread_cancel: glibc sends SIGCANCEL with tgkill, and the
// target must take it wherever it is: while it busy-waits (each getppid
// is a scheduling point), or blocked in pthread_mutex_lock, which is not a
// cancellation point (a deferred cancel would never end it).
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

static sem_t started;
static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;

static void *busy(void *arg) {
	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, 0);
	sem_post(&started);
	for (int i = 0; i < 200; i++)
		getppid();
	pthread_mutex_lock(&never); // held by main: blocks for good
	return 0;
}

int main(void) {
	// pthread_cancel loads libgcc_s (to unwind): load it first.
	dlopen("libgcc_s.so.1", RTLD_NOW);
	pthread_mutex_lock(&never);
	sem_init(&started, 0, 0);
	pthread_t th;
	pthread_create(&th, 0, busy, 0);
	sem_wait(&started);
	pthread_cancel(th);
	void *ret;
	pthread_join(th, &ret);
	printf("%s\n", ret == PTHREAD_CANCELED ? "canceled" : "not canceled");
	return 0;
}
