/* storm.c fork|thread [MAX] - creates processes (or threads) until the
 * kernel says EAGAIN (RLIMIT_NPROC) or MAX is reached, each waiting on a
 * pipe; then lets them all go, reaps them, prints how many it made and
 * exits 0. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int gate[2];

static void *waiter(void *arg)
{
	char c;
	(void)arg;
	while (read(gate[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

int main(int argc, char **argv)
{
	int max = argc > 2 ? atoi(argv[2]) : 2000;
	if (argc < 2 || pipe(gate) != 0)
		return 2;
	int made = 0, thread = !strcmp(argv[1], "thread");
	pthread_t *ts = calloc((size_t)max, sizeof *ts);
	for (; made < max; made++) {
		if (thread) {
			if (pthread_create(&ts[made], NULL, waiter, NULL) != 0)
				break;
		} else {
			pid_t p = fork();
			if (p < 0)
				break;
			if (p == 0) {
				close(gate[1]);
				waiter(NULL);
				_exit(0);
			}
		}
	}
	close(gate[1]); /* every waiter's read returns 0 */
	for (int i = 0; i < made; i++) {
		if (thread)
			pthread_join(ts[i], NULL);
		else
			wait(NULL);
	}
	printf("made %d\n", made);
	return 0;
}
