// int80: futex waits and wakes and clock reads made through the i386 ABI
// (int $0x80) from a 64-bit program, mixed with their 64-bit
// counterparts. A waiter blocked in the kernel on an int $0x80 futex would
// hang the run (its waker is held by the scheduler), and int $0x80 clocks
// must tell the same (virtual) time as the 64-bit ones.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define I386_time 13
#define I386_gettimeofday 78
#define I386_futex 240
#define I386_clock_gettime 265

static long int80(long nr, long a, long b, long c, long d) {
	long ret;
	__asm__ __volatile__("int $0x80"
			     : "=a"(ret)
			     : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
			     : "memory", "cc", "r8", "r9", "r10", "r11");
	return ret;
}

// Memory below 4 GiB: int $0x80 passes 32-bit pointers.
struct low {
	int32_t word, done;
	int32_t ts[2];
	int32_t tv[2];
	int32_t t32;
};
static struct low *low;

static void *waiter(void *arg) {
	(void)arg;
	while (__atomic_load_n(&low->word, __ATOMIC_ACQUIRE) == 0)
		int80(I386_futex, (long)&low->word, FUTEX_WAIT, 0, 0);
	low->done = 1;
	return NULL;
}

static void *waker(void *arg) {
	(void)arg;
	usleep(1000);
	__atomic_store_n(&low->word, 1, __ATOMIC_RELEASE);
	int80(I386_futex, (long)&low->word, FUTEX_WAKE, 1, 0);
	return NULL;
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	pthread_t a, b;
	pthread_create(&a, NULL, waiter, NULL);
	pthread_create(&b, NULL, waker, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("int $0x80 futex wait, woken by int $0x80 wake: done=%d\n", low->done);

	// A 64-bit wake for an int $0x80 wait.
	low->word = 0;
	low->done = 0;
	pthread_create(&a, NULL, waiter, NULL);
	usleep(1000);
	__atomic_store_n(&low->word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &low->word, FUTEX_WAKE, 1, NULL, NULL, 0);
	pthread_join(a, NULL);
	printf("int $0x80 futex wait, woken by a 64-bit wake: done=%d\n", low->done);

	// A timed wait nobody wakes: ETIMEDOUT after 50 ms.
	low->ts[0] = 0;
	low->ts[1] = 50 * 1000 * 1000;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long r = int80(I386_futex, (long)&low->word, FUTEX_WAIT, 1, (long)low->ts);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("int $0x80 timed futex wait: %ld (-ETIMEDOUT is -110), %s\n", r, ms >= 50 ? "after its timeout" : "EARLY");

	// Clocks: the 32-bit calls agree with the 64-bit ones.
	time_t t64 = time(NULL);
	long t32 = int80(I386_time, (long)&low->t32, 0, 0, 0);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	int80(I386_gettimeofday, (long)low->tv, 0, 0, 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int80(I386_clock_gettime, CLOCK_REALTIME, (long)low->ts, 0, 0);
	printf("time: %s\n", labs(t32 - t64) <= 1 && t32 == low->t32 ? "agrees" : "DIFFERS");
	printf("gettimeofday: %s\n", labs(low->tv[0] - tv.tv_sec) <= 1 ? "agrees" : "DIFFERS");
	printf("clock_gettime: %s\n", labs(low->ts[0] - ts.tv_sec) <= 1 ? "agrees" : "DIFFERS");
	return 0;
}
