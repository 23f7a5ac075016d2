// How signals end blocking calls (signal(7), "Interruption of system calls
// and library functions by signal handlers"). A periodic ITIMER_REAL
// delivers SIGALRM while the calls block (periodic, so that a tick that
// comes before a call is entered does not matter); each line prints what
// the kernel guarantees, not timing.
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;

static void on_alarm(int sig) { (void)sig; ticks++; }

static void handle(int sig, int flags) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	sigaction(sig, &sa, 0);
}

static void tick(long usec) {
	struct itimerval it = {{0, usec}, {0, usec}};
	setitimer(ITIMER_REAL, &it, 0);
}

static void stop(void) {
	struct itimerval it = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, 0);
}

static const char *res(long r, int e) {
	static char buf[64];
	if (r < 0)
		snprintf(buf, sizeof buf, "-1 %s", e == EINTR ? "EINTR" : strerror(e));
	else
		snprintf(buf, sizeof buf, "%ld", r);
	return buf;
}

// writer writes one byte to the pipe once the handler ran 3 times.
static int wfd;

static void *writer(void *arg) {
	(void)arg;
	while (ticks < 3) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, 0);
	}
	write(wfd, "x", 1);
	return 0;
}

static sem_t sem;

static void *poster(void *arg) {
	(void)arg;
	struct timespec ts = {0, 50000000};
	nanosleep(&ts, 0);
	sem_post(&sem);
	return 0;
}

int main(void) {
	signal(SIGCHLD, SIG_DFL);
	int p[2];
	char c;

	// read on a pipe: EINTR without SA_RESTART, restarted with it.
	pipe(p);
	handle(SIGALRM, 0);
	tick(10000);
	long r = read(p[0], &c, 1);
	int e = errno;
	stop();
	printf("read, no SA_RESTART: %s\n", res(r, e));
	handle(SIGALRM, SA_RESTART);
	ticks = 0;
	wfd = p[1];
	pthread_t w;
	pthread_create(&w, 0, writer, 0);
	tick(10000);
	r = read(p[0], &c, 1);
	e = errno;
	stop();
	pthread_join(w, 0);
	printf("read, SA_RESTART: %s, handler ran: %s\n", res(r, e), ticks >= 3 ? "yes" : "no");

	// nanosleep: EINTR whatever SA_RESTART says, with the time left.
	tick(10000);
	struct timespec req = {1, 0}, rem = {0, 0};
	r = nanosleep(&req, &rem);
	e = errno;
	stop();
	long left = rem.tv_sec * 1000000000L + rem.tv_nsec;
	printf("nanosleep, SA_RESTART: %s, 0 < rem < 1s: %s\n", res(r, e), left > 0 && left < 1000000000L ? "yes" : "no");

	// sem_wait (a futex wait): restarted with SA_RESTART, EINTR without.
	sem_init(&sem, 0, 0);
	pthread_t th;
	pthread_create(&th, 0, poster, 0);
	tick(10000);
	r = sem_wait(&sem);
	e = errno;
	stop();
	pthread_join(th, 0);
	printf("sem_wait, SA_RESTART: %s\n", res(r, e));
	handle(SIGALRM, 0);
	tick(10000);
	r = sem_wait(&sem);
	e = errno;
	stop();
	printf("sem_wait, no SA_RESTART: %s\n", res(r, e));

	// poll and epoll_wait: never restarted.
	handle(SIGALRM, SA_RESTART);
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	tick(10000);
	r = poll(&pfd, 1, -1);
	e = errno;
	stop();
	printf("poll, SA_RESTART: %s\n", res(r, e));
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	tick(10000);
	r = epoll_wait(ep, &out, 1, 5000);
	e = errno;
	stop();
	printf("epoll_wait, SA_RESTART: %s\n", res(r, e));

	// sigtimedwait: a handled signal outside its set interrupts it.
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, 0);
	struct timespec ten = {10, 0};
	tick(10000);
	r = sigtimedwait(&set, 0, &ten);
	e = errno;
	stop();
	printf("sigtimedwait, SA_RESTART: %s\n", res(r, e));

	// An ignored signal interrupts nothing; neither does SIGCHLD by default.
	signal(SIGALRM, SIG_IGN);
	tick(10000);
	struct timespec fifty = {0, 50000000};
	r = nanosleep(&fifty, 0);
	e = errno;
	stop();
	printf("nanosleep, SIGALRM ignored: %s\n", res(r, e));
	if (fork() == 0)
		_exit(0);
	r = nanosleep(&fifty, 0);
	e = errno;
	printf("nanosleep, SIGCHLD by default: %s\n", res(r, e));
	wait(0);

	// A blocked signal waits; unblocking it runs the handler at once.
	handle(SIGALRM, 0);
	ticks = 0;
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, 0);
	tick(10000);
	r = nanosleep(&fifty, 0);
	e = errno;
	stop();
	int before = ticks;
	sigprocmask(SIG_UNBLOCK, &alrm, 0);
	printf("nanosleep, SIGALRM blocked: %s, handler ran %d then %s\n", res(r, e), before, ticks == 1 ? "once" : "not once");
	return 0;
}
