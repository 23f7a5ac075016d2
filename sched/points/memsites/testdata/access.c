// access.c: one function per kind of memory access memsites classifies;
// memsites_test.go checks each (and every instruction against objdump).
// A line's "SITE(name)" comment marks the line a site must be named by.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

int counter;                              // a global: sites
long table[64];                           // a global array: sites
_Atomic int flag;                         // atomics: sites
_Thread_local int tls;                    // thread-local: never a site
static const int consts[4] = {1, 2, 3, 4}; // read-only: never a site

struct node {
  struct node *next;
  int v;
  char buf[32];
};

struct node nodes[2];

__attribute__((noinline)) int deref(struct node *n) {
  return n->next->v; // SITE(deref)
}
__attribute__((noinline)) void store(struct node *n, int v) {
  n->v = v; // SITE(store)
}
__attribute__((noinline)) int bump(void) {
  return ++counter; // SITE(bump)
}
__attribute__((noinline)) long idx(int i) {
  return table[i & 63]; // SITE(idx)
}
__attribute__((noinline)) int cas(int old, int new) {
  return atomic_compare_exchange_strong(&flag, &old, new); // SITE(cas)
}
__attribute__((noinline)) int xadd(void) {
  return atomic_fetch_add(&flag, 1); // SITE(xadd)
}
__attribute__((noinline)) int swap(int v) {
  return atomic_exchange(&flag, v); // SITE(swap)
}
__attribute__((noinline)) int sync_cas(int *p) {
  return __sync_val_compare_and_swap(p, 0, 1); // SITE(sync_cas)
}
__attribute__((noinline)) int local(int i) {
  volatile int a[8];
  a[i & 7] = i;
  return a[(i + 1) & 7];
}
__attribute__((noinline)) int tlsget(void) { return ++tls; }
__attribute__((noinline)) int rodata(int i) { return consts[i & 3]; }
__attribute__((noinline)) void copy(struct node *d, const struct node *s) {
  memcpy(d->buf, s->buf, sizeof d->buf);
}
__attribute__((noinline)) double scale(double *p) { return *p * 1.5; }

static void *worker(void *arg) {
  struct node *n = arg;
  store(n, bump());
  table[n->v & 63] = n->v;
  cas(0, deref(n));
  xadd();
  swap(3);
  sync_cas(&counter);
  copy(&nodes[1], n);
  return (void *)(long)(idx(n->v) + local(n->v) + tlsget() + rodata(n->v) + (long)scale((double *)n->buf));
}

int main(void) {
  nodes[0].next = &nodes[1];
  pthread_t t;
  pthread_create(&t, NULL, worker, &nodes[0]);
  pthread_join(t, NULL);
  printf("counter=%d flag=%d\n", counter, atomic_load(&flag));
  fprintf(stderr, "done\n");
  return 0;
}
