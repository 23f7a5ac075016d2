// sigchld: SIGCHLD from exiting children wakes a waiting parent.
//
//  1. SIGCHLD handler + sigsuspend: three children exit (status 1, 2, 3)
//     after sleeping 10, 20 and 30 ms; the parent, with SIGCHLD blocked
//     outside sigsuspend, sleeps in sigsuspend until its handler has
//     reaped all three (waitpid WNOHANG in the handler: SIGCHLDs merge).
//  2. signalfd: SIGCHLD read from a signalfd in poll, then reaped.
//  3. sigtimedwait for SIGCHLD with a 5 s timeout: the child exits first.
//  4. a blocking waitpid on a sleeping child, interrupted by nothing.
//
// Deterministic output: one line per step; exit 0.
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t reaped, status_sum;

static void on_chld(int sig)
{
	(void)sig;
	int saved = errno, st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		reaped++;
		status_sum += WEXITSTATUS(st);
	}
	errno = saved;
}

static pid_t child(int ms, int status)
{
	pid_t p = fork();
	CHECK(p >= 0, "fork");
	if (p == 0) {
		usleep(ms * 1000);
		_exit(status);
	}
	return p;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_chld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGCHLD, &sa, NULL) == 0, "sigaction");

	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	CHECK(sigprocmask(SIG_BLOCK, &chld, &old) == 0, "sigprocmask");
	for (int i = 1; i <= 3; i++)
		child(10 * i, i);
	while (reaped < 3)
		sigsuspend(&old);
	CHECK(status_sum == 6, "exit statuses");
	printf("sigsuspend: reaped 3 children, statuses sum 6\n");

	signal(SIGCHLD, SIG_DFL);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
	CHECK(sfd >= 0, "signalfd");
	pid_t p = child(20, 7);
	struct pollfd pfd = {.fd = sfd, .events = POLLIN};
	CHECK(poll(&pfd, 1, 5000) == 1, "poll signalfd");
	struct signalfd_siginfo ssi;
	CHECK(read(sfd, &ssi, sizeof ssi) == sizeof ssi, "read signalfd");
	CHECK(ssi.ssi_signo == SIGCHLD && (pid_t)ssi.ssi_pid == p && ssi.ssi_status == 7, "signalfd siginfo");
	int st;
	CHECK(waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 7, "waitpid");
	close(sfd);
	printf("signalfd: SIGCHLD from the child, status 7\n");

	p = child(20, 8);
	struct timespec to = {5, 0};
	siginfo_t si;
	CHECK(sigtimedwait(&chld, &si, &to) == SIGCHLD && si.si_pid == p, "sigtimedwait SIGCHLD");
	CHECK(waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 8, "waitpid");
	printf("sigtimedwait: SIGCHLD before the timeout\n");

	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0, "sigprocmask");
	p = child(30, 9);
	CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 9, "blocking waitpid");
	printf("waitpid: status 9\n");
	return 0;
}
