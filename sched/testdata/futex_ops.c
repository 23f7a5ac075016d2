// futex_ops: every futex operation the scheduler emulates, called through
// syscall(2) so that each is exactly the op named. Waiters are threads
// that record when they return; the main thread checks the kernel's
// answers (return values, errnos, who woke) and prints one line per case.
// The output is the same in every schedule: any difference is a bug in
// the emulation.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long futex(atomic_uint *uaddr, int op, unsigned val, const struct timespec *ts, atomic_uint *uaddr2, unsigned val3) {
  return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static atomic_uint f1, f2;
static atomic_int woke[8];

struct waiter {
  int id;
  atomic_uint *on;
  unsigned bitset;
};

static void *wait_thread(void *arg) {
  struct waiter *w = arg;
  long r;
  do {
    r = w->bitset ? futex(w->on, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, w->bitset)
                  : futex(w->on, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  } while (r == -1 && errno == EINTR);
  atomic_store(&woke[w->id], r == 0 ? 1 : -errno);
  return NULL;
}

// queued counts the waiters queued on uaddr: a CMP_REQUEUE of all of
// them onto the same futex wakes none and moves them in place.
static long queued(atomic_uint *uaddr) {
  return futex(uaddr, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)(uintptr_t)INT32_MAX, uaddr, atomic_load(uaddr));
}

// start starts n waiters on uaddr (with bitset, 0: plain WAIT) and
// returns once all of them are queued.
static void start(pthread_t *t, struct waiter *w, int n, atomic_uint *uaddr, unsigned bitset, int first) {
  long before = queued(uaddr);
  for (int i = 0; i < n; i++) {
    w[i] = (struct waiter){first + i, uaddr, bitset};
    atomic_store(&woke[first + i], 0);
    pthread_create(&t[i], NULL, wait_thread, &w[i]);
  }
  while (queued(uaddr) < before + n) usleep(100);
}

static int count_woken(int first, int n) {
  int c = 0;
  for (int i = first; i < first + n; i++) c += atomic_load(&woke[i]) == 1;
  return c;
}

int main(void) {
  pthread_t t[8];
  struct waiter w[8];

  // WAIT with a changed value: EAGAIN at once.
  atomic_store(&f1, 1);
  long r = futex(&f1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  printf("wait on a changed value: %ld %s\n", r, strerror(errno));
  atomic_store(&f1, 0);

  // WAIT with a timeout: ETIMEDOUT (virtual time).
  struct timespec ts = {0, 50 * 1000 * 1000};
  r = futex(&f1, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
  printf("wait with a timeout: %ld %s\n", r, strerror(errno));

  // WAIT_BITSET with bitset 0: EINVAL.
  r = futex(&f1, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, 0);
  printf("wait with bitset 0: %ld %s\n", r, strerror(errno));

  // WAKE 2 of 3 (which two is the scheduler's choice), then the last.
  start(t, w, 3, &f1, 0, 0);
  printf("queued: %ld\n", queued(&f1));
  r = futex(&f1, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0);
  printf("wake 2 of 3: woke %ld, %ld still queued\n", r, queued(&f1));
  r = futex(&f1, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  printf("wake the last: woke %ld, %d returned 0\n", r, count_woken(0, 3));

  // CMP_REQUEUE with a stale val3: EAGAIN, nobody moves.
  start(t, w, 3, &f1, 0, 0);
  r = futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2, &f2, 7);
  printf("cmp_requeue, stale value: %ld %s; %ld queued\n", r, strerror(errno), queued(&f1));
  // CMP_REQUEUE: wake 1, move 2 to f2.
  r = futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2, &f2, 0);
  printf("cmp_requeue: %ld woken or moved; %ld on f1, %ld on f2\n", r, queued(&f1), queued(&f2));
  printf("wake f1: %ld; wake f2: %ld\n", futex(&f1, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0),
         futex(&f2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  printf("after the requeue: %d returned 0\n", count_woken(0, 3));

  // REQUEUE (no compare): wake 0, move 1 of 2 to f2.
  start(t, w, 2, &f1, 0, 0);
  r = futex(&f1, FUTEX_REQUEUE_PRIVATE, 0, (void *)1, &f2, 0);
  printf("requeue: returned %ld; %ld on f1, %ld on f2\n", r, queued(&f1), queued(&f2));
  printf("wake f1: %ld; wake f2: %ld\n", futex(&f1, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0),
         futex(&f2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);

  // WAKE_OP: f2 += 1 (old 0), wake 1 on f1, and 1 on f2 if old == 0;
  // then f2 |= 4 with old 0 != 0 false: f1 only.
  start(t, w, 1, &f1, 0, 0);
  start(t + 1, w + 1, 1, &f2, 0, 1);
  r = futex(&f1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &f2, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0));
  pthread_join(t[0], NULL);
  pthread_join(t[1], NULL);
  printf("wake_op: woke %ld, f2 is %u, %d returned 0\n", r, atomic_load(&f2), count_woken(0, 2));
  atomic_store(&f2, 0);
  start(t, w, 1, &f1, 0, 0);
  start(t + 1, w + 1, 1, &f2, 0, 1);
  r = futex(&f1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &f2, FUTEX_OP(FUTEX_OP_OR, 4, FUTEX_OP_CMP_NE, 0));
  printf("wake_op, comparison false: woke %ld, f2 is %u, ", r, atomic_load(&f2));
  atomic_store(&f2, 0);
  printf("%ld still on f2\n", queued(&f2));
  futex(&f2, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  pthread_join(t[0], NULL);
  pthread_join(t[1], NULL);

  // WAKE_BITSET wakes only the waiters whose bitset matches.
  start(t, w, 1, &f1, 0x1, 0);
  start(t + 1, w + 1, 1, &f1, 0x2, 1);
  long none = futex(&f1, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 0x4);
  long two = futex(&f1, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 0x2);
  pthread_join(t[1], NULL);
  printf("wake_bitset: mask 4 woke %ld, mask 2 woke %ld; waiter 1 %d, waiter 2 %d\n", none, two, atomic_load(&woke[0]), atomic_load(&woke[1]));
  futex(&f1, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 0x1);
  pthread_join(t[0], NULL);
  printf("done\n");
  return 0;
}
