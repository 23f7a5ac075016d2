// poll_timeouts: poll, ppoll, select, pselect6, epoll_wait, epoll_pwait and
// epoll_pwait2 with timeouts expire once, after the timeout, when nothing
// is ready; and return early, with the fd ready, when a thread writes
// after a short sleep. timerfd and eventfd in epoll. Every wait must last
// at least its timeout (CLOCK_MONOTONIC), and a wait that is woken early
// must not last its whole timeout.
//
// Deterministic output: one line per check; exit 0.
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "check.h"

static int p[2];

static void *late_writer(void *arg)
{
	int fd = *(int *)arg;
	usleep(20 * 1000);
	if (fd == p[1]) {
		CHECK(write(fd, "x", 1) == 1, "write pipe");
	} else {
		uint64_t one = 1;
		CHECK(write(fd, &one, 8) == 8, "write eventfd");
	}
	return NULL;
}

static pthread_t writer(int *fd)
{
	pthread_t th;
	CHECK(pthread_create(&th, NULL, late_writer, fd) == 0, "pthread_create");
	return th;
}

static void drain(void)
{
	char c;
	CHECK(read(p[0], &c, 1) == 1, "drain");
}

#define TIMED(what, ms, expr, want)                                          \
	do {                                                                 \
		long long t0 = now_ms();                                     \
		long r_ = (expr);                                            \
		long long dt = now_ms() - t0;                                \
		CHECK(r_ == (want), what);                                   \
		CHECK(dt >= (ms), what " lasted its timeout");               \
		printf("%s: %ld after its %d ms timeout\n", what, r_, ms);   \
	} while (0)

#define WOKEN(what, expr)                                                    \
	do {                                                                 \
		long long t0 = now_ms();                                     \
		long r_ = (expr);                                            \
		long long dt = now_ms() - t0;                                \
		CHECK(r_ == 1, what);                                        \
		CHECK(dt < 4000, what " woken before its timeout");          \
		printf("%s: ready before its timeout\n", what);              \
	} while (0)

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK(pipe(p) == 0, "pipe");
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};

	TIMED("poll(0 fds)", 100, poll(NULL, 0, 100), 0);
	TIMED("poll(pipe)", 50, poll(&pfd, 1, 50), 0);
	struct timespec ts = {0, 50 * 1000 * 1000};
	TIMED("ppoll(pipe)", 50, ppoll(&pfd, 1, &ts, NULL), 0);

	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	struct timeval tv = {0, 50 * 1000};
	TIMED("select(pipe)", 50, select(p[0] + 1, &rd, NULL, NULL, &tv), 0);
	CHECK(tv.tv_sec == 0 && tv.tv_usec == 0, "select updates its timeout");
	FD_SET(p[0], &rd);
	ts.tv_nsec = 50 * 1000 * 1000;
	TIMED("pselect(pipe)", 50, pselect(p[0] + 1, &rd, NULL, NULL, &ts, NULL), 0);

	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0, "epoll_create1");
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]}, out[4];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "epoll_ctl");
	TIMED("epoll_wait(pipe)", 50, epoll_wait(ep, out, 4, 50), 0);
	sigset_t none;
	sigemptyset(&none);
	TIMED("epoll_pwait(pipe)", 50, epoll_pwait(ep, out, 4, 50, &none), 0);
	TIMED("epoll_pwait2(pipe)", 50, epoll_pwait2(ep, out, 4, &ts, NULL), 0);

	pthread_t th = writer(&p[1]);
	WOKEN("poll(pipe, late writer)", poll(&pfd, 1, 5000));
	pthread_join(th, NULL);
	drain();
	th = writer(&p[1]);
	FD_SET(p[0], &rd);
	tv.tv_sec = 5;
	WOKEN("select(pipe, late writer)", select(p[0] + 1, &rd, NULL, NULL, &tv));
	pthread_join(th, NULL);
	drain();
	th = writer(&p[1]);
	WOKEN("epoll_wait(pipe, late writer)", epoll_wait(ep, out, 4, 5000));
	pthread_join(th, NULL);
	drain();

	int efd = eventfd(0, EFD_CLOEXEC);
	CHECK(efd >= 0, "eventfd");
	ev.data.fd = efd;
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0, "epoll_ctl del");
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0, "epoll_ctl eventfd");
	th = writer(&efd);
	WOKEN("epoll_wait(eventfd, late writer)", epoll_wait(ep, out, 4, 5000));
	pthread_join(th, NULL);
	uint64_t v;
	CHECK(read(efd, &v, 8) == 8 && v == 1, "read eventfd");
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL) == 0, "epoll_ctl del");

	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	CHECK(tfd >= 0, "timerfd_create");
	struct itimerspec its = {{0, 0}, {0, 30 * 1000 * 1000}};
	CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0, "timerfd_settime");
	ev.data.fd = tfd;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) == 0, "epoll_ctl timerfd");
	TIMED("epoll_wait(timerfd 30 ms)", 30, epoll_wait(ep, out, 4, 5000), 1);
	CHECK(read(tfd, &v, 8) == 8 && v == 1, "read timerfd");
	its.it_value.tv_nsec = 40 * 1000 * 1000;
	CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0, "timerfd_settime");
	long long t0 = now_ms();
	CHECK(read(tfd, &v, 8) == 8 && v == 1 && now_ms() - t0 >= 40, "blocking read timerfd");
	printf("read(timerfd 40 ms): 1 expiration\n");
	return 0;
}
