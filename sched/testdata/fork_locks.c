// fork_locks: the lock_sections bug in a forked child: the child's two
// threads add to a balance in two critical sections each; the parent
// exits with the child's status. The breakpoints the parent's image got
// must be there in the child (its text is a copy) for the bug to be found.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int balance;

static void *worker(void *arg) {
	for (int i = 0; i < 3; i++) {
		pthread_mutex_lock(&mu);
		int tmp = balance;
		pthread_mutex_unlock(&mu);
		pthread_mutex_lock(&mu);
		balance = tmp + 1;
		pthread_mutex_unlock(&mu);
	}
	return arg;
}

int main(void) {
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t a, b;
		pthread_create(&a, NULL, worker, NULL);
		pthread_create(&b, NULL, worker, NULL);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		if (balance != 6) {
			fprintf(stderr, "lost update in the child: balance=%d\n", balance);
			_exit(1);
		}
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
