// atomicity_violation: two threads increment a shared counter N times each
// with an unlocked read-modify-write that logs in the middle:
//
//	tmp = counter; write(logfd, ...); counter = tmp + 1;
//
// Bug: the read and the write-back are not atomic (no lock).
// Window: the write(2) to the log (/dev/null) between the load and the
// store. Each thread first processes a job (CPU only); b's job is big
// (~5 ms natively), so natively a has done its increments before b
// starts its own. A scheduler that switches at the write lets the other
// thread read the same value, and one increment is lost.
// Failure: "lost update: counter=K, want 8" on stderr, exit 1.
// Correct output (stdout): "counter=8\n".
#define _DEFAULT_SOURCE // POSIX and BSD interfaces under -std=c11
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

enum { N = 4 };
static int counter;
static int logfd;

// CPU-only work, ~5 ms natively and free for a syscall-level scheduler.
static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

struct job { const char *name; unsigned size; unsigned result; };

static void *worker(void *arg) {
  struct job *j = arg;
  char line[64];
  j->result = work(j->size);
  for (int i = 0; i < N; i++) {
    int tmp = counter;
    int n = snprintf(line, sizeof line, "thread %s read %d\n", j->name, tmp);
    (void)!write(logfd, line, n);
    counter = tmp + 1;
  }
  return NULL;
}

int main(void) {
  logfd = open("/dev/null", O_WRONLY);
  if (logfd < 0) { perror("open /dev/null"); return 2; }
  pthread_t a, b;
  struct job ja = {"a", 1000, 0}, jb = {"b", 5000000, 0};
  pthread_create(&a, NULL, worker, &ja);
  pthread_create(&b, NULL, worker, &jb);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  if (counter != 2 * N) {
    fprintf(stderr, "lost update: counter=%d, want %d\n", counter, 2 * N);
    return 1;
  }
  printf("counter=%d\n", counter);
  return 0;
}
