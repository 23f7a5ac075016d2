// sleep_sync: "synchronization" by sleeping. main starts a worker, sleeps
// 10 ms "so that the worker has finished initializing", then uses what the
// worker set up.
//
// Bug: a sleep orders nothing. The worker loads 12000 entries, checking
// for each that its supervisor (the parent process) is still alive with
// getppid(2) (~2 ms natively in all), then waits a moment (usleep(10)) for
// its "device", then sets `ready`.
// Window: everything the worker does before `ready = 1`: its getppid
// calls and its usleep. Natively that is well below 10 ms. Under virtual
// time each syscall (scheduling point) costs a quantum (1 us in sched),
// so the worker's 12000 syscalls take 12 ms of virtual time and main's
// 10 ms sleep ends first: when the worker blocks in its usleep main is
// woken (or, with a scheduler that fires due timers at any scheduling
// point, main may be picked as soon as its deadline has passed) and finds
// `ready == 0`. Any schedule fails: the bug is in the timing assumption.
// Natively it shows only on an overloaded machine (~5% of runs with four
// copies and two CPU hogs on two cores).
// Failure: "sleep_sync: worker not ready after 10 ms" on stderr, exit 1.
// Correct output (stdout): "entries=12000\n".
#define _DEFAULT_SOURCE // POSIX and BSD interfaces under -std=c11
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

enum { ENTRIES = 12000 };
static int table[ENTRIES];
static volatile int ready;

static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < ENTRIES; i++) {
    if (getppid() == 1) return NULL; // supervisor gone: give up
    table[i] = i;
  }
  usleep(10); // let the "device" settle
  ready = 1;
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  usleep(10000); // "plenty of time" for the worker to initialize
  if (!ready) {
    fprintf(stderr, "sleep_sync: worker not ready after 10 ms\n");
    return 1;
  }
  pthread_join(t, NULL);
  printf("entries=%d\n", table[ENTRIES - 1] + 1);
  return 0;
}
