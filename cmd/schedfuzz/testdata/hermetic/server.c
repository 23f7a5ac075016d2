// server: a server thread listens on a fixed loopback port (argv[1],
// without SO_REUSEADDR), a client thread connects and gets its message
// echoed. Two of these on one network at once, or one right after
// another's connection (TIME_WAIT), fail to bind.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in addr;

static void die(const char *what) {
	printf("%s: %s\n", what, strerror(errno));
	exit(1);
}

static void *server(void *arg) {
	int s = *(int *)arg;
	int c = accept(s, 0, 0);
	if (c < 0)
		die("accept");
	char buf[64];
	ssize_t n = read(c, buf, sizeof buf);
	if (n <= 0)
		die("read");
	if (write(c, buf, n) != n)
		die("write");
	close(c);
	return 0;
}

int main(int argc, char **argv) {
	addr.sin_family = AF_INET;
	addr.sin_port = htons(argc > 1 ? atoi(argv[1]) : 47123);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0)
		die("bind");
	if (listen(s, 4) < 0)
		die("listen");
	pthread_t t;
	pthread_create(&t, 0, server, &s);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&addr, sizeof addr) < 0)
		die("connect");
	if (write(c, "ping", 4) != 4)
		die("write");
	char buf[8];
	if (read(c, buf, sizeof buf) != 4 || memcmp(buf, "ping", 4) != 0)
		die("echo");
	close(c);
	pthread_join(t, 0);
	close(s);
	return 0;
}
