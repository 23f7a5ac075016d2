/* fill.c FILE - fills the filesystem holding FILE (writes until ENOSPC),
 * then exits 1: a failure whose seed has no room left in the corpus. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		return 3;
	static char buf[4096];
	memset(buf, 'f', sizeof buf);
	while (write(fd, buf, sizeof buf) > 0)
		;
	close(fd);
	printf("disk full\n");
	return 1;
}
