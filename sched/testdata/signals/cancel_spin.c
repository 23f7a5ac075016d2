// Asynchronous pthread_cancel of a thread spinning without syscalls: it
// is held at a preemption point of the watchdog when SIGCANCEL comes, and
// takes it when it runs next.
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static sem_t started;

static void *spin(void *arg) {
	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, 0);
	sem_post(&started);
	for (;;)
		;
	return 0;
}

int main(void) {
	dlopen("libgcc_s.so.1", RTLD_NOW); // pthread_cancel's unwinder
	sem_init(&started, 0, 0);
	pthread_t th;
	pthread_create(&th, 0, spin, 0);
	sem_wait(&started);
	pthread_cancel(th);
	void *ret;
	pthread_join(th, &ret);
	printf("%s\n", ret == PTHREAD_CANCELED ? "canceled" : "not canceled");
	return 0;
}
