/*
 * segv - dies from a NULL pointer dereference.
 *
 * Exercises: a synchronous fault (SIGSEGV from a page fault, not from
 * kill), which under ptrace produces a signal-delivery-stop followed by the
 * process being killed. Core dumps are disabled (RLIMIT_CORE = 0) so the
 * test leaves no core files behind and WCOREDUMP is normally false.
 *
 * Expected stdout:
 *   about to crash
 * Expected status: killed by signal SIGSEGV (11). Exit status 1 if it
 * somehow survives the dereference.
 */
#include "guest.h"

#include <signal.h>
#include <sys/resource.h>

int main(void)
{
	struct rlimit no_core = {0, 0};
	sigset_t segv;

	if (setrlimit(RLIMIT_CORE, &no_core) < 0)
		die("setrlimit(RLIMIT_CORE)");
	/* Default disposition, unblocked, whatever we inherited. */
	if (signal(SIGSEGV, SIG_DFL) == SIG_ERR)
		die("signal(SIGSEGV)");
	sigemptyset(&segv);
	sigaddset(&segv, SIGSEGV);
	if (sigprocmask(SIG_UNBLOCK, &segv, NULL) < 0)
		die("sigprocmask");

	say("about to crash\n");

	/* Both volatiles are needed: the volatile pointer keeps the compiler
	 * from seeing that it is NULL (and turning the store into a trap
	 * instruction, SIGILL), the volatile object keeps it from deleting
	 * the store as dead. */
	volatile int *volatile p = NULL;
	*p = 42;

	fprintf(stderr, "survived a NULL dereference\n");
	return 1;
}
