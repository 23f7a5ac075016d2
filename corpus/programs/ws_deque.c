// ws_deque: a work-stealing deque (Chase and Lev, SPAA 2005): the owner
// pushes two items at the bottom and pops until empty; a thief steals
// once at the top (t = top; b = bottom; if (t < b) CAS(&top, t, t + 1)).
// Bug: when the owner pops the last item (top == bottom - 1) it must win
// a CAS on top against the thief; this pop stores top instead, so a thief
// whose CAS succeeds between the owner's load and store of top takes the
// item too.
// Window: between the owner's load of top and its store of top, the
// thief's whole steal: no syscall, no call. Only points at the memory
// accesses (-points memory) reach it. The thief first does a job (CPU
// only, ~2 ms natively), so natively the owner has emptied the deque
// before it steals.
// Failure: "item 1 taken 2 times" on stderr, exit 1.
// Correct output (stdout): "2 items taken once each\n".
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

enum { SIZE = 8, ITEMS = 2 };
static int buf[SIZE];
static _Atomic long top, bottom;
static int taken[ITEMS + 1];

static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static int pop(void) {
  long b = atomic_load(&bottom) - 1;
  atomic_store(&bottom, b);
  long t = atomic_load(&top);
  if (t > b) {
    atomic_store(&bottom, t);
    return 0; // empty
  }
  int item = buf[b % SIZE];
  if (t == b) {
    atomic_store(&top, t + 1); // BUG: a store where a CAS against the thief is needed
    atomic_store(&bottom, t + 1);
  }
  return item;
}

static void *owner(void *arg) {
  (void)arg;
  for (int i = 1; i <= ITEMS; i++) { // push
    long b = atomic_load(&bottom);
    buf[b % SIZE] = i;
    atomic_store(&bottom, b + 1);
  }
  for (int item; (item = pop()) != 0;) taken[item]++;
  return NULL;
}

static void *thief(void *arg) { // steal once
  unsigned *job = arg;
  *job = work(*job);
  long t = atomic_load(&top), b = atomic_load(&bottom);
  if (t < b) {
    int item = buf[t % SIZE];
    if (atomic_compare_exchange_strong(&top, &t, t + 1)) taken[item]++;
  }
  return NULL;
}

int main(void) {
  pthread_t o, t;
  unsigned job = 2000000;
  pthread_create(&o, NULL, owner, NULL);
  pthread_create(&t, NULL, thief, &job);
  pthread_join(o, NULL);
  pthread_join(t, NULL);
  for (int i = 1; i <= ITEMS; i++)
    if (taken[i] != 1) return fprintf(stderr, "item %d taken %d times\n", i, taken[i]), 1;
  printf("%d items taken once each\n", ITEMS);
  return 0;
}
