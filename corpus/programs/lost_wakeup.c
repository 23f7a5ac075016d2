// lost_wakeup: main waits for a producer with a condition variable, but
// checks the predicate OUTSIDE the mutex.
//
// Bug: `if (!ready) { lock; cond_wait; }` — the check and the wait are
// not atomic, so the producer's signal can come between them and be lost
// (pthread_cond_signal with no waiter does nothing).
// Window: main logs with write(2) (to /dev/null) between its check of
// `ready` and pthread_cond_wait. Natively the producer is still computing
// the item (CPU only, ~5 ms) while main is already waiting; a scheduler
// that switches at the write can run the producer to completion first.
// Failure: deadlock: main waits forever on the condition variable's futex
// (natively: a hang). Correct output (stdout): "item=42\n".
#define _DEFAULT_SOURCE // POSIX and BSD interfaces under -std=c11
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, item, logfd;

// CPU-only work, ~5 ms natively and free for a syscall-level scheduler.
static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static void logmsg(const char *s) { (void)!write(logfd, s, strlen(s)); }

static void *producer(void *arg) {
  (void)arg;
  logmsg("producer: started\n");
  int v = 42 + (work(5000000) == 0); // compute the item
  pthread_mutex_lock(&mu);
  item = v;
  ready = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  return NULL;
}

int main(void) {
  logfd = open("/dev/null", O_WRONLY);
  if (logfd < 0) { perror("open /dev/null"); return 2; }
  pthread_t t;
  pthread_create(&t, NULL, producer, NULL);
  if (!ready) { // BUG: checked without holding mu, and not re-checked
    logmsg("main: not ready, waiting\n");
    pthread_mutex_lock(&mu);
    pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
  }
  pthread_join(t, NULL);
  printf("item=%d\n", item);
  return 0;
}
