// Three nested calls to a write(2): the stack at the write is main ->
// outer -> inner -> write. The LINE comments mark the calls.
#include <unistd.h>

__attribute__((noinline)) void inner(int n) {
  char c = '0' + n;
  write(1, &c, 1); // LINE inner
}

__attribute__((noinline)) void outer(int n) {
  inner(n + 1); // LINE outer
  __asm__ volatile("" ::: "memory");
}

int main(void) {
  outer(1); // LINE main
  __asm__ volatile("" ::: "memory"); // no tail call
  return 0;
}
