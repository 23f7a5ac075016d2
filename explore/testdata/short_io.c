// short_io: a parent and child exchange 64-byte records over a pipe and
// assume every read and write transfers the whole record. Natively a
// 64-byte pipe write is atomic and the read that follows gets it all, so
// this never fails; with syscall-result fuzzing a short read, a short
// write or an EINTR breaks the assumption: exit 3.
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
	int p[2];
	if (pipe(p) != 0) return 2;
	pid_t pid = fork();
	if (pid == 0) {
		char rec[64];
		close(p[0]);
		for (int i = 0; i < 4; i++) {
			memset(rec, 'a' + i, sizeof rec);
			if (write(p[1], rec, sizeof rec) != sizeof rec) _exit(3);
		}
		_exit(0);
	}
	close(p[1]);
	char rec[64];
	for (int i = 0; i < 4; i++) {
		if (read(p[0], rec, sizeof rec) != sizeof rec) return 3;
		if (rec[0] != 'a' + i || rec[63] != 'a' + i) return 4;
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 3;
	puts("ok");
	return 0;
}
