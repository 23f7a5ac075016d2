// A signal from outside the guest: main waits in sigsuspend for SIGUSR1,
// another thread reads its standard input. The test writes the pid to the
// file named by argv[1] and sends SIGUSR1, then input.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig) { got = sig; }

static void *reader(void *arg) {
	static char buf[16];
	(void)arg;
	ssize_t n = read(0, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

int main(int argc, char **argv) {
	(void)argc;
	signal(SIGUSR1, on_usr1);
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	pthread_t th;
	pthread_create(&th, 0, reader, 0);
	FILE *f = fopen(argv[1], "w");
	fprintf(f, "%d\n", getpid());
	fclose(f);
	while (!got)
		sigsuspend(&old);
	char *in;
	pthread_join(th, (void **)&in);
	printf("got SIGUSR1, read %s", in);
	return 0;
}
