// wrong_lock: two threads add 1 to a shared counter three times each,
// each under a mutex, but not the same mutex:
//
//	thread a: lock(&lock_a); v = hits; hits = v + 1; unlock(&lock_a);
//	thread b: lock(&lock_b); v = hits; hits = v + 1; unlock(&lock_b);
//
// Bug: the read-modify-write is protected by two different locks, which
// exclude nothing: an increment can be lost.
// Window: between the load and the store of hits inside the critical
// section: no syscall (each mutex is uncontended) and no call; the sync
// points at lock and unlock are outside it. Only a point before the store
// (-points memory) reaches it. Thread b first does a job (CPU only, ~2 ms
// natively), so natively a is done before b starts.
// Failure: "lost update: hits=K, want 6" on stderr, exit 1.
// Correct output (stdout): "hits=6\n".
#include <pthread.h>
#include <stdio.h>

enum { N = 3 };
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static volatile long hits;

static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

struct job {
  pthread_mutex_t *lock;
  unsigned work;
};

static void *worker(void *arg) {
  struct job *j = arg;
  j->work = work(j->work);
  for (int i = 0; i < N; i++) {
    pthread_mutex_lock(j->lock);
    long v = hits;
    hits = v + 1;
    pthread_mutex_unlock(j->lock);
  }
  return NULL;
}

int main(void) {
  pthread_t a, b;
  struct job ja = {&lock_a, 1000}, jb = {&lock_b, 2000000};
  pthread_create(&a, NULL, worker, &ja);
  pthread_create(&b, NULL, worker, &jb);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  if (hits != 2 * N) {
    fprintf(stderr, "lost update: hits=%ld, want %d\n", hits, 2 * N);
    return 1;
  }
  printf("hits=%ld\n", hits);
  return 0;
}
