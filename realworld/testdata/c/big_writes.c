// big_writes: single writes much larger than the kernel buffer they go
// into, read by another thread (or process) of the same program. Each
// blocking write must return the full count, as it does natively:
//
//  1. a 1 MiB write() into a pipe (64 KiB buffer) read by a thread;
//  2. the same through a forked child reading the pipe;
//  3. a 1 MiB send() on a unix stream socketpair;
//  4. a 1 MiB write() on a TCP loopback connection (127.0.0.1:0);
//  5. an eventfd write that would overflow the counter blocks until a
//     thread reads it.
//
// Each reader checksums what it got. Deterministic output; exit 0.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define BIG (1 << 20)
static unsigned char buf[BIG];

static uint32_t sum(const unsigned char *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i < n; i++)
		s = s * 31 + p[i];
	return s;
}

struct reader {
	int fd;
	size_t got;
	uint32_t sum;
};

static void *read_all(void *arg)
{
	struct reader *r = arg;
	unsigned char tmp[8192];
	ssize_t n;
	while ((n = read(r->fd, tmp, sizeof tmp)) > 0) {
		r->sum = sum(tmp, n, r->sum);
		r->got += n;
	}
	CHECK(n == 0, "read");
	return NULL;
}

// through writes BIG bytes into wfd in one call while a thread reads rfd.
static void through(const char *what, int rfd, int wfd, int use_send)
{
	struct reader r = {.fd = rfd};
	pthread_t th;
	CHECK(pthread_create(&th, NULL, read_all, &r) == 0, "pthread_create");
	ssize_t n = use_send ? send(wfd, buf, BIG, 0) : write(wfd, buf, BIG);
	CHECK(n == BIG, what);
	close(wfd);
	pthread_join(th, NULL);
	close(rfd);
	CHECK(r.got == BIG && r.sum == sum(buf, BIG, 0), what);
	printf("%s: one write of %d bytes, all read back\n", what, BIG);
}

static void tcp_pair(int fds[2])
{
	int ln = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(ln >= 0, "socket");
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	CHECK(bind(ln, (struct sockaddr *)&a, sizeof a) == 0, "bind");
	CHECK(listen(ln, 1) == 0, "listen");
	CHECK(getsockname(ln, (struct sockaddr *)&a, &len) == 0, "getsockname");
	fds[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(connect(fds[1], (struct sockaddr *)&a, sizeof a) == 0, "connect");
	fds[0] = accept4(ln, NULL, NULL, SOCK_CLOEXEC);
	CHECK(fds[0] >= 0, "accept");
	close(ln);
}

static void *eventfd_reader(void *arg)
{
	int fd = *(int *)arg;
	uint64_t v;
	usleep(10 * 1000);
	CHECK(read(fd, &v, 8) == 8 && v == UINT64_MAX - 1, "read full eventfd");
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < BIG; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	int fds[2];

	CHECK(pipe(fds) == 0, "pipe");
	through("pipe", fds[0], fds[1], 0);

	CHECK(pipe(fds) == 0, "pipe");
	pid_t p = fork();
	CHECK(p >= 0, "fork");
	if (p == 0) {
		close(fds[1]);
		struct reader r = {.fd = fds[0]};
		read_all(&r);
		_exit(r.got == BIG && r.sum == sum(buf, BIG, 0) ? 0 : 1);
	}
	close(fds[0]);
	CHECK(write(fds[1], buf, BIG) == BIG, "pipe to a child");
	close(fds[1]);
	int st;
	CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child reader");
	printf("pipe to a child: one write of %d bytes, all read back\n", BIG);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair");
	through("unix socketpair", fds[0], fds[1], 1);

	tcp_pair(fds);
	through("tcp loopback", fds[0], fds[1], 0);

	int efd = eventfd(0, EFD_CLOEXEC);
	CHECK(efd >= 0, "eventfd");
	uint64_t v = UINT64_MAX - 1;
	CHECK(write(efd, &v, 8) == 8, "fill eventfd");
	pthread_t th;
	CHECK(pthread_create(&th, NULL, eventfd_reader, &efd) == 0, "pthread_create");
	v = 1;
	CHECK(write(efd, &v, 8) == 8, "write to a full eventfd");
	pthread_join(th, NULL);
	CHECK(read(efd, &v, 8) == 8 && v == 1, "read eventfd");
	printf("eventfd: a write to a full counter waited for the reader\n");
	return 0;
}
