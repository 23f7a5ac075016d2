// dlopen_churn: loads plugin.so, calls its locking function and unloads
// it again, five times: each load maps the library anew, usually where
// the previous one was unmapped.
//
// Expected stdout (exit status 0): "5 rounds\n"
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
	if (argc < 2)
		return 2;
	int rounds = 0;
	for (int i = 0; i < 5; i++) {
		void *h = dlopen(argv[1], RTLD_NOW);
		if (!h) {
			fprintf(stderr, "%s\n", dlerror());
			return 2;
		}
		int (*f)(void) = (int (*)(void))dlsym(h, "plugin_locked");
		if (!f || f() != 1)
			return 3;
		rounds++;
		dlclose(h);
	}
	printf("%d rounds\n", rounds);
	return 0;
}
