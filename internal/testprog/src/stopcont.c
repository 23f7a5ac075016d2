/*
 * stopcont - the process stops itself with SIGSTOP and is continued by a
 * helper child with SIGCONT.
 *
 * Exercises: group-stop and SIGCONT (under ptrace: a signal-delivery-stop
 * for SIGSTOP, then a group-stop that the tracer must let happen, e.g. via
 * PTRACE_LISTEN, and the SIGCONT that ends it), plus fork/wait.
 *
 * The helper polls a pipe with a 100 ms timeout and sends SIGCONT to the
 * parent every time the poll times out, until the parent closes the pipe
 * (which it does once it has resumed). So it does not matter whether the
 * first SIGCONT arrives before or after the parent actually stopped: a
 * SIGCONT that arrives while SIGSTOP is still pending discards it, and a
 * SIGCONT that arrives too early is followed by another one. The helper
 * gives up after ~10 s (exit status 1).
 *
 * Expected stdout (exit status 0):
 *   stopping
 *   resumed
 *   helper exited 0
 */
#include "guest.h"

#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

static void helper(pid_t parent, int rfd)
{
	for (int tries = 0; tries < 100; tries++) {
		struct pollfd pfd = {.fd = rfd, .events = POLLIN};
		int n = poll(&pfd, 1, 100);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(2);
		}
		if (n > 0)
			_exit(0); /* EOF / hang-up: the parent is running again */
		if (kill(parent, SIGCONT) < 0)
			_exit(3);
	}
	_exit(1);
}

int main(void)
{
	int pfd[2];
	pid_t self = getpid();

	if (pipe(pfd) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(pfd[1]);
		helper(self, pfd[0]);
	}
	close(pfd[0]);

	say("stopping\n");
	if (raise(SIGSTOP) != 0)
		die("raise(SIGSTOP)");
	say("resumed\n");
	close(pfd[1]);

	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	if (WIFEXITED(status)) {
		printf("helper exited %d\n", WEXITSTATUS(status));
		return WEXITSTATUS(status) == 0 ? 0 : 1;
	}
	printf("helper: unexpected wait status %#x\n", status);
	return 1;
}
