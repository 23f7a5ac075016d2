// signalfd: SIGUSR1 is blocked and read through a signalfd, with a
// blocking read and with poll, sent by another thread after it slept.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

static void *sender(void *arg) {
	(void)arg;
	for (int i = 0; i < 2; i++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, 0);
		kill(getpid(), i == 0 ? SIGUSR1 : SIGUSR2);
	}
	return 0;
}

int main(void) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, 0);
	int fd = signalfd(-1, &set, 0);
	pthread_t th;
	pthread_create(&th, 0, sender, 0);
	struct signalfd_siginfo si;
	read(fd, &si, sizeof si);
	int first = si.ssi_signo;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, -1);
	read(fd, &si, sizeof si);
	pthread_join(th, 0);
	printf("read %s, poll %d, read %s\n", first == SIGUSR1 ? "SIGUSR1" : "?", n, si.ssi_signo == SIGUSR2 ? "SIGUSR2" : "?");
	return 0;
}
