/*
 * exit_code - prints its arguments and exits with the status in argv[1].
 *
 * Exercises: argument passing and exit status propagation.
 *
 * Usage: exit_code [STATUS [ARGS...]]   STATUS is 0..255, default 0.
 *
 * Expected stdout for "exit_code 7 a b" (exit status 7):
 *   argc=4
 *   arg1=7
 *   arg2=a
 *   arg3=b
 * With no arguments: "argc=1", exit status 0. An invalid STATUS is reported
 * on stderr and gives exit status 125.
 */
#include "guest.h"

int main(int argc, char **argv)
{
	long status = 0;

	printf("argc=%d\n", argc);
	for (int i = 1; i < argc; i++)
		printf("arg%d=%s\n", i, argv[i]);

	if (argc > 1) {
		char *end;
		errno = 0;
		status = strtol(argv[1], &end, 10);
		if (errno != 0 || end == argv[1] || *end != '\0' || status < 0 || status > 255) {
			fprintf(stderr, "invalid exit status \"%s\"\n", argv[1]);
			return 125;
		}
	}
	return (int)status;
}
