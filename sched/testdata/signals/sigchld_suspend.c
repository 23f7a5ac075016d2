// SIGCHLD + sigsuspend, as shells wait for their jobs: SIGCHLD is blocked
// around the fork; sigsuspend unblocks it; the handler runs; waitpid reaps.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t chld;

static void on_chld(int sig) { (void)sig; chld++; }

int main(void) {
	struct sigaction sa = {0};
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, 0);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (int i = 0; i < 2; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct timespec ts = {0, (i + 1) * 10000000};
			nanosleep(&ts, 0);
			_exit(3 + i);
		}
	}
	int reaped = 0, sum = 0;
	while (reaped < 2) {
		int st;
		pid_t p;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
			reaped++;
			sum += WEXITSTATUS(st);
		}
		if (reaped < 2)
			sigsuspend(&old);
	}
	// A SIGCHLD that came after the last sigsuspend is still pending.
	sigprocmask(SIG_SETMASK, &old, 0);
	printf("reaped %d, statuses %d, handler ran %s\n", reaped, sum, chld > 0 ? "yes" : "no");
	return 0;
}
