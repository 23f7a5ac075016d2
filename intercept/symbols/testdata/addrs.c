// addrs prints the runtime addresses of its own function and variables
// and of a libc function, then follows commands on stdin, one per line:
//
//	dlopen PATH   dlopen PATH and print "plug_fn=%p plug_var=%p"
//	dlclose       dlclose it and print "closed"
//	quit          exit (status 0 if counter == 2)
//
// The resolver tests compare those addresses with what intercept/symbols
// computes from the binary and /proc/PID/maps. Lines marked LINE(name)
// are looked up by the line-table tests.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

int counter;                         // a global: Data("counter")
static long hidden = 7;              // a static (local) variable
__thread int tls_var;                // thread-local: Data refuses it
pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static inline __attribute__((always_inline)) void bump(void) {
	counter++; // LINE(bump)
}

void *worker(void *arg) {
	pthread_mutex_lock(&mu); // LINE(lock)
	bump();
	tls_var++;
	pthread_mutex_unlock(&mu);
	return arg;
}

// LINE(comment): no code here.

static void *libc_fn(const char *name) {
#ifdef STATIC_BUILD
	(void)name;
	return (void *)pthread_mutex_lock;
#else
	// Through libc's own handle: in a non-PIE executable &func may be a
	// canonical PLT entry in the executable instead of libc's code.
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	return libc ? dlsym(libc, name) : NULL;
#endif
}

int main(void) {
	pthread_t t;
	char line[4096];
	void *h = NULL;

	printf("worker=%p counter=%p hidden=%p pthread_mutex_lock=%p\n", (void *)worker,
	       (void *)&counter, (void *)&hidden, libc_fn("pthread_mutex_lock"));
	fflush(stdout);
	pthread_create(&t, 0, worker, 0);
	pthread_join(t, 0);
	bump();
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "dlopen ", 7) == 0) {
			h = dlopen(line + 7, RTLD_NOW);
			if (h)
				printf("plug_fn=%p plug_var=%p\n", dlsym(h, "plug_fn"), dlsym(h, "plug_var"));
			else
				printf("error %s\n", dlerror());
		} else if (strcmp(line, "dlclose") == 0 && h) {
			dlclose(h);
			h = NULL;
			printf("closed\n");
		} else if (strcmp(line, "quit") == 0) {
			break;
		} else {
			printf("unknown command %s\n", line);
		}
		fflush(stdout);
	}
	return counter == 2 && hidden == 7 ? 0 : 1;
}
