// lost_update: two threads increment a shared counter three times each
// with a read-modify-write whose window holds a write(2):
//
//	tmp = counter; write(1, ".", 1); counter = tmp + 1;
//
// Natively the threads almost never interleave inside the window, so the
// program prints counter=6 and exits 0. When another thread runs between
// the read and the write-back, an increment is lost: counter<6, exit 1.
// This is the README's example.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static int counter;
static void *worker(void *arg) {
  for (int i = 0; i < 3; i++) {
    int tmp = counter;
    write(STDOUT_FILENO, ".", 1);
    counter = tmp + 1;
  }
  return NULL;
}
int main(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, worker, NULL);
  pthread_create(&b, NULL, worker, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  printf("\ncounter=%d\n", counter);
  return counter == 6 ? 0 : 1;
}
