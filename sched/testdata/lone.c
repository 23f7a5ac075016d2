// lone: a long stretch where one thread alone can run, then a race. The
// main thread takes a mutex 20000 times while its worker waits in read()
// on a pipe (no choice at any of those points: Config.LoneAfter lets them
// pass), then wakes the worker and both add to a balance in two critical
// sections each (the lock_sections bug). With "fork", the main thread
// forks after its stretch and the child's two threads race instead: its
// function points must come back in the child, whose text is a copy of the
// parent's, disabled int3s included. Exit 1 on a lost update.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t alone = PTHREAD_MUTEX_INITIALIZER;
static int balance, fds[2];
static long n;

static void add(void) {
	for (int i = 0; i < 3; i++) {
		pthread_mutex_lock(&mu);
		int tmp = balance;
		pthread_mutex_unlock(&mu);
		pthread_mutex_lock(&mu);
		balance = tmp + 1;
		pthread_mutex_unlock(&mu);
	}
}

static void *worker(void *arg) {
	char c;
	if (read(fds[0], &c, 1) != 1)
		exit(2);
	add();
	return arg;
}

static void stretch(void) {
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&alone);
		n++;
		pthread_mutex_unlock(&alone);
	}
}

static int race(void) {
	pthread_t w;
	if (pipe(fds) != 0 || pthread_create(&w, NULL, worker, NULL) != 0)
		return 2;
	stretch();
	if (write(fds[1], "x", 1) != 1)
		return 2;
	add();
	pthread_join(w, NULL);
	if (balance != 6) {
		fprintf(stderr, "lost update: balance=%d after %ld\n", balance, n);
		return 1;
	}
	printf("balance=%d after %ld\n", balance, n);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 2 || strcmp(argv[1], "fork") != 0)
		return race();
	stretch();
	pid_t pid = fork();
	if (pid == 0) {
		n = 0;
		_exit(race());
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
