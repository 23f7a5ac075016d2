// lf_stack: a lock-free (Treiber) stack A -> B -> C; thread 1 pops one
// node, thread 2 pops two and pushes the first back. pop is
//	do { old = top; next = old->next; } while (!CAS(&top, old, next));
// Bug: ABA. Thread 1 reads old = A and next = B; thread 2 pops A, pops B
// and pushes A back; thread 1's CAS still finds A on top and installs B,
// which thread 2 holds: B is then both on the stack and owned.
// Window: between thread 1's load of old->next and its compare-and-swap:
// a few instructions, no syscall, no call. Only a point before the CAS
// (or the load of next) reaches it (-points memory). Thread 2 first does
// a job (CPU only, ~2 ms natively), so natively thread 1 is done first.
// Failure: "ABA: node B is on the stack and owned by thread 2" on stderr,
// exit 1.
// Correct output (stdout): "stack ok\n".
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

struct node { struct node *next; char name; };

static struct node nodes[3] = {{&nodes[1], 'A'}, {&nodes[2], 'B'}, {NULL, 'C'}};
static struct node *_Atomic top = &nodes[0];
static struct node *held[2]; // the node each thread keeps

static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static struct node *pop(void) {
  struct node *old = atomic_load(&top), *next;
  do {
    if (old == NULL) return NULL;
    next = old->next;
  } while (!atomic_compare_exchange_weak(&top, &old, next));
  return old;
}

static void push(struct node *n) {
  struct node *old = atomic_load(&top);
  do {
    n->next = old;
  } while (!atomic_compare_exchange_weak(&top, &old, n));
}

static void *one(void *arg) {
  (void)arg;
  held[0] = pop();
  return NULL;
}

static void *two(void *arg) {
  unsigned *job = arg;
  *job = work(*job);
  struct node *x = pop();
  held[1] = pop();
  push(x);
  return NULL;
}

int main(void) {
  pthread_t a, b;
  unsigned job = 2000000;
  pthread_create(&a, NULL, one, NULL);
  pthread_create(&b, NULL, two, &job);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  int seen[3] = {0}, n = 0; // a node is on the stack or held, not both
  for (struct node *p = atomic_load(&top); p != NULL && n < 8; p = p->next, n++) seen[p - nodes]++;
  for (int t = 0; t < 2; t++) {
    if (held[t] != NULL && seen[held[t] - nodes]++) {
      fprintf(stderr, "ABA: node %c is on the stack and owned by thread %d\n", held[t]->name, t + 1);
      return 1;
    }
  }
  printf("stack ok\n");
  return 0;
}
