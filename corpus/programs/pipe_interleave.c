// pipe_interleave: two writer processes send multi-part records into one
// shared pipe; the parent reads the pipe and checks every record.
//
// Bug: a record is written with three write(2) calls ("<w>:begin ",
// "<w>:data ", "<w>:end\n"), so records from the two writers can
// interleave; each write alone is atomic (< PIPE_BUF), the record is not.
// Window: the second and third write(2) of each record. Natively writer B
// first computes its records (CPU only, ~5 ms), by when A is done; a
// scheduler that switches at the writes interleaves them.
// Failure: "pipe_interleave: torn record: ..." on stderr, exit 1.
// Correct output (stdout): "records: A=3 B=3\n".
#define _DEFAULT_SOURCE // POSIX and BSD interfaces under -std=c11
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { RECORDS = 3 };

// CPU-only work, ~5 ms natively and free for a syscall-level scheduler.
static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static void put(int fd, const char *s) { (void)!write(fd, s, strlen(s)); }

static void writer(int fd, char w) {
  char part[3][16];
  if (w == 'B' && work(5000000) == 0) w = 'b'; // compute the records
  snprintf(part[0], sizeof part[0], "%c:begin ", w);
  snprintf(part[1], sizeof part[1], "%c:data ", w);
  snprintf(part[2], sizeof part[2], "%c:end\n", w);
  for (int i = 0; i < RECORDS; i++)
    for (int j = 0; j < 3; j++) put(fd, part[j]);
  _exit(0);
}

int main(void) {
  int p[2];
  if (pipe(p) != 0) { perror("pipe"); return 2; }
  for (char w = 'A'; w <= 'B'; w++) {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) { close(p[0]); writer(p[1], w); }
  }
  close(p[1]);
  char buf[512];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 && (n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0) len += n;
  buf[len] = 0;
  while (wait(NULL) > 0) {}
  int count[2] = {0, 0};
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    char w = line[0], want[32];
    snprintf(want, sizeof want, "%c:begin %c:data %c:end", w, w, w);
    if ((w != 'A' && w != 'B') || strcmp(line, want) != 0) {
      fprintf(stderr, "pipe_interleave: torn record: \"%s\"\n", line);
      return 1;
    }
    count[w - 'A']++;
  }
  printf("records: A=%d B=%d\n", count[0], count[1]);
  return count[0] == RECORDS && count[1] == RECORDS ? 0 : 1;
}
