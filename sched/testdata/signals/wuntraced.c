// A child stops itself with SIGSTOP; its parent sees the stop with
// waitpid(WUNTRACED), continues it with SIGCONT and reaps its exit. Then
// the same with a child of two threads: the one blocked in pthread_join
// stops with the one that raised SIGSTOP, and both go on after SIGCONT.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void *stopper(void *arg) {
	(void)arg;
	kill(getpid(), SIGSTOP);
	return 0;
}

static void check(pid_t pid, const char *what) {
	int st;
	waitpid(pid, &st, WUNTRACED);
	int stopped = WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP;
	kill(pid, SIGCONT);
	waitpid(pid, &st, 0);
	printf("%s: stopped %d, exited %d status %d\n", what, stopped, WIFEXITED(st), WEXITSTATUS(st));
}

int main(void) {
	pid_t pid = fork();
	if (pid == 0) {
		raise(SIGSTOP);
		_exit(3);
	}
	check(pid, "one thread");
	pid = fork();
	if (pid == 0) {
		pthread_t th;
		pthread_create(&th, 0, stopper, 0);
		pthread_join(th, 0);
		_exit(4);
	}
	check(pid, "two threads");
	return 0;
}
