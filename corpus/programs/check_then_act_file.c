// check_then_act_file: two threads each create a lock file if it does not
// exist yet: `if (access(path, F_OK) != 0) open(path, O_CREAT|O_EXCL)`.
//
// Bug: check-then-act (TOCTOU): the access() check and the creating open
// are not atomic; whoever finds the file missing assumes it may create it.
// Window: between the access(2) syscall and the open(2) syscall. Each
// thread first does its job (CPU only); the second job is big (~5 ms),
// so natively the first thread has created the file long before the
// second checks. A scheduler that switches at the open lets both threads
// see "missing".
// Failure: the loser's O_EXCL open fails with EEXIST: "check-then-act:
// <path> created by another thread after our check" on stderr, exit 1.
// The file lives in a fresh mkdtemp directory under /tmp, removed at exit.
// Correct output (stdout): "created=1\n".
#define _DEFAULT_SOURCE // POSIX and BSD interfaces under -std=c11
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/schedfuzz-cta-XXXXXX";
static char path[sizeof dir + 16];
static int created, failed;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

// CPU-only work, ~5 ms natively and free for a syscall-level scheduler.
static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static void *worker(void *arg) {
  *(unsigned *)arg = work(*(unsigned *)arg); // the job
  if (access(path, F_OK) != 0) { // the check
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600); // the act
    pthread_mutex_lock(&mu);
    if (fd >= 0) {
      created++;
      close(fd);
    } else {
      fprintf(stderr, "check-then-act: %s created by another thread after our check (%s)\n",
              path, errno == EEXIST ? "EEXIST" : "other error");
      failed = 1;
    }
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

int main(void) {
  if (mkdtemp(dir) == NULL) { perror("mkdtemp"); return 2; }
  snprintf(path, sizeof path, "%s/lock", dir);
  pthread_t a, b;
  unsigned ja = 1000, jb = 5000000;
  pthread_create(&a, NULL, worker, &ja);
  pthread_create(&b, NULL, worker, &jb);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  unlink(path);
  rmdir(dir);
  if (failed) return 1;
  printf("created=%d\n", created);
  return created == 1 ? 0 : 1;
}
