/*
 * decode - a guest for `schedfuzz trace`'s decoding tests: one of each
 * kind of call whose arguments the trace decodes, made deterministically
 * (the test checks the exact decoded lines).
 *
 * Expected stdout (exit status 0):
 *   decode done
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int futex_word;
static int gate[2];

static void *worker(void *arg)
{
	/* Wait until the creator's clone has returned and been decoded: the
	 * kernel clears the tid word clone3 wrote back when this thread
	 * exits (CLONE_CHILD_CLEARTID). */
	char c;
	if (read(gate[0], &c, 1) != 1)
		return arg;
	/* A futex op by name from the second thread. */
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return arg;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open");
	close(fd);

	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		die("pipe2");
	if (write(p[1], "decode-me\n", 10) != 10)
		die("write");
	char buf[64];
	if (read(p[0], buf, sizeof buf) != 10)
		die("read");

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	connect(s, (struct sockaddr *)&sin, sizeof sin); /* refused, normally */

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die("sigprocmask");

	void *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		die("mmap");

	struct timespec ts = {0, 1000};
	nanosleep(&ts, NULL);

	pthread_t t;
	if (pipe(gate) != 0)
		die("pipe");
	int err = pthread_create(&t, NULL, worker, NULL);
	if (err != 0) {
		errno = err;
		die("pthread_create");
	}
	if (write(gate[1], "g", 1) != 1)
		die("write");
	pthread_join(t, NULL);

	printf("decode done\n");
	return 0;
}
