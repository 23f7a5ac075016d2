// leftover: a lost update that fails before cleaning up its temporary
// file (mkstemp in /tmp, named by argv[1]). A run that fails leaves the
// file behind; the guest's randomness is seeded, so a later run of the
// same seed picks the same name, finds it taken and retries: outside a
// sandbox its schedule changes (the first worker runs, yielding, while
// the file is made, so every call of main's is a decision).
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int counter;
static volatile int made;

static void *waiter(void *arg) {
	while (!made)
		sched_yield();
	int c = counter;
	usleep(1);
	counter = c + 1;
	return arg;
}

static void *worker(void *arg) {
	int c = counter;
	usleep(1);
	counter = c + 1;
	return arg;
}

int main(int argc, char **argv) {
	pthread_t a, b;
	pthread_create(&a, 0, waiter, 0);
	char path[256];
	snprintf(path, sizeof path, "/tmp/%sXXXXXX", argc > 1 ? argv[1] : "leftover-");
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 3;
	}
	made = 1;
	pthread_create(&b, 0, worker, 0);
	pthread_join(a, 0);
	pthread_join(b, 0);
	if (counter != 2) {
		printf("counter=%d, left %s\n", counter, path);
		exit(1); // before the unlink
	}
	unlink(path);
	return 0;
}
