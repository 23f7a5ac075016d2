// timerfd: a 3 s one-shot timer waited for with epoll (virtual time: it
// takes no wall time); a periodic one read with blocking reads (each read
// returns the expirations since the last); timerfd_gettime.
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

int main(void) {
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = {{0, 0}, {3, 0}}, cur;
	timerfd_settime(fd, 0, &its, 0);
	timerfd_gettime(fd, &cur);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	struct epoll_event out;
	int n = epoll_wait(ep, &out, 1, -1);
	uint64_t count = 0;
	read(fd, &count, sizeof count);
	printf("epoll %d, count %llu, armed for %lds\n", n, (unsigned long long)count, (long)cur.it_value.tv_sec);

	int pfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
	struct itimerspec per = {{0, 100000000}, {0, 100000000}};
	timerfd_settime(pfd, 0, &per, 0);
	uint64_t total = 0;
	for (int i = 0; i < 3; i++) {
		uint64_t c;
		read(pfd, &c, sizeof c);
		total += c;
	}
	struct itimerspec off = {{0, 0}, {0, 0}};
	timerfd_settime(pfd, 0, &off, 0);
	// Each read returns the expirations since the last one: at least one.
	printf("periodic: 3 reads, %s\n", total >= 3 ? "at least 3 expirations" : "too few expirations");
	return 0;
}
