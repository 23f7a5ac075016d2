// two_process_file: a parent and its forked child each increment a counter
// stored in a file N times, with an unlocked read-modify-write:
// open, read, lseek(0), write, close.
//
// Bug: no file locking (flock/fcntl) around the read-modify-write.
// Window: the lseek(2) and write(2) (and the open/read before them)
// between reading the old value and writing the new one. Natively the
// child first computes its share (CPU only, ~5 ms), by when the parent
// has finished its few increments; a scheduler that switches at those
// syscalls lets both processes read the same value, and an increment is
// lost.
// Failure: "lost update: count=K, want 6" on stderr, exit 1.
// The counter file is a fresh mkstemp file under /tmp, removed at exit.
// Correct output (stdout): "count=6\n".
#define _DEFAULT_SOURCE // POSIX and BSD interfaces under -std=c11
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { N = 3 };
static char path[] = "/tmp/schedfuzz-counter-XXXXXX";

// CPU-only work, ~5 ms natively and free for a syscall-level scheduler.
static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static int readcount(int fd) {
  char buf[32] = {0};
  (void)!read(fd, buf, sizeof buf - 1);
  return atoi(buf);
}

static void increment(void) {
  int fd = open(path, O_RDWR);
  if (fd < 0) { perror("open"); exit(2); }
  int v = readcount(fd);
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%d\n", v + 1);
  lseek(fd, 0, SEEK_SET);
  (void)!write(fd, buf, n);
  close(fd);
}

int main(void) {
  int fd = mkstemp(path);
  if (fd < 0) { perror("mkstemp"); return 2; }
  (void)!write(fd, "0\n", 2);
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 2; }
  if (pid == 0 && work(5000000) == 0) _exit(3); // the child's share
  for (int i = 0; i < N; i++) increment();
  if (pid == 0) _exit(0);
  waitpid(pid, NULL, 0);
  lseek(fd, 0, SEEK_SET);
  int count = readcount(fd);
  close(fd);
  unlink(path);
  if (count != 2 * N) {
    fprintf(stderr, "lost update: count=%d, want %d\n", count, 2 * N);
    return 1;
  }
  printf("count=%d\n", count);
  return 0;
}
