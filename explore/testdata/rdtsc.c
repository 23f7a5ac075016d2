// rdtsc: reads the time-stamp counter with rdtsc and rdtscp (intrinsics
// compiled into the program) in its first thread and in another, and,
// with an argument, through code it writes at run time (a JIT's). Prints
// what it read.
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <x86intrin.h>
#include <pthread.h>

static void *reader(void *arg)
{
	unsigned aux;
	*(uint64_t *)arg = __rdtscp(&aux);
	return NULL;
}

int main(int argc, char **argv) {
	unsigned aux;
	uint64_t a = __rdtsc(), b = __rdtscp(&aux);
	uint64_t c = 0;
	pthread_t t;
	pthread_create(&t, NULL, reader, &c);
	pthread_join(t, NULL);
	printf("%llu %llu %llu %u\n", (unsigned long long)a, (unsigned long long)b, (unsigned long long)c, aux);
	if (argc > 1) { /* JIT: rdtsc; shl $32,%rdx; or %rdx,%rax; ret */
		unsigned char code[] = {0x0f, 0x31, 0x48, 0xc1, 0xe2, 0x20, 0x48, 0x09, 0xd0, 0xc3};
		void *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memcpy(p, code, sizeof code);
		mprotect(p, 4096, PROT_READ | PROT_EXEC);
		uint64_t d = ((uint64_t (*)(void))p)();
		printf("jit %llu\n", (unsigned long long)d);
	}
	return 0;
}
