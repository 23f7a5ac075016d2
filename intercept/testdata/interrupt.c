// Calls that the tool ends with Interrupt while it has sent the thread a
// signal: the kernel runs the handler and fails or restarts each call by
// its own rules.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, usr2;

static void on_usr1(int sig) { (void)sig; usr1++; }
static void on_usr2(int sig) { (void)sig; usr2++; }

int main(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, 0);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, 0);
	int p[2];
	pipe(p);
	dup2(p[0], 100);
	char c;
	long r = read(100, &c, 1); // SIGUSR1, ERESTARTSYS: EINTR
	printf("read: %ld %s, usr1 %d\n", r, r < 0 && errno == EINTR ? "EINTR" : "?", usr1);
	r = read(100, &c, 1); // SIGUSR2 (SA_RESTART): restarted, then 0
	printf("read: %ld, usr2 %d\n", r, usr2);
	struct timespec req = {1, 0}, rem = {0, 0};
	r = nanosleep(&req, &rem); // SIGUSR2, ERESTART_RESTARTBLOCK: EINTR
	printf("nanosleep: %ld %s, usr2 %d\n", r, r < 0 && errno == EINTR ? "EINTR" : "?", usr2);
	r = getppid(); // at its exit: SIGWINCH (ignored), ERESTARTSYS: restarted
	printf("getppid: %s\n", r == getppid() ? "ok" : "?");
	return 0;
}
