// determinism: everything a run could take from the machine instead of
// from its seed. Three threads share a mutex and a condition variable
// (futexes), sleep, pass tokens through a pipe, read the clocks, call
// getrandom, /dev/urandom, rdtsc and sched_getcpu, and print what they saw in the order they saw it.
// Under schedfuzz the same seed must print the same bytes every time.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <x86intrin.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn;
static int fds[2];
static char log_buf[8192];
static size_t log_len;

static void logf_(const char *fmt, long a, long b) {
  pthread_mutex_lock(&mu);
  log_len += (size_t)snprintf(log_buf + log_len, sizeof log_buf - log_len, fmt, a, b);
  pthread_mutex_unlock(&mu);
}

static void *worker(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < 3; i++) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    logf_("w%ld mono %ld\n", id, ts.tv_sec * 1000000000L + ts.tv_nsec);
    unsigned char r[4];
    getrandom(r, sizeof r, 0);
    logf_("w%ld rand %ld\n", id, (long)(r[0] | r[1] << 8 | r[2] << 16));
    logf_("w%ld tsc %ld\n", id, (long)(__rdtsc() & 0xffffffffff));
    logf_("w%ld cpu %ld\n", id, (long)sched_getcpu());
    usleep(1000 * (unsigned)(id + 1));
    pthread_mutex_lock(&mu);
    while (turn % 3 != id)
      pthread_cond_wait(&cv, &mu);
    turn++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    char c = (char)('a' + id);
    write(fds[1], &c, 1);
  }
  return NULL;
}

int main(void) {
  pthread_t t[3];
  if (pipe(fds) != 0)
    return 2;
  for (long i = 0; i < 3; i++)
    pthread_create(&t[i], NULL, worker, (void *)i);
  char got[10] = {0};
  for (int i = 0; i < 9; i++)
    read(fds[0], &got[i], 1);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  unsigned char u[4] = {0};
  int rfd = open("/dev/urandom", O_RDONLY);
  read(rfd, u, sizeof u);
  close(rfd);
  printf("urandom %02x%02x%02x%02x\n", u[0], u[1], u[2], u[3]);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  printf("%s", log_buf);
  printf("tokens %s\nrealtime %ld\ntime %ld\n", got, (long)tv.tv_sec, (long)time(NULL));
  return 0;
}
