/*
 * fork_exec - fork, exec in the child, wait in the parent.
 *
 * Exercises: fork(2) (glibc: clone(SIGCHLD) without CLONE_VM), execve(2)
 * of a dynamically linked /bin/echo in the child, wait4(2) in the parent.
 * The parent writes only after the child has been reaped, so the order of
 * the lines is fixed.
 *
 * Expected stdout (exit status 0):
 *   child-exec
 *   child exited 0
 * If the child does not exit 0 the parent reports it and exits 1.
 */
#include "guest.h"

#include <sys/types.h>
#include <sys/wait.h>

int main(void)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char *argv[] = {"echo", "child-exec", NULL};
		execve("/bin/echo", argv, environ);
		/* Only reached if exec failed; don't run atexit handlers. */
		fprintf(stderr, "execve(/bin/echo): %s\n", strerror(errno));
		_exit(127);
	}

	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	if (WIFEXITED(status)) {
		printf("child exited %d\n", WEXITSTATUS(status));
		return WEXITSTATUS(status) == 0 ? 0 : 1;
	}
	if (WIFSIGNALED(status))
		printf("child killed by signal %d\n", WTERMSIG(status));
	else
		printf("child: unexpected wait status %#x\n", status);
	return 1;
}
