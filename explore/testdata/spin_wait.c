// spin_wait: a correct program whose threads wait for each other by
// spinning, as real programs do (spin locks, Go's and node's runtimes,
// hand-written flags). Two threads take turns ROUNDS times; a thread
// whose turn it is not spins on the turn flag:
//
//	spin_wait yield ROUNDS   sched_yield() in the spin loop
//	spin_wait pure ROUNDS    a pure atomic load loop: no syscall, so the
//	                         scheduler reaches a point only by preempting it
//
// Natively it always prints "done ROUNDS" and exits 0. Under a strategy
// that keeps running the spinner while the other thread holds the turn,
// it never ends (a false livelock or hang).
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int turn;
static int rounds, yield;

static void wait_turn(int me) {
	while (atomic_load_explicit(&turn, memory_order_acquire) != me) {
		if (yield)
			sched_yield();
		else
			__builtin_ia32_pause();
	}
}

static void *player(void *arg) {
	int me = (int)(long)arg;
	for (int i = 0; i < rounds; i++) {
		wait_turn(me);
		getppid(); // some work with a scheduling point in it
		atomic_store_explicit(&turn, 1 - me, memory_order_release);
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: spin_wait yield|pure ROUNDS\n");
		return 2;
	}
	yield = strcmp(argv[1], "yield") == 0;
	rounds = atoi(argv[2]);
	pthread_t t;
	pthread_create(&t, 0, player, (void *)1L);
	player((void *)0L);
	pthread_join(t, 0);
	printf("done %d\n", rounds);
	return 0;
}
