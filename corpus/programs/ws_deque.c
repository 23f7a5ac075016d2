// ws_deque: a work-stealing deque (Chase and Lev, SPAA 2005) with one
// owner, which pushes and pops at the bottom, and one thief, which steals
// at the top. The owner pushes two items and pops until empty; the thief
// steals once.
//
//	pop:   b = bottom - 1; bottom = b; t = top;
//	       if (t <= b) { item = buf[b]; if (t == b) { top = t + 1; bottom = t + 1; } }
//	steal: t = top; b = bottom; if (t < b) { item = buf[t]; CAS(&top, t, t + 1); }
//
// Bug: when the owner takes the last item (t == b) it must win a CAS on
// top against a concurrent thief; this pop overwrites top with a plain
// store instead, so a thief whose CAS succeeded between the owner's load
// of top and that store has taken the item too.
// Window: between the owner's load of top and its store of top, the
// thief's whole steal: no syscall, no call. Only points at the memory
// accesses (-points memory) reach it. The thief first does a job (CPU
// only, ~2 ms natively), so natively the owner has emptied the deque
// before it steals.
// Failure: "item 1 taken twice" on stderr, exit 1.
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

static void push(int item) {
  long b = atomic_load(&bottom);
  buf[b % SIZE] = item;
  atomic_store(&bottom, b + 1);
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

static int steal(void) {
  long t = atomic_load(&top);
  long b = atomic_load(&bottom);
  if (t >= b) return 0;
  int item = buf[t % SIZE];
  if (!atomic_compare_exchange_strong(&top, &t, t + 1)) return 0;
  return item;
}

static void *owner(void *arg) {
  (void)arg;
  for (int i = 1; i <= ITEMS; i++) push(i);
  for (int item; (item = pop()) != 0;) taken[item]++;
  return NULL;
}

static void *thief(void *arg) {
  unsigned *job = arg;
  *job = work(*job);
  int item = steal();
  if (item != 0) taken[item]++;
  return NULL;
}

int main(void) {
  pthread_t o, t;
  unsigned job = 2000000;
  pthread_create(&o, NULL, owner, NULL);
  pthread_create(&t, NULL, thief, &job);
  pthread_join(o, NULL);
  pthread_join(t, NULL);
  for (int i = 1; i <= ITEMS; i++) {
    if (taken[i] != 1) {
      fprintf(stderr, "item %d taken %s\n", i, taken[i] == 0 ? "never" : "twice");
      return 1;
    }
  }
  printf("%d items taken once each\n", ITEMS);
  return 0;
}
