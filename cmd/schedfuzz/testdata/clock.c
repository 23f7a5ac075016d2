/* Fails if the realtime clock is behind the time of a file it just made
   or of its own program (make's "clock skew detected"). */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

int main(int argc, char **argv) {
	struct stat prog, made;
	FILE *f = fopen("made", "w");
	if (!f || fclose(f) != 0 || stat("made", &made) != 0 || stat(argv[0], &prog) != 0)
		return 2;
	time_t now = time(NULL);
	if (now < made.st_mtime || now < prog.st_mtime) {
		printf("clock %ld behind file %ld\n", (long)now, (long)made.st_mtime);
		return 1;
	}
	return 0;
}
