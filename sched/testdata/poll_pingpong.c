// poll_pingpong: two threads wait without a timeout, one in poll and one
// in epoll_wait, on pipes that only a third thread writes, after 2000
// system calls of its own (as node's main and libuv threads wait in
// epoll_pwait, or python's http.server polls, while workers compute). A
// poll that finds nothing changes no fd: it must not make the other
// poller retry, or two pollers that PCT ranks above the writer retry
// each other forever and the writer never runs (a false livelock).
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

static int a[2], b[2];

static void *poller(void *arg) {
	(void)arg;
	struct pollfd p = {.fd = a[0], .events = POLLIN};
	int n = poll(&p, 1, -1);
	char c = 0;
	read(a[0], &c, 1);
	return (void *)(long)(n == 1 && c == 'a');
}

static void *epoller(void *arg) {
	(void)arg;
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, got;
	epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev);
	int n = epoll_wait(ep, &got, 1, -1);
	char c = 0;
	read(b[0], &c, 1);
	close(ep);
	return (void *)(long)(n == 1 && c == 'b');
}

static void *writer(void *arg) {
	(void)arg;
	for (int i = 0; i < 2000; i++)
		getppid();
	write(a[1], "a", 1);
	write(b[1], "b", 1);
	return NULL;
}

int main(void) {
	if (pipe(a) || pipe(b))
		return 2;
	pthread_t t1, t2, t3;
	pthread_create(&t1, NULL, poller, NULL);
	pthread_create(&t2, NULL, epoller, NULL);
	pthread_create(&t3, NULL, writer, NULL);
	void *r1, *r2;
	pthread_join(t1, &r1);
	pthread_join(t2, &r2);
	pthread_join(t3, NULL);
	printf("poll: %s, epoll_wait: %s\n", r1 ? "ready" : "FAIL", r2 ? "ready" : "FAIL");
	return r1 && r2 ? 0 : 1;
}
