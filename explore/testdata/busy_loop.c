// busy_loop: a livelock. A worker goes round a loop of two syscalls
// forever while the main thread waits to join it: the run never ends by
// itself, and where it is cut (at getppid or at getpid) depends only on
// when it is cut.
#include <pthread.h>
#include <unistd.h>

static void *work(void *arg) {
	for (;;) {
		getppid();
		getpid();
	}
	return arg;
}

int main(void) {
	pthread_t t;
	pthread_create(&t, 0, work, 0);
	pthread_join(t, 0);
	return 0;
}
