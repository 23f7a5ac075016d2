// points: N raw getppid(2) calls in each of T threads (T = 1 or 2), for the
// cost of one scheduling point.
//
// Usage: points N [T]
//
// T=1 (default): the calls are made by the main thread; no thread is
// created. T=2: the main thread starts one thread, both make N calls, and
// the main thread joins it. Under schedfuzz's scheduler every call is a
// scheduling point; with two threads and a decider that always picks the
// other thread, every point is a thread switch. The raw syscall(2) wrapper
// is used so no libc caching can skip the kernel. The program measures
// nothing itself (under the scheduler its clock is virtual): callers time
// whole runs for two values of N and divide the difference.
//
// Exit status: 0, 1 if getppid returned something unexpected, 2 on bad
// usage.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long n;
static long parent;

static void *loop(void *arg) {
	for (long i = 0; i < n; i++)
		if (syscall(SYS_getppid) != parent)
			return (void *)1;
	return arg;
}

int main(int argc, char **argv) {
	char *end;
	if (argc < 2 || argc > 3 || (n = strtol(argv[1], &end, 10)) < 0 || *end || !*argv[1]) {
		fprintf(stderr, "usage: points N [1|2]\n");
		return 2;
	}
	long threads = argc == 3 ? strtol(argv[2], &end, 10) : 1;
	if (threads != 1 && threads != 2) {
		fprintf(stderr, "points: T must be 1 or 2\n");
		return 2;
	}
	parent = getppid();
	if (threads == 1)
		return loop(NULL) != NULL;
	pthread_t t;
	if (pthread_create(&t, NULL, loop, NULL) != 0) {
		fprintf(stderr, "points: pthread_create failed\n");
		return 2;
	}
	void *a = loop(NULL), *b;
	pthread_join(t, &b);
	return a != NULL || b != NULL;
}
