/*
 * hostile.c - a guest that tries to reach its tracer (and schedfuzz) with
 * signals and to escape tracing. Each attempt prints "name=RESULT" with
 * RESULT 0 or the errno's name.
 *
 *   hostile signals SIG [nogroup]
 *                         every way to signal the tracer with SIG, by
 *                         number (the tracer is the guest's parent, and
 *                         TracerPid in /proc/self/status names its thread);
 *                         nogroup leaves out kill(-pgrp) of the tracer's
 *                         group (which a guest in that group, as under
 *                         trace, gets itself)
 *   hostile group SIG     kill(0, SIG): the guest's own process group; a
 *                         handler prints "caught" when SIG arrives
 *   hostile all SIG       a child waits for SIG; kill(-1, SIG)
 *   hostile untraced      clone(CLONE_UNTRACED) and clone3(CLONE_UNTRACED)
 *                         children print "child PID" and exit
 *   hostile stop          kill(getppid(), SIGSTOP), then exit 0
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <asm/sockios.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *name, long r)
{
	printf("%s=%s\n", name, r < 0 ? strerrorname_np(errno) : "0");
	fflush(stdout);
}

static int tracer_tid(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int pid = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "TracerPid: %d", &pid) == 1)
			break;
	if (f)
		fclose(f);
	return pid;
}

static volatile sig_atomic_t caught;
static void on_sig(int sig) { (void)sig; caught = 1; }

static int signals(int sig, int group)
{
	int ppid = getppid(), tracer = tracer_tid();
	int pgrp = getpgid(ppid);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	report("kill-parent", kill(ppid, sig));
	report("kill-tracer", kill(tracer, sig));
	report("tkill", syscall(SYS_tkill, tracer, sig));
	report("tgkill", syscall(SYS_tgkill, ppid, tracer, sig));
	report("sigqueueinfo", syscall(SYS_rt_sigqueueinfo, ppid, sig, &si));
	report("tgsigqueueinfo", syscall(SYS_rt_tgsigqueueinfo, ppid, tracer, sig, &si));
	int pidfd = syscall(SYS_pidfd_open, ppid, 0);
	report("pidfd_send_signal", syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0));
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", ppid);
	int dirfd = open(path, O_DIRECTORY | O_RDONLY);
	report("pidfd_send_signal-proc", syscall(SYS_pidfd_send_signal, dirfd, sig, NULL, 0));
	if (group)
		report("kill-group", kill(-pgrp, sig));
	report("setpgid", setpgid(0, pgrp));
	int fds[2];
	if (pipe(fds) != 0)
		return 1;
	report("f_setown", fcntl(fds[0], F_SETOWN, ppid));
	report("f_setown-group", fcntl(fds[0], F_SETOWN, -pgrp));
	struct f_owner_ex ex = {.type = F_OWNER_TID, .pid = tracer};
	report("f_setown_ex", fcntl(fds[0], F_SETOWN_EX, &ex));
	int owner = ppid;
	report("fiosetown", ioctl(fds[0], FIOSETOWN, &owner));
	/* Harmless calls still work. */
	report("kill-self", kill(getpid(), 0));
	report("setpgid-own", setpgid(0, 0));
	report("f_setown-self", fcntl(fds[0], F_SETOWN, getpid()));
	return 0;
}

static int group(int sig)
{
	signal(sig, on_sig);
	report("kill-0", kill(0, sig));
	printf("caught=%d\n", (int)caught);
	return 0;
}

static int all(int sig)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int p[2];
	if (pipe(p) != 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		int got;
		close(p[0]);
		if (write(p[1], "r", 1) != 1)
			_exit(3);
		sigwait(&set, &got);
		_exit(got == sig ? 0 : 4);
	}
	char c;
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		return 1;
	report("kill-all", kill(-1, sig));
	int st;
	waitpid(child, &st, 0);
	printf("child-status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

static char stack[65536] __attribute__((aligned(16)));

static int child_fn(void *arg)
{
	(void)arg;
	printf("child %d\n", (int)getpid());
	fflush(stdout);
	return 0;
}

static int untraced(void)
{
	pid_t c = clone(child_fn, stack + sizeof stack, CLONE_UNTRACED | SIGCHLD, NULL);
	if (c < 0)
		report("clone", -1);
	else
		waitpid(c, NULL, 0);
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_UNTRACED;
	ca.exit_signal = SIGCHLD;
	long r = syscall(SYS_clone3, &ca, sizeof ca);
	if (r == 0) {
		printf("child %d\n", (int)getpid());
		fflush(stdout);
		_exit(0);
	}
	if (r < 0)
		report("clone3", -1);
	else
		waitpid((pid_t)r, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int sig = argc > 2 ? atoi(argv[2]) : SIGWINCH;
	if (!strcmp(argv[1], "signals"))
		return signals(sig, !(argc > 3 && !strcmp(argv[3], "nogroup")));
	if (!strcmp(argv[1], "group"))
		return group(sig);
	if (!strcmp(argv[1], "all"))
		return all(sig);
	if (!strcmp(argv[1], "untraced"))
		return untraced();
	if (!strcmp(argv[1], "stop")) {
		report("stop-parent", kill(getppid(), SIGSTOP));
		report("stop-tracer", kill(tracer_tid(), SIGSTOP));
		return 0;
	}
	return 2;
}
