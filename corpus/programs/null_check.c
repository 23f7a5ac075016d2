// null_check: a reader uses a shared configuration if one is installed;
// a retiring thread uninstalls it:
//
//	reader: if (current != NULL) total += current->limit;
//	retire: current = NULL;
//
// Bug: check-then-dereference: the reader loads the shared pointer twice,
// once to check it and once to use it; if it is cleared in between, the
// reader dereferences NULL.
// Window: between the reader's two loads of current: no syscall, no call.
// Only a point before the second load (-points memory) reaches it. The
// retiring thread first does a job (CPU only, ~2 ms natively), so
// natively the reader is done before the pointer is cleared.
// Failure: the reader dies of SIGSEGV (the process: "signal SIGSEGV").
// Correct output (stdout): "reader done\n" (total depends on when the
// configuration was retired: 0, 3, 6 or 9).
#include <pthread.h>
#include <stdio.h>

struct config {
  int limit;
};

static struct config cfg = {3};
static struct config *volatile current = &cfg;
static int total;

static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static void *reader(void *arg) {
  (void)arg;
  for (int i = 0; i < 3; i++) {
    if (current != NULL)
      total += current->limit; // BUG: current loaded again
  }
  return NULL;
}

static void *retire(void *arg) {
  unsigned *job = arg;
  *job = work(*job);
  current = NULL;
  return NULL;
}

int main(void) {
  pthread_t r, w;
  unsigned job = 2000000;
  pthread_create(&r, NULL, reader, NULL);
  pthread_create(&w, NULL, retire, &job);
  pthread_join(r, NULL);
  pthread_join(w, NULL);
  printf("reader done\n");
  return 0;
}
