// poll_stdin: an untimed poll of stdin, which only the outside fills.
#include <poll.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
	struct pollfd p = {.fd = 0, .events = POLLIN};
	int n = poll(&p, 1, -1);
	char buf[64]; ssize_t r = read(0, buf, sizeof buf);
	printf("poll %d read %zd\n", n, r);
	return 0;
}
