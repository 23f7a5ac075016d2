// memory.c: two workers touch one shared variable and then loop over a
// private one; sched's memory_test.go plants memory points in it.
#include <pthread.h>
#include <stdio.h>

volatile int shared;
volatile long sink[2];

static void *worker(void *arg) {
  long id = (long)arg;
  int v = shared;          // LINE(load)
  shared = v + (int)id;    // LINE(store)
  for (int i = 0; i < 300; i++)
    sink[id - 1] += i;     // LINE(loop)
  return NULL;
}

int main(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, worker, (void *)1L);
  pthread_create(&b, NULL, worker, (void *)2L);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  printf("shared=%d\n", shared);
  return 0;
}
