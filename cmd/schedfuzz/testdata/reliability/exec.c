/* exec.c PROG - execs PROG (a 32-bit program, in the reliability suite). */
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	execv(argv[1], argv + 1);
	return 127;
}
