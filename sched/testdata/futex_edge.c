// futex_edge: the futex paths futex_ops leaves out. FUTEX_WAKE_OP with
// every operation and comparison, its 12-bit arguments sign-extended as
// the kernel does, FUTEX_OP_OPARG_SHIFT, a bad operation and a bad
// comparison (the kernel applies the operation, then fails with ENOSYS and
// wakes nobody); bad addresses (EFAULT) for WAIT, its timeout, CMP_REQUEUE
// and WAKE_OP; WAKE_BITSET with bitset 0; WAIT_BITSET with an absolute
// CLOCK_MONOTONIC deadline; a partial requeue onto the same futex. Every
// line is the same in every schedule and natively.
//
// With an argument it makes one call the scheduler does not emulate: "pi"
// FUTEX_LOCK_PI, "waitv" futex_waitv (both end a scheduled run as
// unsupported).
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
static atomic_int woke[4];

struct waiter {
  int id;
  atomic_uint *on;
  unsigned val;
};

static void *wait_thread(void *arg) {
  struct waiter *w = arg;
  long r;
  do {
    r = futex(w->on, FUTEX_WAIT_PRIVATE, w->val, NULL, NULL, 0);
  } while (r == -1 && errno == EINTR);
  atomic_store(&woke[w->id], r == 0 ? 1 : -errno);
  return NULL;
}

// queued counts the waiters queued on uaddr (a CMP_REQUEUE of all of them
// onto the same futex wakes none and moves none).
static long queued(atomic_uint *uaddr) {
  return futex(uaddr, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)(uintptr_t)INT32_MAX, uaddr, atomic_load(uaddr));
}

// start starts one waiter on uaddr (waiting while it holds val) and
// returns once it is queued.
static void start(pthread_t *t, struct waiter *w, int id, atomic_uint *uaddr, unsigned val) {
  long before = queued(uaddr);
  *w = (struct waiter){id, uaddr, val};
  atomic_store(&woke[id], 0);
  pthread_create(t, NULL, wait_thread, w);
  while (queued(uaddr) < before + 1) usleep(100);
}

static const char *err(long r) { return r < 0 ? strerror(errno) : "ok"; }

// wake_op_case runs one WAKE_OP with a waiter on f1 (woken: nr_wake 1)
// and one on f2 (woken if the comparison holds), f2 holding old.
static void wake_op_case(const char *name, unsigned old, unsigned encoded) {
  pthread_t t1, t2;
  struct waiter w1, w2;
  atomic_store(&f1, 0);
  atomic_store(&f2, old);
  start(&t1, &w1, 0, &f1, 0);
  start(&t2, &w2, 1, &f2, old);
  long r = futex(&f1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &f2, encoded);
  printf("wake_op %-22s: returned %ld (%s), f2 %#x, %ld left on f1, %ld left on f2\n", name, r, err(r),
         atomic_load(&f2), queued(&f1), queued(&f2));
  // Release whoever still waits: f1's waiter waits on 0, f2's on old.
  atomic_store(&f1, 1);
  futex(&f1, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  atomic_store(&f2, old + 1);
  futex(&f2, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
}

static int unsupported(const char *what) {
  if (strcmp(what, "pi") == 0) {
    atomic_store(&f1, 0);
    long r = futex(&f1, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    printf("lock_pi: %ld %s\n", r, err(r));
    return 0;
  }
  if (strcmp(what, "waitv") == 0) {
    // futex_waitv(NULL, 0, ...): EINVAL natively.
    long r = syscall(449, NULL, 0, 0, NULL, CLOCK_MONOTONIC);
    printf("futex_waitv: %ld %s\n", r, err(r));
    return 0;
  }
  fprintf(stderr, "unknown case %s\n", what);
  return 2;
}

int main(int argc, char **argv) {
  if (argc > 1) return unsupported(argv[1]);
  setvbuf(stdout, NULL, _IOLBF, 0);

  // Every operation on old value 5, then every comparison of old 5.
  wake_op_case("set 6, eq 5", 5, FUTEX_OP(FUTEX_OP_SET, 6, FUTEX_OP_CMP_EQ, 5));
  wake_op_case("add 6, ne 5", 5, FUTEX_OP(FUTEX_OP_ADD, 6, FUTEX_OP_CMP_NE, 5));
  wake_op_case("or 6, lt 6", 5, FUTEX_OP(FUTEX_OP_OR, 6, FUTEX_OP_CMP_LT, 6));
  wake_op_case("andn 4, le 4", 5, FUTEX_OP(FUTEX_OP_ANDN, 4, FUTEX_OP_CMP_LE, 4));
  wake_op_case("xor 3, gt 4", 5, FUTEX_OP(FUTEX_OP_XOR, 3, FUTEX_OP_CMP_GT, 4));
  wake_op_case("set 0, ge 6", 5, FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_GE, 6));
  // 12-bit arguments are signed: set -1, and 0 > -1.
  wake_op_case("set -1, gt -1", 0, FUTEX_OP(FUTEX_OP_SET, 0xfff, FUTEX_OP_CMP_GT, 0xfff));
  wake_op_case("add -2, lt -1", 0, FUTEX_OP(FUTEX_OP_ADD, 0xffe, FUTEX_OP_CMP_LT, 0xfff));
  // OPARG_SHIFT: the argument is 1 << oparg.
  wake_op_case("shift: or 1<<4, eq 1", 1, FUTEX_OP(FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_EQ, 1));
  // A bad operation fails untouched; a bad comparison after the
  // operation, waking nobody.
  wake_op_case("bad op 5", 5, (5u << 28) | (6 << 12));
  wake_op_case("bad cmp 7", 5, (FUTEX_OP_SET << 28) | (7u << 24) | (6 << 12));

  // Bad addresses: EFAULT, as the kernel reads the word (or timeout).
  atomic_uint *bad = (atomic_uint *)8;
  long r = futex(bad, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  printf("wait on a bad address: %ld %s\n", r, err(r));
  atomic_store(&f1, 0);
  r = futex(&f1, FUTEX_WAIT_PRIVATE, 0, (const struct timespec *)8, NULL, 0);
  printf("wait with a bad timeout: %ld %s\n", r, err(r));
  r = futex(bad, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &f2, 0);
  printf("cmp_requeue from a bad address: %ld %s\n", r, err(r));
  r = futex(&f1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, bad, FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0));
  printf("wake_op on a bad address: %ld %s\n", r, err(r));

  // WAKE_BITSET with bitset 0: EINVAL.
  r = futex(&f1, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0);
  printf("wake_bitset with bitset 0: %ld %s\n", r, err(r));

  // WAIT_BITSET's deadline is absolute on CLOCK_MONOTONIC.
  struct timespec now, t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &now);
  t0 = now;
  now.tv_nsec += 20 * 1000 * 1000;
  if (now.tv_nsec >= 1000000000) now.tv_sec++, now.tv_nsec -= 1000000000;
  r = futex(&f1, FUTEX_WAIT_BITSET_PRIVATE, 0, &now, NULL, FUTEX_BITSET_MATCH_ANY);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  printf("wait_bitset until now+20ms: %ld %s, waited at least 20 ms: %d\n", r, err(r), waited >= 20);

  // A requeue onto the same futex counts at most nr_requeue waiters.
  pthread_t t[2];
  struct waiter w[2];
  atomic_store(&f1, 0);
  start(&t[0], &w[0], 0, &f1, 0);
  start(&t[1], &w[1], 1, &f1, 0);
  r = futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)1, &f1, 0);
  printf("requeue 1 of 2 onto the same futex: %ld, %ld queued\n", r, queued(&f1));
  r = futex(&f1, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0);
  pthread_join(t[0], NULL);
  pthread_join(t[1], NULL);
  printf("woke %ld\n", r);
  printf("done\n");
  return 0;
}
