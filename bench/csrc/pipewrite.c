// pipewrite SIZE N: N times, write SIZE bytes to a pipe and read them
// back, in one thread. No call ever blocks. Under the scheduler a write of
// at most a page to a pipe with room runs as it is; a larger one runs as
// a non-blocking piece traced to its exit (sched/io.go): the difference
// between SIZE 4096 and 4097 is that path's cost per write.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 3)
		return 2;
	long size = atol(argv[1]), n = atol(argv[2]);
	char *buf = calloc(1, size);
	int p[2];
	if (pipe(p) != 0)
		return 1;
	for (long i = 0; i < n; i++) {
		if (write(p[1], buf, size) != size)
			return 1;
		for (long got = 0; got < size;) {
			ssize_t r = read(p[0], buf + got, size - got);
			if (r <= 0)
				return 1;
			got += r;
		}
	}
	return 0;
}
