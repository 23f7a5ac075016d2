// store_order: a producer fills in a message and publishes it with a
// ready flag; a consumer that sees the flag reads the message:
//
//	producer: box.ready = 1; box.len = 5; box.sum = 15;
//	consumer: if (box.ready) check(box.len, box.sum);
//
// Bug: the stores are in the wrong order: ready is set before the fields
// it publishes, so a consumer can see ready == 1 and a message not yet
// written (len 0). (On a sequentially consistent machine too: the order
// is the program's, not the CPU's.)
// Window: between the store of ready and the store of len: two plain
// stores, no syscall, no call. Only a point before the store of len
// (-points memory) lets the consumer run inside it. The consumer first
// does a job (CPU only, ~2 ms natively), so natively the producer is done
// before it looks.
// Failure: "torn message: ready=1 len=0 sum=0" on stderr, exit 1.
// Correct output (stdout): "message ok\n".
#include <pthread.h>
#include <stdio.h>

struct msg {
  int ready;
  int len;
  int sum;
};

static volatile struct msg box;
static int torn, tornlen, tornsum;

static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static void *producer(void *arg) {
  (void)arg;
  box.ready = 1; // BUG: published before the fields below
  box.len = 5;
  box.sum = 15;
  return NULL;
}

static void *consumer(void *arg) {
  unsigned *job = arg;
  *job = work(*job);
  if (box.ready) {
    int len = box.len, sum = box.sum;
    if (len != 5 || sum != 15) {
      torn = 1;
      tornlen = len;
      tornsum = sum;
    }
  }
  return NULL;
}

int main(void) {
  pthread_t p, c;
  unsigned job = 2000000;
  pthread_create(&p, NULL, producer, NULL);
  pthread_create(&c, NULL, consumer, &job);
  pthread_join(p, NULL);
  pthread_join(c, NULL);
  if (torn) {
    fprintf(stderr, "torn message: ready=1 len=%d sum=%d\n", tornlen, tornsum);
    return 1;
  }
  printf("message ok\n");
  return 0;
}
