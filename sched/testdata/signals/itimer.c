// setitimer(ITIMER_REAL) periodic: the handler runs once per period;
// getitimer reads the interval back; a zero value disarms.
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;

static void on_alarm(int sig) { (void)sig; ticks++; }

int main(void) {
	signal(SIGALRM, on_alarm);
	struct itimerval it = {{0, 10000}, {0, 10000}}, cur;
	setitimer(ITIMER_REAL, &it, 0);
	while (ticks < 5)
		pause();
	getitimer(ITIMER_REAL, &cur);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, 0);
	int before = ticks;
	usleep(100000); // disarmed: no more ticks
	printf("ticks %d, interval %ld us, after disarm %d\n", before, (long)cur.it_interval.tv_usec, ticks - before);
	return 0;
}
