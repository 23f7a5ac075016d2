// sigchld_race (RACY): the job-table race of every hand-written shell.
// The parent forks a child and records its pid in the job table after
// fork returns; the SIGCHLD handler reaps children and looks them up. If
// the child exits and its SIGCHLD is handled before the parent recorded
// the pid, the handler reaps a child it does not know: "reaped unknown
// child", exit 1. Natively the parent almost always records first.
// Correct: block SIGCHLD around fork + record.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define JOBS 4
static volatile pid_t jobs[JOBS];
static volatile sig_atomic_t done, unknown;

static void on_chld(int sig)
{
	(void)sig;
	int saved = errno, st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		int found = 0;
		for (int i = 0; i < JOBS; i++)
			if (jobs[i] == p) {
				jobs[i] = -1;
				found = 1;
			}
		if (!found)
			unknown++;
		done++;
	}
	errno = saved;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_chld;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGCHLD, &sa, NULL) == 0, "sigaction");
	for (int i = 0; i < JOBS; i++) {
		pid_t p = fork();
		CHECK(p >= 0, "fork");
		if (p == 0)
			_exit(0);
		jobs[i] = p; // too late if SIGCHLD was already handled
	}
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	while (done < JOBS)
		sigsuspend(&old);
	if (unknown) {
		printf("reaped %d unknown child(ren)\n", (int)unknown);
		return 1;
	}
	printf("all %d jobs reaped\n", JOBS);
	return 0;
}
