// bank_transfer: a teller moves money between two accounts, each with its
// own lock, while an auditor checks that the total is constant:
//
//	teller:  lock(A); a -= 10; unlock(A);   lock(B); b += 10; unlock(B);
//	auditor: lock(A); lock(B); total = a + b; unlock(B); unlock(A);
//
// Bug: the transfer is not atomic: between unlock(A) and lock(B) the
// money is in neither account, and the auditor, holding both locks, sees
// a total of 90 instead of 100.
// Window: between the teller's unlock(A) and lock(B): no syscall. Only
// points at the lock calls (-points sync) reach it. The auditor first
// does a job (CPU only, ~2 ms natively), so natively the transfers are
// done before it looks.
// Failure: "audit: total=90, want 100" on stderr, exit 1.
// Correct output (stdout): "audits ok, a=20 b=80\n".
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t ma = PTHREAD_MUTEX_INITIALIZER, mb = PTHREAD_MUTEX_INITIALIZER;
static int a = 50, b = 50;
static int bad_total = -1;

static unsigned work(unsigned n) {
  unsigned h = 2166136261u;
  for (unsigned i = 0; i < n; i++) h = (h ^ i) * 16777619u;
  return h;
}

static void *teller(void *arg) {
  (void)arg;
  for (int i = 0; i < 3; i++) {
    pthread_mutex_lock(&ma);
    a -= 10;
    pthread_mutex_unlock(&ma);
    pthread_mutex_lock(&mb);
    b += 10;
    pthread_mutex_unlock(&mb);
  }
  return NULL;
}

static void *auditor(void *arg) {
  unsigned *job = arg;
  *job = work(*job);
  for (int i = 0; i < 3; i++) {
    pthread_mutex_lock(&ma);
    pthread_mutex_lock(&mb);
    int total = a + b;
    pthread_mutex_unlock(&mb);
    pthread_mutex_unlock(&ma);
    if (total != 100 && bad_total < 0) bad_total = total;
  }
  return NULL;
}

int main(void) {
  pthread_t t, u;
  unsigned job = 2000000;
  pthread_create(&t, NULL, teller, NULL);
  pthread_create(&u, NULL, auditor, &job);
  pthread_join(t, NULL);
  pthread_join(u, NULL);
  if (bad_total >= 0) {
    fprintf(stderr, "audit: total=%d, want 100\n", bad_total);
    return 1;
  }
  printf("audits ok, a=%d b=%d\n", a, b);
  return 0;
}
