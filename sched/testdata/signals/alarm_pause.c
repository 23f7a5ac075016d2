// alarm + pause: SIGALRM from alarm(2) wakes pause(2) and runs the
// handler; alarm returns the seconds left of the previous alarm.
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_alarm(int sig) { got = sig; }

int main(void) {
	signal(SIGALRM, on_alarm);
	alarm(5);
	unsigned left = alarm(1); // replaces it: 5 s were left
	int r = pause();
	printf("left %u, pause %d, got %d\n", left, r, got);
	return got == SIGALRM ? 0 : 1;
}
