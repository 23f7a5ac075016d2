// SIGSTOP and SIGCONT sent by a parent to a child whose two threads wait
// with timeouts (nanosleep, pthread_cond_timedwait): the waits are
// interrupted by the stop and resumed after it with their own deadlines
// (the kernel's restart_block), so neither ends early nor late.
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long since(struct timespec *t0) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int timedout;

static void *timed(void *arg) {
	(void)arg;
	struct timespec t0, until;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 150000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&mu);
	int r = 0;
	while (r == 0)
		r = pthread_cond_timedwait(&cv, &mu, &until);
	pthread_mutex_unlock(&mu);
	timedout = since(&t0) >= 150;
	return 0;
}

int main(void) {
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t th;
		pthread_create(&th, 0, timed, 0);
		struct timespec t0, req = {0, 100000000};
		clock_gettime(CLOCK_MONOTONIC, &t0);
		nanosleep(&req, 0);
		long slept = since(&t0);
		pthread_join(th, 0);
		printf("slept >= 100 ms: %s, timed out >= 150 ms: %s\n", slept >= 100 ? "yes" : "no", timedout ? "yes" : "no");
		fflush(stdout);
		_exit(5);
	}
	struct timespec ts = {0, 20000000};
	nanosleep(&ts, 0);
	kill(pid, SIGSTOP);
	int st;
	waitpid(pid, &st, WUNTRACED);
	if (WIFSTOPPED(st)) {
		nanosleep(&ts, 0);
		kill(pid, SIGCONT);
		waitpid(pid, &st, 0);
	}
	printf("child exited %d\n", WEXITSTATUS(st));
	return 0;
}
