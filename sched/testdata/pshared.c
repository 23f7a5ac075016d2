// pshared: a parent and its forked child take turns through a
// PTHREAD_PROCESS_SHARED mutex and condition variable, and a process-shared
// POSIX semaphore, in memory both map: MAP_SHARED|MAP_ANONYMOUS inherited
// across fork, and a shm_open'ed file the child maps again at another
// address. The futexes in it must be keyed by the shared page, not per
// process, or a wake in one process misses the waiter in the other.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 20

struct shared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int turn, count;
	sem_t ping, pong;
	int sems;
};

static void init(struct shared *s) {
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&s->mu, &ma);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_cond_init(&s->cv, &ca);
	sem_init(&s->ping, 1, 0);
	sem_init(&s->pong, 1, 0);
	s->turn = s->count = s->sems = 0;
}

// play takes ROUNDS turns as player me (0 or 1) with the condvar, then
// ROUNDS with the semaphores.
static void play(struct shared *s, int me) {
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&s->mu);
		while (s->turn != me)
			pthread_cond_wait(&s->cv, &s->mu);
		s->count++;
		s->turn = 1 - me;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	for (int i = 0; i < ROUNDS; i++) {
		if (me == 0) {
			sem_post(&s->ping);
			sem_wait(&s->pong);
		} else {
			sem_wait(&s->ping);
			__atomic_add_fetch(&s->sems, 1, __ATOMIC_SEQ_CST);
			sem_post(&s->pong);
		}
	}
}

static void game(const char *what, struct shared *s, struct shared *(*child_map)(void)) {
	init(s);
	pid_t pid = fork();
	if (pid == 0) {
		play(child_map ? child_map() : s, 1);
		_exit(0);
	}
	play(s, 0);
	int st;
	waitpid(pid, &st, 0);
	printf("%s: %d turns, %d semaphore rounds, child %s\n", what, s->count, s->sems,
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "FAILED");
}

static char shm_name[64];

static struct shared *map_shm(void) {
	int fd = shm_open(shm_name, O_RDWR, 0600);
	// Another address than the parent's: a hint far from it.
	void *p = mmap((void *)0x500000000000UL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct shared *anon = mmap(NULL, sizeof *anon, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	game("MAP_SHARED|MAP_ANONYMOUS across fork", anon, NULL);

	snprintf(shm_name, sizeof shm_name, "/pshared-%d", getpid());
	int fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(struct shared)) != 0) {
		perror("shm_open");
		return 1;
	}
	struct shared *shm = mmap(NULL, sizeof *shm, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	game("shm_open, mapped again by the child", shm, map_shm);
	shm_unlink(shm_name);
	return 0;
}
