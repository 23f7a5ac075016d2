// lock_sections: two threads add 1 to a shared balance three times each;
// every step holds the mutex, but the read and the write-back are in two
// critical sections:
//
//	lock; tmp = balance; unlock;   lock; balance = tmp + 1; unlock;
//
// Bug: the increment is not atomic although each access is locked.
// Window: between the first unlock and the second lock: no syscall at
// all (the mutex is uncontended, so lock and unlock stay in user space).
// A scheduler that switches only at syscalls can only order whole thread
// bodies and never sees it; with points at pthread_mutex_lock/unlock
// (-points sync) the other thread can run its increment inside the window.
// Thread b first does a job (CPU only, ~2 ms natively), so natively a is
// done before b starts.
// Failure: "lost update: balance=K, want 6" on stderr, exit 1.
// Correct output (stdout): "balance=6\n".
#include <pthread.h>
#include <stdio.h>

enum { N = 3 };
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int balance;

static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static void *worker(void *arg) {
  unsigned *job = arg;
  *job = work(*job);
  for (int i = 0; i < N; i++) {
    pthread_mutex_lock(&mu);
    int tmp = balance;
    pthread_mutex_unlock(&mu);
    pthread_mutex_lock(&mu);
    balance = tmp + 1;
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

int main(void) {
  pthread_t a, b;
  unsigned ja = 1000, jb = 2000000;
  pthread_create(&a, NULL, worker, &ja);
  pthread_create(&b, NULL, worker, &jb);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  if (balance != 2 * N) {
    fprintf(stderr, "lost update: balance=%d, want %d\n", balance, 2 * N);
    return 1;
  }
  printf("balance=%d\n", balance);
  return 0;
}
