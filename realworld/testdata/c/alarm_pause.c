// alarm_pause: kernel-generated timer signals wake waiting threads.
//
//  1. alarm(1) + pause(): SIGALRM wakes pause with EINTR.
//  2. a periodic setitimer(ITIMER_REAL) + sigsuspend with SIGALRM blocked
//     outside it: three ticks, each delivered inside sigsuspend.
//  3. timer_create(SIGEV_SIGNAL) + sigwaitinfo: si_code SI_TIMER.
//  4. sigtimedwait with nothing pending times out with EAGAIN.
//  5. nanosleep(10 s) interrupted by a 50 ms itimer's handler: EINTR with
//     the remaining time (about 9.95 s; at least 5 s on a loaded machine).
//  6. SA_RESTART: a pipe read interrupted by a handler restarts and returns
//     what a thread writes 100 ms later.
//  7. timer_create(SIGEV_THREAD_ID) aimed at a thread waiting in sigwait.
//
// Deterministic output: one line per step; exit 0.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t alrm;
static void on_alrm(int sig) { (void)sig; alrm++; }

static void handle(int sig, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alrm;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction");
}

static void itimer(long first_us, long every_us)
{
	struct itimerval it = {{0, every_us}, {0, first_us}};
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
}

static int pipefd[2];

static void *late_writer(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	CHECK(write(pipefd[1], "late", 4) == 4, "write");
	return NULL;
}

static pthread_barrier_t ready;
static pid_t waiter_tid;

static void *sigwaiter(void *arg)
{
	sigset_t *set = arg;
	waiter_tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&ready);
	siginfo_t si;
	CHECK(sigwaitinfo(set, &si) == SIGRTMIN + 1 && si.si_code == SI_TIMER, "SIGEV_THREAD_ID sigwaitinfo");
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	handle(SIGALRM, 0);

	alarm(1);
	int r = pause();
	CHECK(r == -1 && errno == EINTR && alrm == 1, "alarm+pause");
	printf("alarm+pause: woken by SIGALRM\n");

	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGRTMIN);
	sigaddset(&block, SIGRTMIN + 1);
	CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0, "sigprocmask");
	alrm = 0;
	itimer(20000, 20000);
	while (alrm < 3)
		sigsuspend(&old);
	itimer(0, 0);
	printf("setitimer+sigsuspend: 3 ticks\n");

	timer_t tm;
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN;
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &tm) == 0, "timer_create");
	struct itimerspec ts = {{0, 0}, {0, 50 * 1000 * 1000}};
	CHECK(timer_settime(tm, 0, &ts, NULL) == 0, "timer_settime");
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	siginfo_t si;
	r = sigwaitinfo(&rt, &si);
	CHECK(r == SIGRTMIN && si.si_code == SI_TIMER, "timer_create+sigwaitinfo");
	CHECK(timer_delete(tm) == 0, "timer_delete");
	printf("timer_create+sigwaitinfo: SI_TIMER\n");

	struct timespec to = {0, 30 * 1000 * 1000};
	long long t0 = now_ms();
	r = sigtimedwait(&rt, &si, &to);
	CHECK(r == -1 && errno == EAGAIN && now_ms() - t0 >= 30, "sigtimedwait timeout");
	printf("sigtimedwait: timed out\n");

	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0, "sigprocmask");
	alrm = 0;
	itimer(50000, 0);
	struct timespec req = {10, 0}, rem = {0, 0};
	r = nanosleep(&req, &rem);
	CHECK(r == -1 && errno == EINTR && alrm == 1, "nanosleep EINTR");
	CHECK(rem.tv_sec >= 5 && rem.tv_sec <= 9, "nanosleep remaining");
	printf("nanosleep: EINTR, 5..10 s remaining\n");

	handle(SIGALRM, SA_RESTART);
	alrm = 0;
	CHECK(pipe(pipefd) == 0, "pipe");
	pthread_t th;
	CHECK(pthread_create(&th, NULL, late_writer, NULL) == 0, "pthread_create");
	itimer(20000, 0);
	char buf[8];
	ssize_t n = read(pipefd[0], buf, sizeof buf);
	CHECK(n == 4 && memcmp(buf, "late", 4) == 0 && alrm == 1, "SA_RESTART read");
	pthread_join(th, NULL);
	printf("SA_RESTART: read restarted, got \"late\"\n");

	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, SIGRTMIN + 1);
	CHECK(pthread_sigmask(SIG_BLOCK, &one, NULL) == 0, "pthread_sigmask");
	pthread_barrier_init(&ready, NULL, 2);
	CHECK(pthread_create(&th, NULL, sigwaiter, &one) == 0, "pthread_create");
	pthread_barrier_wait(&ready);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN + 1;
	sev._sigev_un._tid = waiter_tid;
	CHECK(timer_create(CLOCK_MONOTONIC, &sev, &tm) == 0, "timer_create THREAD_ID");
	ts.it_value.tv_nsec = 40 * 1000 * 1000;
	CHECK(timer_settime(tm, 0, &ts, NULL) == 0, "timer_settime");
	pthread_join(th, NULL);
	printf("SIGEV_THREAD_ID: delivered to the waiting thread\n");
	return 0;
}
