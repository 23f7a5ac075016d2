// plugin: a library that locks a mutex; its importer (dlopen_lock.c)
// does not import pthread_mutex_lock itself.
#include <pthread.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int n;

int plugin_locked(void) {
	pthread_mutex_lock(&mu);
	int v = ++n;
	pthread_mutex_unlock(&mu);
	return v;
}
