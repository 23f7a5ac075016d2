// world: what a run reads from its world. "uptime": starts 1 to 7
// threads as /proc/uptime says; "counter FILE": reads a number from FILE,
// writes it back plus one, and starts 1 or 2 threads as it is even or
// odd; "cpus N": exits 0 if every way of counting CPUs says N.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static void *worker(void *arg) {
	write(1, "w\n", 2);
	return arg;
}

static int threads(int n) {
	pthread_t t[8];
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], 0, worker, 0);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], 0);
	return 0;
}

static int count(const char *path, const char *prefix) {
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, prefix, strlen(prefix)) == 0 && (prefix[0] != 'c' || line[3] != ' '))
			n++;
	fclose(f);
	return n;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "uptime") == 0) {
		double up = 0;
		FILE *f = fopen("/proc/uptime", "r");
		if (!f || fscanf(f, "%lf", &up) != 1)
			return 3;
		return threads(1 + (long)(up * 100) % 7);
	}
	if (argc > 2 && strcmp(argv[1], "counter") == 0) {
		long v = 0;
		FILE *f = fopen(argv[2], "r");
		if (f) {
			if (fscanf(f, "%ld", &v) != 1)
				v = 0;
			fclose(f);
		}
		f = fopen(argv[2], "w");
		if (!f)
			return 3;
		fprintf(f, "%ld\n", v + 1);
		fclose(f);
		return threads(1 + v % 2);
	}
	if (argc > 2 && strcmp(argv[1], "cpus") == 0) {
		int n = atoi(argv[2]);
		int cpuinfo = count("/proc/cpuinfo", "processor");
		int stat = count("/proc/stat", "cpu");
		printf("get_nprocs %d get_nprocs_conf %d onln %ld conf %ld cpuinfo %d stat %d\n", get_nprocs(), get_nprocs_conf(),
		       sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_NPROCESSORS_CONF), cpuinfo, stat);
		return get_nprocs() == n && get_nprocs_conf() == n && sysconf(_SC_NPROCESSORS_ONLN) == n &&
				       sysconf(_SC_NPROCESSORS_CONF) == n && cpuinfo == n && stat == n
			   ? 0
			   : 1;
	}
	return 2;
}
