/* slow.c - a correct program whose runs take a while: two threads make
 * N small syscalls each (default 3000), then it exits 0. Used to stop
 * schedfuzz in the middle of a run. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static int n = 3000;

static void *work(void *arg)
{
	(void)arg;
	for (int i = 0; i < n; i++)
		getppid();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		n = atoi(argv[1]);
	pthread_t t;
	pthread_create(&t, NULL, work, NULL);
	work(NULL);
	pthread_join(t, NULL);
	return 0;
}
