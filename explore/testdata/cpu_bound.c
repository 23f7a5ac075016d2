// cpu_bound: one thread computes for about 0.2 s of CPU time (on this
// kind of machine) without a syscall, then prints the sum.
//
// Expected stdout (exit status 0): "19999999900000000\n"
#include <stdio.h>

int main(void) {
	volatile unsigned long x = 0;
	for (unsigned long i = 0; i < 200000000UL; i++)
		x += i;
	printf("%lu\n", x);
	return 0;
}
