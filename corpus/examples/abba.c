// abba: two threads take two mutexes in opposite orders, with a syscall
// between the two lock calls. Natively the first thread almost always
// finishes both locks before the second starts; under a scheduler that
// switches at the write, each holds one lock and waits for the other:
// deadlock.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;

static void *ab(void *arg) {
  (void)arg;
  pthread_mutex_lock(&a);
  write(STDOUT_FILENO, "ab\n", 3);
  pthread_mutex_lock(&b);
  pthread_mutex_unlock(&b);
  pthread_mutex_unlock(&a);
  return NULL;
}

static void *ba(void *arg) {
  (void)arg;
  pthread_mutex_lock(&b);
  write(STDOUT_FILENO, "ba\n", 3);
  pthread_mutex_lock(&a);
  pthread_mutex_unlock(&a);
  pthread_mutex_unlock(&b);
  return NULL;
}

int main(void) {
  pthread_t t1, t2;
  pthread_create(&t1, NULL, ab, NULL);
  pthread_create(&t2, NULL, ba, NULL);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  puts("done");
  return 0;
}
