// wait_sendfile: blocking calls the scheduler makes non-blocking that
// io_block and ipc_block leave out. waitid on a child that is still
// running (P_PID, then P_ALL with WNOWAIT before the reaping waitpid);
// sendfile of more than a pipe holds into a pipe another thread drains
// (each call moves at most what fits);
// tee from an empty pipe that another thread fills later. Every line is
// the same in every schedule and natively.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { BIG = 256 * 1024 };

static void nap(long ms) {
  struct timespec ts = {0, ms * 1000 * 1000};
  nanosleep(&ts, NULL);
}

static void child_waits(void) {
  pid_t pid = fork();
  if (pid == 0) {
    nap(20);
    _exit(7);
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = waitid(P_PID, pid, &si, WEXITED);
  printf("waitid P_PID: %d, pid matches %d, code %s, status %d\n", r, si.si_pid == pid,
         si.si_code == CLD_EXITED ? "exited" : "other", si.si_status);

  pid = fork();
  if (pid == 0) {
    nap(20);
    raise(SIGTERM);
    _exit(0);
  }
  memset(&si, 0, sizeof si);
  r = waitid(P_ALL, 0, &si, WEXITED | WNOWAIT);
  printf("waitid P_ALL WNOWAIT: %d, pid matches %d, code %s, signal %d\n", r, si.si_pid == pid,
         si.si_code == CLD_KILLED ? "killed" : "other", si.si_status);
  int status;
  pid_t reaped = waitpid(pid, &status, 0);
  printf("then waitpid: pid matches %d, signaled %d by %d\n", reaped == pid, WIFSIGNALED(status), WTERMSIG(status));
}

struct drain {
  int fd;
  size_t got;
  unsigned long sum;
};

static void *drainer(void *arg) {
  struct drain *d = arg;
  char buf[4096];
  ssize_t n;
  while ((n = read(d->fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) d->sum += (unsigned char)buf[i];
    d->got += n;
  }
  return NULL;
}

static void sendfile_pipe(void) {
  int mfd = memfd_create("data", 0);
  char *data = malloc(BIG);
  unsigned long sum = 0;
  for (int i = 0; i < BIG; i++) {
    data[i] = (char)(i * 7 + 3);
    sum += (unsigned char)data[i];
  }
  if (write(mfd, data, BIG) != BIG) {
    perror("write");
    exit(1);
  }
  free(data);
  int p[2];
  pipe(p);
  struct drain d = {p[0], 0, 0};
  pthread_t th;
  pthread_create(&th, NULL, drainer, &d);
  // Into an empty pipe, one sendfile moves what fits: the pipe's
  // capacity (64 KiB); the rest takes more calls, each waiting for room.
  off_t off = 0;
  ssize_t first = sendfile(p[1], mfd, &off, BIG), total = first;
  while (first > 0 && total < BIG) {
    ssize_t n = sendfile(p[1], mfd, &off, BIG - total);
    if (n <= 0) break;
    total += n;
  }
  close(p[1]);
  pthread_join(th, NULL);
  printf("sendfile %d bytes into a pipe: first call %zd, in all %zd, offset %lld, read %zu, sums match %d\n", BIG,
         first, total, (long long)off, d.got, d.sum == sum);
  close(p[0]);
  close(mfd);
}

static int tee_in[2];

static void *filler(void *arg) {
  (void)arg;
  nap(10);
  write(tee_in[1], "hello, tee", 10);
  return NULL;
}

static void tee_pipe(void) {
  int out[2];
  pipe(tee_in);
  pipe(out);
  pthread_t th;
  pthread_create(&th, NULL, filler, NULL);
  ssize_t n = tee(tee_in[0], out[1], 64, 0);
  pthread_join(th, NULL);
  char a[32] = {0}, b[32] = {0};
  ssize_t na = read(tee_in[0], a, sizeof a - 1);
  ssize_t nb = read(out[0], b, sizeof b - 1);
  printf("tee from an empty pipe: %zd; input still has %zd \"%s\", copy has %zd \"%s\"\n", n, na, a, nb, b);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  child_waits();
  sendfile_pipe();
  tee_pipe();
  printf("done\n");
  return 0;
}
