// dlopen_lock: loads plugin.so with dlopen and calls its locking function
// twice. The program itself imports no pthread mutex function, so the
// sync points of libc's pthread_mutex_lock are planted only once the
// plugin, which imports it, is mapped.
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
	if (argc < 2) return 2;
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h) { fprintf(stderr, "%s\n", dlerror()); return 2; }
	int (*f)(void) = (int (*)(void))dlsym(h, "plugin_locked");
	if (!f) return 2;
	f();
	printf("locked %d times\n", f());
	return 0;
}
