// A child stops itself with SIGSTOP; its parent sees the stop with
// waitpid(WUNTRACED), continues it with SIGCONT and reaps its exit.
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
	pid_t pid = fork();
	if (pid == 0) {
		raise(SIGSTOP);
		_exit(3);
	}
	int st;
	waitpid(pid, &st, WUNTRACED);
	int stopped = WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP;
	kill(pid, SIGCONT);
	waitpid(pid, &st, 0);
	printf("stopped %d, exited %d status %d\n", stopped, WIFEXITED(st), WEXITSTATUS(st));
	return 0;
}
