// kernel_waits: more waits a correct program makes that another thread or
// process (or a timer) ends:
//
//  1. a process-shared mutex and condvar in MAP_SHARED memory across fork
//     (futexes keyed by the shared page, not by process);
//  2. deferred pthread_cancel of a thread blocked in pthread_cond_wait;
//  3. a blocking read of a 3 s timerfd;
//  4. a blocking read of a signalfd, the signal sent by another thread;
//  5. a futex wait made through int $0x80 (the i386 ABI), woken by a
//     thread's FUTEX_WAKE;
//  6. a child that raises SIGSTOP while its parent waits with WUNTRACED,
//     then is continued with SIGCONT and exits.
//
// Arguments name the steps to run (pshared cancel timerfd signalfd int80
// wuntraced; default: all, in that order). Deterministic output; exit 0.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

struct shared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready;
};

static void pshared(void)
{
	struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(s != MAP_FAILED, "mmap");
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&s->mu, &ma);
	pthread_cond_init(&s->cv, &ca);
	pid_t p = fork();
	CHECK(p >= 0, "fork");
	if (p == 0) {
		usleep(10 * 1000);
		pthread_mutex_lock(&s->mu);
		s->ready = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		_exit(0);
	}
	pthread_mutex_lock(&s->mu);
	while (!s->ready)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	int st;
	CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st), "waitpid");
	printf("process-shared condvar: the child's signal woke the parent\n");
}

static void stopped_child(void)
{
	pid_t p = fork();
	CHECK(p >= 0, "fork");
	if (p == 0) {
		raise(SIGSTOP);
		_exit(5);
	}
	int st;
	CHECK(waitpid(p, &st, WUNTRACED) == p && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "WUNTRACED");
	CHECK(kill(p, SIGCONT) == 0, "SIGCONT");
	CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 5, "waitpid after SIGCONT");
	printf("WUNTRACED: child stopped, continued, exited 5\n");
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int cleaned;

static void unlock(void *arg)
{
	(void)arg;
	cleaned = 1;
	pthread_mutex_unlock(&mu);
}

static void *cond_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	pthread_cleanup_push(unlock, NULL);
	for (;;)
		pthread_cond_wait(&cv, &mu);
	pthread_cleanup_pop(1);
	return NULL;
}

static void cancel_cond_wait(void)
{
	pthread_t th;
	CHECK(pthread_create(&th, NULL, cond_waiter, NULL) == 0, "pthread_create");
	usleep(10 * 1000);
	CHECK(pthread_cancel(th) == 0, "pthread_cancel");
	void *ret;
	CHECK(pthread_join(th, &ret) == 0 && ret == PTHREAD_CANCELED && cleaned, "join a cancelled thread");
	CHECK(pthread_mutex_trylock(&mu) == 0, "the cleanup handler unlocked");
	pthread_mutex_unlock(&mu);
	printf("pthread_cancel: a thread in pthread_cond_wait was cancelled\n");
}

static void timerfd_3s(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	CHECK(fd >= 0, "timerfd_create");
	struct itimerspec its = {{0, 0}, {3, 0}};
	CHECK(timerfd_settime(fd, 0, &its, NULL) == 0, "timerfd_settime");
	long long t0 = now_ms();
	uint64_t n;
	CHECK(read(fd, &n, 8) == 8 && n == 1 && now_ms() - t0 >= 3000, "read timerfd");
	close(fd);
	printf("timerfd: 3 s expired once\n");
}

static pthread_t main_thread;

static void *send_usr1(void *arg)
{
	(void)arg;
	usleep(10 * 1000);
	CHECK(pthread_kill(main_thread, SIGUSR1) == 0, "pthread_kill");
	return NULL;
}

static void signalfd_read(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	CHECK(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0, "pthread_sigmask");
	int fd = signalfd(-1, &set, SFD_CLOEXEC);
	CHECK(fd >= 0, "signalfd");
	main_thread = pthread_self();
	pthread_t th;
	CHECK(pthread_create(&th, NULL, send_usr1, NULL) == 0, "pthread_create");
	struct signalfd_siginfo si;
	CHECK(read(fd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1, "read signalfd");
	pthread_join(th, NULL);
	close(fd);
	printf("signalfd: read SIGUSR1 sent by a thread\n");
}

// The futex word must be addressable by the 32-bit ABI: below 4 GiB.
static uint32_t *word;

static long futex_int80(uint32_t *uaddr, int op, uint32_t val)
{
	long ret;
	// i386 futex is syscall 240; arguments in ebx, ecx, edx, esi.
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(240), "b"((uint32_t)(uintptr_t)uaddr), "c"(op), "d"(val), "S"(0)
			 : "memory");
	return ret;
}

static void *futex_waker(void *arg)
{
	(void)arg;
	usleep(10 * 1000);
	__atomic_store_n(word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
	return NULL;
}

static void futex_i386(void)
{
	word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	CHECK(word != MAP_FAILED, "mmap MAP_32BIT");
	pthread_t th;
	CHECK(pthread_create(&th, NULL, futex_waker, NULL) == 0, "pthread_create");
	while (__atomic_load_n(word, __ATOMIC_SEQ_CST) == 0) {
		long r = futex_int80(word, FUTEX_WAIT, 0);
		CHECK(r == 0 || r == -EAGAIN || r == -EINTR, "int $0x80 futex wait");
	}
	pthread_join(th, NULL);
	printf("int $0x80 futex: woken by a thread\n");
}

static const struct {
	const char *name;
	void (*run)(void);
} steps[] = {
	{"pshared", pshared},     {"cancel", cancel_cond_wait}, {"timerfd", timerfd_3s},
	{"signalfd", signalfd_read}, {"int80", futex_i386},   {"wuntraced", stopped_child},
};

// With arguments, only the named steps run (for diagnosis).
int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		int want = argc == 1;
		for (int a = 1; a < argc; a++)
			want |= strcmp(argv[a], steps[i].name) == 0;
		if (want)
			steps[i].run();
	}
	return 0;
}
