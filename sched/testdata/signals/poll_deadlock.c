// A real deadlock of a thread polling a pipe that nobody will write to,
// while a signal handler is installed: reported as a deadlock, at once.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

int main(void) {
	signal(SIGUSR1, on_usr1);
	int p[2];
	pipe(p);
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	poll(&pfd, 1, -1);
	return 0;
}
