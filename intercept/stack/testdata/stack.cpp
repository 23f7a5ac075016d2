// The stack at the write is main -> geo::Shape<int>::draw -> geo::emit.
#include <unistd.h>

namespace geo {
__attribute__((noinline)) void emit(char c) {
  write(1, &c, 1); // LINE emit
}
template <typename T>
struct Shape {
  T sides;
  __attribute__((noinline)) void draw() const {
    emit('0' + sides); // LINE draw
    __asm__ volatile("" ::: "memory");
  }
};
}  // namespace geo

int main() {
  geo::Shape<int> s{3};
  s.draw(); // LINE main
  __asm__ volatile("" ::: "memory"); // no tail call
  return 0;
}
