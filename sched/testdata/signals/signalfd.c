// signalfd: SIGUSR1, SIGUSR2 and SIGTERM are blocked and read through a
// signalfd, with a blocking read, after poll and after epoll_wait, sent by
// another thread after it slept.
#include <poll.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

static void *sender(void *arg) {
	(void)arg;
	int sigs[] = {SIGUSR1, SIGUSR2, SIGTERM};
	for (int i = 0; i < 3; i++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, 0);
		kill(getpid(), sigs[i]);
	}
	return 0;
}

int main(void) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, 0);
	int fd = signalfd(-1, &set, 0);
	pthread_t th;
	pthread_create(&th, 0, sender, 0);
	struct signalfd_siginfo si;
	read(fd, &si, sizeof si);
	int first = si.ssi_signo;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, -1);
	read(fd, &si, sizeof si);
	int second = si.ssi_signo;
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	int m = epoll_wait(ep, &out, 1, -1);
	read(fd, &si, sizeof si);
	pthread_join(th, 0);
	printf("read %s, poll %d, read %s, epoll %d, read %s\n", first == SIGUSR1 ? "SIGUSR1" : "?", n,
	       second == SIGUSR2 ? "SIGUSR2" : "?", m, si.ssi_signo == SIGTERM ? "SIGTERM" : "?");
	return 0;
}
