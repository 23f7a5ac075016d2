/*
 * sigterm - a caught SIGTERM whose handler must run for the right exit code.
 *
 * Exercises: rt_sigaction, signal generation and delivery to a handler
 * (signal-delivery-stop under ptrace, rt_sigreturn), and a main loop that
 * only ends once the handler has set a flag. The exit status 3 proves the
 * handler ran (the default action would kill the process with SIGTERM).
 *
 * Usage:
 *   sigterm        sends itself SIGTERM with kill(getpid(), SIGTERM), then
 *                  loops (sched_yield) until the flag is set. Gives up after
 *                  10 s with exit status 1.
 *   sigterm wait   prints "waiting for SIGTERM" and then waits (sigsuspend)
 *                  for SIGTERM from someone else, without a time limit.
 *
 * Expected stdout (exit status 3):
 *   caught SIGTERM
 * or, with "wait":
 *   waiting for SIGTERM
 *   caught SIGTERM
 */
#include "guest.h"

#include <sched.h>
#include <signal.h>
#include <time.h>

static volatile sig_atomic_t caught;

static void on_term(int sig)
{
	(void)sig;
	say("caught SIGTERM\n");
	caught = 1;
}

static double now(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		die("clock_gettime");
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t block, old;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0)
		die("sigaction");

	if (argc > 1 && strcmp(argv[1], "wait") == 0) {
		/* Block SIGTERM so it cannot slip in between the flag check
		 * and the wait; sigsuspend atomically unblocks it. */
		sigemptyset(&block);
		sigaddset(&block, SIGTERM);
		if (sigprocmask(SIG_BLOCK, &block, &old) < 0)
			die("sigprocmask");
		sigdelset(&old, SIGTERM);
		say("waiting for SIGTERM\n");
		while (!caught)
			sigsuspend(&old);
		return 3;
	}

	/* Make sure SIGTERM is not blocked (the mask is inherited). */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_UNBLOCK, &block, NULL) < 0)
		die("sigprocmask");

	if (kill(getpid(), SIGTERM) < 0)
		die("kill(self, SIGTERM)");

	double deadline = now() + 10.0;
	while (!caught) {
		if (now() > deadline) {
			fprintf(stderr, "SIGTERM handler never ran\n");
			return 1;
		}
		sched_yield();
	}
	return 3;
}
