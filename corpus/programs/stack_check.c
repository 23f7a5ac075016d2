// stack_check: two consumers pop from a shared stack that holds one item;
// each checks that the stack is not empty before taking the lock:
//
//	if (top > 0) { lock; item = stack[--top]; unlock; }
//
// Bug: check-then-act; the check is outside the critical section, so both
// consumers can see top == 1 and both pop: the second pops from an empty
// stack (top becomes -1).
// Window: between the unlocked check and pthread_mutex_lock: no syscall.
// Only points at the lock calls (-points sync) reach it. Consumer b first
// does a job (CPU only, ~2 ms natively), so natively a has emptied the
// stack before b looks.
// Failure: "popped an empty stack: top=-1" on stderr, exit 1.
// Correct output (stdout): "popped 1 item, top=0\n".
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int stack[4] = {42};
static int top = 1;
static int popped;

static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static void *consumer(void *arg) {
  unsigned *job = arg;
  *job = work(*job);
  if (top > 0) {
    pthread_mutex_lock(&mu);
    --top;
    if (top >= 0) (void)stack[top];
    popped++;
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

int main(void) {
  pthread_t a, b;
  unsigned ja = 1000, jb = 2000000;
  pthread_create(&a, NULL, consumer, &ja);
  pthread_create(&b, NULL, consumer, &jb);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  if (top < 0) {
    fprintf(stderr, "popped an empty stack: top=%d\n", top);
    return 1;
  }
  printf("popped %d item, top=%d\n", popped, top);
  return 0;
}
