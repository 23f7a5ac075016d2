// PR_SET_PDEATHSIG: a grandchild asks for SIGUSR1 when its parent dies
// and waits for it in sigsuspend; the parent exits; the grandchild reports
// through a pipe to the first process.
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig) { got = sig; }

int main(void) {
	int p[2];
	pipe(p);
	pid_t a = fork();
	if (a == 0) {
		pid_t parent = getpid();
		if (fork() == 0) {
			sigset_t usr1, old;
			sigemptyset(&usr1);
			sigaddset(&usr1, SIGUSR1);
			sigprocmask(SIG_BLOCK, &usr1, &old);
			signal(SIGUSR1, on_usr1);
			prctl(PR_SET_PDEATHSIG, SIGUSR1);
			if (getppid() != parent)
				got = SIGUSR1; // the parent died before prctl
			while (!got)
				sigsuspend(&old);
			write(p[1], "grandchild got SIGUSR1\n", 23);
			_exit(0);
		}
		_exit(0);
	}
	close(p[1]);
	waitpid(a, 0, 0);
	char buf[64];
	ssize_t n = read(p[0], buf, sizeof buf);
	fwrite(buf, 1, n > 0 ? n : 0, stdout);
	return 0;
}
