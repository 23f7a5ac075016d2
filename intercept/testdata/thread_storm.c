// thread_storm: creates and joins short-lived threads forever (a few at a
// time), so that a kill of the process lands, sooner or later, between a
// clone and the new thread's first instruction. Never exits by itself:
// the tracer's tests cancel it.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *quick(void *arg) { return arg; }

int main(void) {
	for (;;) {
		pthread_t t[4];
		for (int i = 0; i < 4; i++)
			if (pthread_create(&t[i], NULL, quick, NULL) != 0)
				return 2;
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
	}
}
