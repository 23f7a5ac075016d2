// polls: poll, ppoll, select, pselect6, epoll_wait and epoll_pwait2 with
// timeouts, when nothing gets ready (each returns 0 once, at its deadline)
// and when another thread makes an fd ready before the deadline. The
// output is the same natively and in every schedule; the remaining time
// select and pselect6 write back is printed in tenths of a second.
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void report(const char *what, long ret, long long start, int timeout_ms) {
	long long el = now_ms() - start;
	printf("%s: %ld, %s\n", what, ret, el >= timeout_ms ? "at or after its deadline" : "EARLY");
}

static int p[2];

static void *write_later(void *arg) {
	usleep((int)(long)arg * 1000);
	write(p[1], "x", 1);
	return NULL;
}

// Works for 3 ms of virtual time (a microsecond per syscall), natively
// for longer than that.
static void *busy(void *arg) {
	(void)arg;
	for (int i = 0; i < 3000; i++)
		getppid();
	return NULL;
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	pipe(p);
	long long t;
	char c;

	t = now_ms();
	report("poll(NULL, 0, 100)", poll(NULL, 0, 100), t, 100);

	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	t = now_ms();
	report("poll(pipe, 50ms), nothing written", poll(&pfd, 1, 50), t, 50);

	t = now_ms();
	for (int i = 0; i < 10; i++)
		poll(NULL, 0, 10);
	report("10 x poll(NULL, 0, 10)", 0, t, 100);

	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	struct timeval tv = {0, 250000};
	t = now_ms();
	int n = select(p[0] + 1, &rd, NULL, NULL, &tv);
	report("select(pipe, 0.25s), nothing written", n, t, 250);
	printf("  timeval left %ld.%ld, fd set %d\n", (long)tv.tv_sec, (long)tv.tv_usec / 100000, FD_ISSET(p[0], &rd));

	pthread_t th;
	pthread_create(&th, NULL, write_later, (void *)100L);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	tv = (struct timeval){5, 0};
	n = select(p[0] + 1, &rd, NULL, NULL, &tv);
	pthread_join(th, NULL);
	long left = tv.tv_sec * 1000000L + tv.tv_usec;
	printf("select(pipe, 5s), written after 0.1s: %d, fd set %d, timeval left %s\n", n, FD_ISSET(p[0], &rd),
	       left > 4000000 && left < 4900000 ? "between 4 and 4.9s" : "WRONG");
	read(p[0], &c, 1);

	struct timespec ts = {0, 200000000};
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	t = now_ms();
	n = syscall(SYS_pselect6, p[0] + 1, &rd, NULL, NULL, &ts, NULL);
	report("pselect6(pipe, 0.2s), nothing written", n, t, 200);
	printf("  timespec left %ld.%ld\n", (long)ts.tv_sec, ts.tv_nsec / 100000000);

	ts = (struct timespec){0, 30000000};
	t = now_ms();
	report("ppoll(pipe, 30ms), nothing written", ppoll(&pfd, 1, &ts, NULL), t, 30);

	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, out[4];
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	t = now_ms();
	report("epoll_wait(pipe, 80ms), nothing written", epoll_wait(ep, out, 4, 80), t, 80);

	ts = (struct timespec){0, 40000000};
	t = now_ms();
	report("epoll_pwait2(pipe, 40ms), nothing written", syscall(SYS_epoll_pwait2, ep, out, 4, &ts, NULL, 0), t, 40);

	pthread_create(&th, NULL, write_later, (void *)20L);
	t = now_ms();
	n = epoll_wait(ep, out, 4, 5000);
	long long el = now_ms() - t;
	pthread_join(th, NULL);
	printf("epoll_wait(pipe, 5s), written after 20ms: %d, %s\n", n, el < 5000 ? "before its deadline" : "WRONG TIME");
	read(p[0], &c, 1);

	pthread_create(&th, NULL, busy, NULL);
	t = now_ms();
	report("poll(NULL, 0, 1) while another thread works", poll(NULL, 0, 1), t, 1);
	pthread_join(th, NULL);
	return 0;
}
