// timer_create with SIGEV_THREAD_ID (a thread waits for its signal with
// sigwaitinfo), SIGEV_SIGNAL with a handler, and SIGEV_THREAD (glibc runs
// the callback in its helper thread); timer_gettime, timer_getoverrun and
// timer_delete.
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static sem_t ready, fired;
static volatile sig_atomic_t handled;
static int waited[3], codes[3];

static void *waiter(void *arg) {
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	pthread_sigmask(SIG_BLOCK, &set, 0);
	timer_t t;
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN + 1;
	sev.sigev_value.sival_int = 42;
	sev._sigev_un._tid = syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0) {
		perror("timer_create");
		return 0;
	}
	struct itimerspec its = {{0, 5000000}, {0, 5000000}};
	timer_settime(t, 0, &its, 0);
	sem_post(&ready);
	for (int i = 0; i < 3; i++) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		waited[i] = sig == SIGRTMIN + 1 ? si.si_value.sival_int : -1;
		codes[i] = si.si_code;
	}
	timer_delete(t);
	return 0;
}

static void on_sig(int sig) { (void)sig; handled++; }

static void callback(union sigval v) { (void)v; sem_post(&fired); }

int main(void) {
	sem_init(&ready, 0, 0);
	sem_init(&fired, 0, 0);
	pthread_t th;
	pthread_create(&th, 0, waiter, 0);
	sem_wait(&ready);

	signal(SIGUSR1, on_sig);
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	timer_t t1;
	timer_create(CLOCK_REALTIME, &sev, &t1);
	struct itimerspec one = {{0, 0}, {2, 0}}, cur;
	timer_settime(t1, 0, &one, 0);
	timer_gettime(t1, &cur);
	long left = cur.it_value.tv_sec;
	while (!handled)
		pause();
	timer_gettime(t1, &cur);
	int over = timer_getoverrun(t1);
	timer_delete(t1);

	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = callback;
	timer_t t2;
	timer_create(CLOCK_MONOTONIC, &sev, &t2);
	struct itimerspec soon = {{0, 0}, {0, 20000000}};
	timer_settime(t2, 0, &soon, 0);
	sem_wait(&fired);
	timer_delete(t2);

	pthread_join(th, 0);
	printf("thread got %d %d %d (SI_TIMER %d), handler %d, left %lds then %ld, overrun %d, callback ran\n",
	       waited[0], waited[1], waited[2], codes[0] == SI_TIMER, handled, left, (long)cur.it_value.tv_sec, over);
	return 0;
}
