// An inlined call: main -> step -> put (inlined into step) -> write. The
// LINE comments mark the calls.
#include <unistd.h>

static inline __attribute__((always_inline)) void put(char c) {
  write(1, &c, 1); // LINE put
}

__attribute__((noinline)) void step(int n) {
  put('0' + n); // LINE step
  __asm__ volatile("" ::: "memory");
}

int main(void) {
  step(1); // LINE main
  __asm__ volatile("" ::: "memory"); // no tail call
  return 0;
}
