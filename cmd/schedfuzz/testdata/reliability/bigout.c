/* bigout.c MIB - writes MIB MiB to stdout in 1 MiB writes, then "the-end"
 * and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int mib = argc > 1 ? atoi(argv[1]) : 256;
	static char buf[1 << 20];
	memset(buf, 'o', sizeof buf);
	for (int i = 0; i < mib; i++)
		if (write(1, buf, sizeof buf) < 0)
			return 3;
	if (write(1, "the-end\n", 8) != 8)
		return 3;
	return 1;
}
