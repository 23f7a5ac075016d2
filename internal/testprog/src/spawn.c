/*
 * spawn - posix_spawn a child and wait for it.
 *
 * Exercises: glibc's posix_spawn, which creates the child with
 * clone/clone3(CLONE_VM|CLONE_VFORK): the parent is suspended until the
 * child execs, and the child runs on the parent's memory until then. Then
 * execve(2) of /bin/echo and wait4(2).
 *
 * Expected stdout (exit status 0):
 *   spawned
 *   spawned exited 0
 * If the child does not exit 0 the parent reports it and exits 1.
 */
#include "guest.h"

#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>

int main(void)
{
	char *argv[] = {"echo", "spawned", NULL};
	pid_t pid;
	int err = posix_spawn(&pid, "/bin/echo", NULL, NULL, argv, environ);
	if (err != 0)
		die_err("posix_spawn(/bin/echo)", err);

	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	if (WIFEXITED(status)) {
		printf("spawned exited %d\n", WEXITSTATUS(status));
		return WEXITSTATUS(status) == 0 ? 0 : 1;
	}
	if (WIFSIGNALED(status))
		printf("spawned killed by signal %d\n", WTERMSIG(status));
	else
		printf("spawned: unexpected wait status %#x\n", status);
	return 1;
}
