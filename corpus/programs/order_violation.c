// order_violation: the worker uses a configuration pointer that main
// publishes "soon enough" after starting it.
//
// Bug: main starts the worker BEFORE it publishes `config`, assuming the
// new thread takes longer to get going than main takes to log one line
// and store a pointer.
// Window: between pthread_create and `config = &cfg` main makes a
// write(2) to its log (/dev/null). Natively the worker first spends
// ~5 ms of CPU preparing its buffers, so main has long published the
// pointer; a scheduler that switches at main's write (or at the worker's
// own log write) runs the worker to its read first, and it sees NULL.
// Failure: "order violation: config used before it was set" on stderr,
// exit 1.
// Correct output (stdout): "worker: name=alpha workers=4\n".
#define _DEFAULT_SOURCE // POSIX and BSD interfaces under -std=c11
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct config { const char *name; int workers; };
static struct config cfg = {"alpha", 4};
static struct config *config; // set by main "soon enough"
static int logfd;

// CPU-only work, ~5 ms natively and free for a syscall-level scheduler.
static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static void logmsg(const char *s) { (void)!write(logfd, s, strlen(s)); }

static void *worker(void *arg) {
  (void)arg;
  unsigned buffers = work(5000000); // prepare buffers
  logmsg("worker: starting\n");
  struct config *c = config;
  if (c == NULL) {
    fprintf(stderr, "order violation: config used before it was set\n");
    exit(1);
  }
  printf("worker: name=%s workers=%d%s\n", c->name, c->workers, buffers ? "" : "!");
  return NULL;
}

int main(void) {
  logfd = open("/dev/null", O_WRONLY);
  if (logfd < 0) { perror("open /dev/null"); return 2; }
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0) { perror("pthread_create"); return 2; }
  logmsg("main: worker started, publishing config\n");
  config = &cfg;
  pthread_join(t, NULL);
  return 0;
}
