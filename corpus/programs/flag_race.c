// flag_race: two threads race to claim a job through a plain global flag,
// with no lock and no atomic:
//
//	if (!claimed) { claimed = 1; owner = me; claims++; }
//
// Bug: check-then-act on a plain variable: both threads can read
// claimed == 0 before either stores 1, and both claim the job.
// Window: between the load and the store of `claimed`: a few instructions,
// no syscall, no function call. Only a data point reaches it: a hardware
// watchpoint on `claimed` (-watch claimed) makes each access a scheduling
// point. Thread b first does a job (CPU only, ~2 ms natively), so
// natively a has claimed long before b looks.
// Failure: "job claimed 2 times" on stderr, exit 1.
// Correct output (stdout): "job claimed once\n".
#include <pthread.h>
#include <stdio.h>

int claimed; // the watched variable: not static, so it keeps its symbol
static int claims, owner;

static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static void *claim(void *arg) {
  unsigned *job = arg;
  int me = (int)*job;
  *job = work(*job);
  if (!*(volatile int *)&claimed) {
    *(volatile int *)&claimed = 1;
    owner = me;
    claims++;
  }
  return NULL;
}

int main(void) {
  pthread_t a, b;
  unsigned ja = 1000, jb = 2000000;
  pthread_create(&a, NULL, claim, &ja);
  pthread_create(&b, NULL, claim, &jb);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  if (claims != 1) {
    fprintf(stderr, "job claimed %d times\n", claims);
    return 1;
  }
  printf("job claimed once\n");
  return 0;
}
