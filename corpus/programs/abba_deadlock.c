// abba_deadlock: two threads take mutexes A and B in opposite orders.
//
// Bug: lock-order inversion (A then B in one thread, B then A in the
// other).
// Window: each thread logs with write(2) (to /dev/null) between its first
// and its second pthread_mutex_lock. b_to_a first computes its transfer
// (CPU only, ~5 ms natively), so natively a_to_b has taken and released
// both locks before b_to_a takes its first; a scheduler that switches at
// the write lets each thread hold one lock and wait for the other.
// Failure: deadlock: both threads block forever in futex waits (natively:
// a hang). Correct output (stdout): "transfers=2\n".
#define _DEFAULT_SOURCE // POSIX and BSD interfaces under -std=c11
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static int logfd, transfers;

// CPU-only work, ~5 ms natively and free for a syscall-level scheduler.
static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static void logmsg(const char *s) { (void)!write(logfd, s, strlen(s)); }

static void *a_to_b(void *arg) {
  (void)arg;
  pthread_mutex_lock(&A);
  logmsg("a_to_b: holding A, taking B\n");
  pthread_mutex_lock(&B);
  transfers++;
  pthread_mutex_unlock(&B);
  pthread_mutex_unlock(&A);
  return NULL;
}

static void *b_to_a(void *arg) {
  *(unsigned *)arg = work(5000000); // compute the transfer
  pthread_mutex_lock(&B);
  logmsg("b_to_a: holding B, taking A\n");
  pthread_mutex_lock(&A);
  transfers++;
  pthread_mutex_unlock(&A);
  pthread_mutex_unlock(&B);
  return NULL;
}

int main(void) {
  logfd = open("/dev/null", O_WRONLY);
  if (logfd < 0) { perror("open /dev/null"); return 2; }
  pthread_t t1, t2;
  pthread_create(&t1, NULL, a_to_b, NULL);
  unsigned amount;
  pthread_create(&t2, NULL, b_to_a, &amount);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("transfers=%d\n", transfers);
  return 0;
}
