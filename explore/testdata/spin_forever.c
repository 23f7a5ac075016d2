// spin_forever: a hang. A worker spins on a flag nobody sets, without a
// syscall (the scheduler reaches it only by preempting it), while the main
// thread waits to join it.
#include <pthread.h>
#include <stdatomic.h>

static atomic_int flag;

static void *spin(void *arg) {
	while (!atomic_load(&flag))
		__builtin_ia32_pause();
	return arg;
}

int main(void) {
	pthread_t t;
	pthread_create(&t, 0, spin, 0);
	pthread_join(t, 0);
	return 0;
}
