// kinds: N iterations of one kind of scheduling point, for the cost of
// each kind under schedfuzz's scheduler.
//
// Usage: kinds MODE N
//
// MODE syscall: a raw getppid(2) per iteration (one syscall point).
// MODE sync: pthread_mutex_lock and pthread_mutex_unlock of an
// uncontended mutex (two function points: sync).
// MODE memory: a load and a store of a global (two memory points, the
// program's only memory sites in its loop: memory).
// One thread; the caller times whole runs for two values of N and divides
// the difference by the difference in scheduling points.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
volatile long sink;

int main(int argc, char **argv) {
  char *end;
  long n;
  if (argc != 3 || (n = strtol(argv[2], &end, 10)) < 0 || *end || !*argv[2]) {
    fprintf(stderr, "usage: kinds syscall|sync|memory N\n");
    return 2;
  }
  if (strcmp(argv[1], "syscall") == 0) {
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
  } else if (strcmp(argv[1], "sync") == 0) {
    for (long i = 0; i < n; i++) {
      pthread_mutex_lock(&mu);
      pthread_mutex_unlock(&mu);
    }
  } else if (strcmp(argv[1], "memory") == 0) {
    for (long i = 0; i < n; i++) sink = sink + 1;
  } else {
    fprintf(stderr, "kinds: unknown mode %s\n", argv[1]);
    return 2;
  }
  return 0;
}
