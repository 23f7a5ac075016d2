// A lost wake-up: the SIGCHLD handler sets a flag that is checked before
// pause() rather than with the signal blocked and sigsuspend. If the child
// exits after the check but before pause, the handler runs in between (at
// the return from the write) and pause waits forever.
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_chld(int sig) { (void)sig; done = 1; }

int main(void) {
	signal(SIGCHLD, on_chld);
	if (fork() == 0)
		_exit(0);
	if (!done) {
		write(2, "waiting\n", 8);
		pause();
	}
	wait(0);
	printf("done\n");
	return 0;
}
