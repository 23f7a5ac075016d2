// Masks and the choice of thread. ppoll, pselect and epoll_pwait install
// a temporary mask that lets a pending SIGCHLD in: they fail with EINTR
// after its handler. A process-directed signal goes to the main thread,
// blocked in pthread_join, when the other thread blocks it. A thread that
// waits in sigwait takes a signal every thread blocks.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t chld, usr2_main;
static sem_t handled;

static void on_chld(int sig) { (void)sig; chld++; }

static void on_usr2(int sig) {
	(void)sig;
	usr2_main = gettid() == getpid();
	sem_post(&handled);
}

static const char *res(int r) { return r == -1 && errno == EINTR ? "EINTR" : "?"; }

static void child_exits(void) {
	if (fork() == 0)
		_exit(0);
}

static void *worker(void *arg) {
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, 0);
	sem_wait(&handled); // until main has run the handler
	return 0;
}

static void *sender(void *arg) {
	(void)arg;
	struct timespec ts = {0, 5000000};
	nanosleep(&ts, 0);
	kill(getpid(), SIGUSR1);
	return 0;
}

static void *waiter(void *arg) {
	sigset_t *set = arg;
	int sig = 0;
	sigwait(set, &sig);
	return (void *)(long)sig;
}

int main(void) {
	struct sigaction sa = {0};
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, 0);
	sigset_t chldset, none;
	sigemptyset(&chldset);
	sigaddset(&chldset, SIGCHLD);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &chldset, 0);

	child_exits();
	int r = ppoll(0, 0, 0, &none);
	printf("ppoll: %s, handler %d\n", res(r), chld);
	wait(0);
	child_exits();
	r = pselect(0, 0, 0, 0, 0, &none);
	printf("pselect: %s, handler %d\n", res(r), chld);
	wait(0);
	child_exits();
	int ep = epoll_create1(0);
	struct epoll_event ev;
	r = epoll_pwait(ep, &ev, 1, -1, &none);
	printf("epoll_pwait: %s, handler %d\n", res(r), chld);
	wait(0);

	sem_init(&handled, 0, 0);
	signal(SIGUSR2, on_usr2);
	pthread_t w;
	pthread_create(&w, 0, worker, 0);
	pid_t parent = getpid();
	if (fork() == 0) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, 0);
		kill(parent, SIGUSR2);
		_exit(0);
	}
	pthread_join(w, 0);
	printf("SIGUSR2 handled by the main thread: %s\n", usr2_main ? "yes" : "no");
	wait(0);

	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, 0); // inherited by both threads
	pthread_t s, q;
	pthread_create(&q, 0, waiter, &usr1);
	pthread_create(&s, 0, sender, 0);
	void *got;
	pthread_join(q, &got);
	pthread_join(s, 0);
	printf("sigwait: %s\n", (long)got == SIGUSR1 ? "SIGUSR1" : "?");
	return 0;
}
