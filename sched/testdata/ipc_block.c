// ipc_block: calls that wait for another guest process or thread to change
// some state: blocking opens of a FIFO (either end first, and a reader
// when a writer already holds it), flock and fcntl(F_SETLKW) locks held
// across a yield, OFD locks between threads, SysV message queues (empty
// and full) and semaphores, POSIX message queues (and a receive that times
// out). Each waiter would sleep in the kernel while the process it waits
// for is held by the scheduler. One line per case, the same in every
// schedule.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/ipc_blockXXXXXX";
static char fifo[96], file[96];

static int child_ok(pid_t pid) {
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

// The reader opens first (the writer sleeps) or last (the reader sleeps).
static void fifo_pair(int reader_late) {
	pid_t pid = fork();
	if (pid == 0) {
		if (!reader_late)
			usleep(2000);
		int fd = open(fifo, O_WRONLY);
		write(fd, "hello", 5);
		close(fd);
		_exit(0);
	}
	if (reader_late)
		usleep(2000);
	int fd = open(fifo, O_RDONLY);
	char buf[16] = {0};
	size_t got = 0;
	ssize_t n;
	while ((n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
		got += n;
	close(fd);
	printf("fifo, %s opens first: read \"%s\", writer %s\n", reader_late ? "writer" : "reader", buf,
	       child_ok(pid) ? "ok" : "FAILED");
}

// A reader's blocking open returns at once when a writer holds the FIFO.
static void fifo_held(void) {
	int w = open(fifo, O_RDWR);
	int r = open(fifo, O_RDONLY);
	write(w, "x", 1);
	char c = 0;
	read(r, &c, 1);
	printf("fifo held O_RDWR, then opened for reading: read '%c'\n", c);
	close(r);
	close(w);
}

// Two processes add to a counter in a file under a lock, yielding while
// they hold it: lock(fd) is flock or fcntl.
static int use_fcntl;

static void lock(int fd, int on) {
	if (use_fcntl) {
		struct flock fl = {.l_type = on ? F_WRLCK : F_UNLCK, .l_whence = SEEK_SET};
		if (fcntl(fd, F_SETLKW, &fl) != 0)
			perror("F_SETLKW");
	} else if (flock(fd, on ? LOCK_EX : LOCK_UN) != 0)
		perror("flock");
}

static void add(int fd) {
	for (int i = 0; i < 10; i++) {
		lock(fd, 1);
		int v = 0;
		pread(fd, &v, sizeof v, 0);
		usleep(100); // a point with the lock held
		v++;
		pwrite(fd, &v, sizeof v, 0);
		lock(fd, 0);
	}
}

static void locked_counter(const char *what) {
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int zero = 0;
	pwrite(fd, &zero, sizeof zero, 0);
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = open(file, O_RDWR); // flock locks belong to the open
		add(cfd);
		_exit(0);
	}
	add(fd);
	int ok = child_ok(pid), v = 0;
	pread(fd, &v, sizeof v, 0);
	printf("%s: counter %d, child %s\n", what, v, ok ? "ok" : "FAILED");
	close(fd);
}

// OFD locks belong to the open file description: threads with their own
// opens exclude each other.
static int ofd_count;
static void *ofd_adder(void *arg) {
	(void)arg;
	int fd = open(file, O_RDWR);
	for (int i = 0; i < 10; i++) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		fcntl(fd, F_OFD_SETLKW, &fl);
		int v = ofd_count;
		usleep(100);
		ofd_count = v + 1;
		fl.l_type = F_UNLCK;
		fcntl(fd, F_OFD_SETLKW, &fl);
	}
	close(fd);
	return NULL;
}

static void ofd_locks(void) {
	pthread_t a, b;
	pthread_create(&a, NULL, ofd_adder, NULL);
	pthread_create(&b, NULL, ofd_adder, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("F_OFD_SETLKW between threads: counter %d\n", ofd_count);
}

struct msg {
	long type;
	char text[32];
};

static void sysv_msg(void) {
	int q = msgget(IPC_PRIVATE, 0600);
	struct msqid_ds ds;
	msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 64; // two 32-byte messages fill it
	msgctl(q, IPC_SET, &ds);
	pid_t pid = fork();
	if (pid == 0) {
		struct msg m = {.type = 1};
		for (int i = 0; i < 6; i++) {
			snprintf(m.text, sizeof m.text, "m%d", i);
			if (msgsnd(q, &m, sizeof m.text, 0) != 0)
				_exit(1);
		}
		_exit(0);
	}
	usleep(1000); // the sender fills the queue and waits
	char got[64] = "";
	for (int i = 0; i < 6; i++) {
		struct msg m;
		if (msgrcv(q, &m, sizeof m.text, 0, 0) < 0)
			break;
		strcat(got, m.text);
	}
	printf("SysV message queue, full then empty: %s, sender %s\n", got, child_ok(pid) ? "ok" : "FAILED");
	msgctl(q, IPC_RMID, NULL);
}

static void sysv_sem(void) {
	int s = semget(IPC_PRIVATE, 1, 0600);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(1000);
		struct sembuf up = {0, 1, 0};
		semop(s, &up, 1);
		_exit(0);
	}
	struct sembuf down = {0, -1, 0};
	int r = semop(s, &down, 1);
	struct timespec ts = {0, 20 * 1000 * 1000};
	int t = semtimedop(s, &down, 1, &ts);
	int e = errno;
	printf("SysV semaphore: wait %d, timed wait %d %s, poster %s\n", r, t, t < 0 ? strerror(e) : "",
	       child_ok(pid) ? "ok" : "FAILED");
	semctl(s, 0, IPC_RMID);
}

static void posix_mq(void) {
	char name[64];
	snprintf(name, sizeof name, "/ipc_block-%d", getpid());
	struct mq_attr attr = {.mq_maxmsg = 2, .mq_msgsize = 16};
	mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	if (q < 0) {
		perror("mq_open");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 5; i++) {
			char m[16];
			snprintf(m, sizeof m, "q%d", i);
			if (mq_send(q, m, strlen(m) + 1, 0) != 0)
				_exit(1);
		}
		_exit(0);
	}
	usleep(1000); // the sender fills the queue and waits
	char got[64] = "";
	for (int i = 0; i < 5; i++) {
		char m[16];
		if (mq_receive(q, m, sizeof m, NULL) < 0)
			break;
		strcat(got, m);
	}
	int ok = child_ok(pid);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 30 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	char m[16];
	ssize_t r = mq_timedreceive(q, m, sizeof m, NULL, &ts);
	int e = errno;
	printf("POSIX message queue, full then empty: %s, sender %s; timed receive %zd %s\n", got, ok ? "ok" : "FAILED",
	       r, r < 0 ? strerror(e) : "");
	mq_close(q);
	mq_unlink(name);
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(dir))
		return 1;
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	snprintf(file, sizeof file, "%s/counter", dir);
	mkfifo(fifo, 0600);
	fifo_pair(0);
	fifo_pair(1);
	fifo_held();
	use_fcntl = 0;
	locked_counter("flock between processes");
	use_fcntl = 1;
	locked_counter("fcntl(F_SETLKW) between processes");
	ofd_locks();
	sysv_msg();
	sysv_sem();
	posix_mq();
	unlink(fifo);
	unlink(file);
	rmdir(dir);
	return 0;
}
