// io_block: blocking transfers between threads that the kernel can only
// complete in pieces (writes larger than a pipe or socket buffer, a full
// eventfd, MSG_WAITALL, a full listen backlog...). Each must finish with
// the result it has natively: under the scheduler, the thread that would
// empty the buffer is held, so a writer blocked in the kernel would hang
// the run. One line per case; the output is the same in every schedule.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define BIG (1 << 20)

static unsigned char *src;
static unsigned long srcsum;

static unsigned long sum(unsigned long h, const unsigned char *p, size_t n) {
	for (size_t i = 0; i < n; i++)
		h = h * 31 + p[i];
	return h;
}

// reader drains fd in chunks (recv with MSG_WAITALL if waitall) until EOF.
struct reader {
	int fd, waitall;
	size_t chunk, got, short_waitall;
	unsigned long sum;
	pthread_t th;
};

static void *read_all(void *arg) {
	struct reader *r = arg;
	unsigned char *buf = malloc(r->chunk);
	for (;;) {
		ssize_t n = r->waitall ? recv(r->fd, buf, r->chunk, MSG_WAITALL) : read(r->fd, buf, r->chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (r->waitall && (size_t)n != r->chunk && r->got + n != BIG)
			r->short_waitall++;
		r->sum = sum(r->sum, buf, n);
		r->got += n;
	}
	free(buf);
	return NULL;
}

static void start_reader(struct reader *r, int fd, size_t chunk, int waitall) {
	memset(r, 0, sizeof *r);
	r->fd = fd;
	r->chunk = chunk;
	r->waitall = waitall;
	pthread_create(&r->th, NULL, read_all, r);
}

static void finish(const char *what, ssize_t wrote, struct reader *r, int wfd) {
	close(wfd);
	pthread_join(r->th, NULL);
	close(r->fd);
	printf("%s: wrote %zd, read %zu, %s%s\n", what, wrote, r->got,
	       r->got == BIG && r->sum == srcsum ? "intact" : "CORRUPT",
	       r->short_waitall ? ", short MSG_WAITALL" : "");
}

static void pipe_write(void) {
	int p[2];
	struct reader r;
	pipe(p);
	start_reader(&r, p[0], 16384, 0);
	finish("pipe write", write(p[1], src, BIG), &r, p[1]);
}

static void pipe_writev(void) {
	int p[2];
	struct reader r;
	struct iovec iov[3] = {{src, 100000}, {src + 100000, 300000}, {src + 400000, BIG - 400000}};
	pipe(p);
	start_reader(&r, p[0], 65536, 0);
	finish("pipe writev", writev(p[1], iov, 3), &r, p[1]);
}

static void unix_send(void) {
	int sv[2];
	struct reader r;
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	start_reader(&r, sv[0], 300000, 1);
	ssize_t a = send(sv[1], src, 400000, 0);
	struct iovec iov[2] = {{src + 400000, 200000}, {src + 600000, 200000}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t b = sendmsg(sv[1], &mh, MSG_NOSIGNAL);
	ssize_t c = write(sv[1], src + 800000, BIG - 800000);
	finish("unix send+sendmsg+write, recv MSG_WAITALL", a + b + c, &r, sv[1]);
}

static void tcp_send(void) {
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	bind(l, (struct sockaddr *)&sa, sizeof sa);
	listen(l, 1);
	getsockname(l, (struct sockaddr *)&sa, &len);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("connect");
		exit(1);
	}
	int a = accept(l, NULL, NULL);
	close(l);
	struct reader r;
	start_reader(&r, a, 8192, 0);
	finish("tcp loopback send", sendto(c, src, BIG, 0, NULL, 0), &r, c);
}

static int efd;

static void *eventfd_reader(void *arg) {
	uint64_t v;
	read(efd, &v, 8);
	*(uint64_t *)arg = v;
	return NULL;
}

static void eventfd_full(void) {
	uint64_t max = 0xfffffffffffffffeULL, one = 1, first = 0, second = 0;
	pthread_t th;
	efd = eventfd(0, 0);
	write(efd, &max, 8);
	pthread_create(&th, NULL, eventfd_reader, &first);
	// The counter is full: this write blocks until the reader drains it.
	ssize_t n = write(efd, &one, 8);
	pthread_join(th, NULL);
	read(efd, &second, 8);
	printf("eventfd full: write %zd, reader got %#llx, then %llu\n", n,
	       (unsigned long long)first, (unsigned long long)second);
	close(efd);
}

// Writes of PIPE_BUF bytes stay atomic: records of concurrent writers
// never interleave.
static int apipe[2];

static void *record_writer(void *arg) {
	unsigned char rec[4096];
	for (int i = 0; i < 40; i++) {
		memset(rec, (int)(intptr_t)arg * 40 + i, sizeof rec);
		write(apipe[1], rec, sizeof rec);
	}
	return NULL;
}

static void atomic_records(void) {
	pthread_t w[4];
	pipe(apipe);
	for (intptr_t i = 0; i < 4; i++)
		pthread_create(&w[i], NULL, record_writer, (void *)i);
	unsigned char rec[4096];
	int records = 0, torn = 0;
	for (int r = 0; r < 160; r++) {
		size_t got = 0;
		while (got < sizeof rec) {
			ssize_t n = read(apipe[0], rec + got, sizeof rec - got);
			if (n <= 0)
				break;
			got += n;
		}
		for (size_t i = 1; i < sizeof rec; i++)
			if (rec[i] != rec[0]) {
				torn++;
				break;
			}
		records++;
	}
	for (int i = 0; i < 4; i++)
		pthread_join(w[i], NULL);
	printf("PIPE_BUF writes: %d records, %d torn\n", records, torn);
	close(apipe[0]);
	close(apipe[1]);
}

static int sigpipes;
static void on_sigpipe(int sig) { (void)sig; sigpipes++; }

static int epipe[2];
static void *read_some_then_close(void *arg) {
	(void)arg;
	char buf[4096];
	size_t got = 0;
	while (got < 65536) {
		ssize_t n = read(epipe[0], buf, sizeof buf);
		if (n <= 0)
			break;
		got += n;
	}
	close(epipe[0]);
	return NULL;
}

static void broken_pipe(void) {
	pthread_t th;
	signal(SIGPIPE, on_sigpipe);
	pipe(epipe);
	pthread_create(&th, NULL, read_some_then_close, NULL);
	ssize_t n = write(epipe[1], src, BIG);
	pthread_join(th, NULL);
	int partial = n >= 65536 && n < BIG, s1 = sigpipes;
	ssize_t m = write(epipe[1], src, 10);
	printf("broken pipe: first write partial=%d (sigpipe %d), second %zd %s (sigpipe %d)\n",
	       partial, s1, m, m < 0 ? strerror(errno) : "", sigpipes);
	close(epipe[1]);
	signal(SIGPIPE, SIG_DFL);
}

static char fifo[64];
static void *fifo_writer(void *arg) {
	(void)arg;
	int fd = open(fifo, O_WRONLY);
	write(fd, "hello", 5);
	close(fd);
	return NULL;
}

// A FIFO opened O_RDWR never sees EOF: its read waits for the writer.
static void fifo_rdwr(void) {
	char dir[] = "/tmp/io_blockXXXXXX";
	mkdtemp(dir);
	snprintf(fifo, sizeof fifo, "%s/f", dir);
	mkfifo(fifo, 0600);
	int fd = open(fifo, O_RDWR);
	pthread_t th;
	pthread_create(&th, NULL, fifo_writer, NULL);
	char buf[6] = {0};
	ssize_t n = read(fd, buf, 5);
	pthread_join(th, NULL);
	printf("fifo O_RDWR: read %zd %s\n", n, buf);
	close(fd);
	unlink(fifo);
	rmdir(dir);
}

// connect to a unix listener whose backlog is full blocks until an accept.
static struct sockaddr_un ua = {.sun_family = AF_UNIX};
static void *acceptor(void *arg) {
	int l = *(int *)arg, n = 0;
	usleep(10000);
	for (int i = 0; i < 3; i++) {
		int c = accept(l, NULL, NULL);
		if (c >= 0) {
			n++;
			close(c);
		}
	}
	*(int *)arg = n;
	return NULL;
}

static void unix_backlog(void) {
	char dir[] = "/tmp/io_blockXXXXXX";
	mkdtemp(dir);
	snprintf(ua.sun_path, sizeof ua.sun_path, "%s/s", dir);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&ua, sizeof ua);
	listen(l, 0);
	int arg = l;
	pthread_t th;
	pthread_create(&th, NULL, acceptor, &arg);
	int ok = 0;
	for (int i = 0; i < 3; i++) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&ua, sizeof ua) == 0)
			ok++;
		close(c);
	}
	pthread_join(th, NULL);
	printf("unix connect with a full backlog: %d connected, %d accepted\n", ok, arg);
	close(l);
	unlink(ua.sun_path);
	rmdir(dir);
}

// recvmmsg waits for all its messages; splice moves between pipes.
static int dg[2];
static void *dgram_sender(void *arg) {
	(void)arg;
	char m[4][8] = {"m0", "m1", "m2", "m3"};
	for (int i = 0; i < 4; i += 2) {
		struct iovec iov[2] = {{m[i], 3}, {m[i + 1], 3}};
		struct mmsghdr mm[2] = {{.msg_hdr = {.msg_iov = &iov[0], .msg_iovlen = 1}},
					{.msg_hdr = {.msg_iov = &iov[1], .msg_iovlen = 1}}};
		sendmmsg(dg[1], mm, 2, 0);
		usleep(1000);
	}
	return NULL;
}

static void mmsg(void) {
	pthread_t th;
	socketpair(AF_UNIX, SOCK_DGRAM, 0, dg);
	pthread_create(&th, NULL, dgram_sender, NULL);
	char buf[4][8];
	struct iovec iov[4];
	struct mmsghdr mm[4];
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 4; i++) {
		iov[i] = (struct iovec){buf[i], 8};
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	int n = recvmmsg(dg[0], mm, 4, 0, NULL);
	pthread_join(th, NULL);
	printf("recvmmsg: %d messages: %s %s %s %s\n", n, buf[0], buf[1], n > 2 ? buf[2] : "-", n > 3 ? buf[3] : "-");
	close(dg[0]);
	close(dg[1]);
}

static int sp_in[2], sp_out[2];
static void *splicer(void *arg) {
	(void)arg;
	ssize_t total = 0, n;
	while ((n = splice(sp_in[0], NULL, sp_out[1], NULL, BIG, 0)) > 0)
		total += n;
	close(sp_out[1]);
	return (void *)total;
}

static void splice_pipes(void) {
	pthread_t th;
	struct reader r;
	pipe(sp_in);
	pipe(sp_out);
	pthread_create(&th, NULL, splicer, NULL);
	start_reader(&r, sp_out[0], 8192, 0);
	ssize_t n = write(sp_in[1], src, BIG);
	close(sp_in[1]);
	void *spliced;
	pthread_join(th, &spliced);
	pthread_join(r.th, NULL);
	printf("splice pipe to pipe: wrote %zd, spliced %zd, read %zu, %s\n", n, (ssize_t)spliced, r.got,
	       r.got == BIG && r.sum == srcsum ? "intact" : "CORRUPT");
	close(sp_in[0]);
	close(sp_out[0]);
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	src = malloc(BIG);
	for (int i = 0; i < BIG; i++)
		src[i] = (unsigned char)(i * 7 + i / 251);
	srcsum = sum(0, src, BIG);
	pipe_write();
	pipe_writev();
	unix_send();
	tcp_send();
	eventfd_full();
	atomic_records();
	broken_pipe();
	fifo_rdwr();
	unix_backlog();
	mmsg();
	splice_pipes();
	return 0;
}
