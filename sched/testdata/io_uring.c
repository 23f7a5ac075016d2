// io_uring: io_uring_setup is refused with ENOSYS (the scheduler cannot
// serialize work the kernel does asynchronously); programs fall back.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
	unsigned char params[120];
	memset(params, 0, sizeof params);
	long fd = syscall(SYS_io_uring_setup, 8, params);
	printf("io_uring_setup: %ld, %s\n", fd, fd < 0 ? strerror(errno) : "a ring");
	return 0;
}
