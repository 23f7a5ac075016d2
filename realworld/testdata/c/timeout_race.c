// timeout_race (RACY, timing): a request with a too-tight deadline. A
// worker thread answers after 5 ms of "work" (ten 0.5 ms steps); the caller waits
// for the answer in poll with a 50 ms timeout and treats a timeout as a
// fatal error. Natively the answer always comes first; on a slow or
// overloaded machine (a starved worker) the timeout fires: "timed out
// waiting for the worker", exit 1. Only a strategy that lets time pass
// while a runnable thread waits (chaos) can find it.
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "check.h"

static int p[2];

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++)
		usleep(500);
	CHECK(write(p[1], "ok", 2) == 2, "write");
	return NULL;
}

int main(void)
{
	CHECK(pipe(p) == 0, "pipe");
	pthread_t th;
	CHECK(pthread_create(&th, NULL, worker, NULL) == 0, "pthread_create");
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	if (poll(&pfd, 1, 50) != 1) {
		printf("timed out waiting for the worker\n");
		return 1;
	}
	pthread_join(th, NULL);
	printf("answer in time\n");
	return 0;
}
