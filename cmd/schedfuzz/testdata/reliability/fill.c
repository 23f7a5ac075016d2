/* fill.c FILE - writes up to 1 MiB to FILE (less if its filesystem fills
 * up), then exits 1: a failure that fills a small corpus disk. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 3;
	static char buf[4096];
	memset(buf, 'f', sizeof buf);
	long n = 0;
	while (n < (1 << 20)) {
		ssize_t w = write(fd, buf, sizeof buf);
		if (w <= 0)
			break;
		n += w;
	}
	close(fd);
	printf("wrote %ld bytes\n", n);
	return 1;
}
