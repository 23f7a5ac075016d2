// csync calls every C function of the sync point catalog (sched/points)
// once, from two threads where it matters, and exits 0. Built static and
// dynamic by the catalog tests, which check that every catalog name is
// found in the binary (static) or in libc (dynamic).
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <threads.h>
#include <time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t sp;
static pthread_barrier_t bar;
static sem_t se;
static mtx_t mx;
static cnd_t cx;
static int ready, counter;

static void *worker(void *arg) {
	pthread_mutex_lock(&m);
	ready = 1;
	pthread_cond_signal(&c);
	pthread_mutex_unlock(&m);
	pthread_barrier_wait(&bar);
	sem_post(&se);
	return arg;
}

static int cworker(void *arg) {
	mtx_lock(&mx);
	counter++;
	cnd_signal(&cx);
	mtx_unlock(&mx);
	return arg != 0;
}

int main(void) {
	struct timespec ts;
	pthread_t t;
	thrd_t ct;
	int res;

	pthread_spin_init(&sp, 0);
	pthread_barrier_init(&bar, 0, 2);
	sem_init(&se, 0, 0);
	mtx_init(&mx, mtx_timed);
	cnd_init(&cx);

	pthread_create(&t, 0, worker, 0);
	pthread_mutex_lock(&m);
	while (!ready)
		pthread_cond_wait(&c, &m);
	pthread_mutex_unlock(&m);
	pthread_barrier_wait(&bar);
	sem_wait(&se);
	pthread_join(t, 0); // LINE(join)

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	if (pthread_mutex_trylock(&m) == 0)
		pthread_mutex_unlock(&m);
	pthread_mutex_timedlock(&m, &ts);
	pthread_cond_timedwait(&c, &m, &(struct timespec){0, 0});
	pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &(struct timespec){0, 0});
	pthread_cond_broadcast(&c);
	pthread_mutex_unlock(&m);

	pthread_rwlock_rdlock(&rw);
	pthread_rwlock_unlock(&rw);
	pthread_rwlock_wrlock(&rw);
	pthread_rwlock_unlock(&rw);
	if (pthread_rwlock_tryrdlock(&rw) == 0)
		pthread_rwlock_unlock(&rw);
	if (pthread_rwlock_trywrlock(&rw) == 0)
		pthread_rwlock_unlock(&rw);
	pthread_rwlock_timedrdlock(&rw, &ts);
	pthread_rwlock_unlock(&rw);
	pthread_rwlock_timedwrlock(&rw, &ts);
	pthread_rwlock_unlock(&rw);
	pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &(struct timespec){0, 0});
	pthread_rwlock_unlock(&rw);
	pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &(struct timespec){0, 0});
	pthread_rwlock_unlock(&rw);
	pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &(struct timespec){0, 0});
	pthread_mutex_unlock(&m);

	pthread_spin_lock(&sp);
	pthread_spin_unlock(&sp);
	if (pthread_spin_trylock(&sp) == 0)
		pthread_spin_unlock(&sp);

	sem_post(&se);
	sem_trywait(&se);
	sem_post(&se);
	sem_timedwait(&se, &ts);
	sem_post(&se);
	sem_clockwait(&se, CLOCK_MONOTONIC, &ts);

	thrd_create(&ct, cworker, 0);
	mtx_lock(&mx);
	while (counter == 0)
		cnd_wait(&cx, &mx);
	mtx_unlock(&mx);
	thrd_join(ct, &res);
	if (mtx_trylock(&mx) == thrd_success)
		mtx_unlock(&mx);
	mtx_timedlock(&mx, &ts);
	cnd_timedwait(&cx, &mx, &(struct timespec){0, 0});
	cnd_broadcast(&cx);
	mtx_unlock(&mx);

	printf("ok %d\n", counter);
	return 0;
}
