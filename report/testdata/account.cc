// account: two threads deposit into one bank::Account with a
// read-modify-write whose window holds a write(2); when the other thread
// runs inside the window a deposit is lost (balance<6, exit 1). The C++
// guest of the report tests: the critical pair is named
// bank::Account::deposit(int) at the write's line.
#include <cstdio>
#include <thread>
#include <unistd.h>

namespace bank {
class Account {
 public:
  __attribute__((noinline)) void deposit(int n) {
    int b = balance_;
    if (write(STDOUT_FILENO, ".", 1) < 0) return;  // the window
    balance_ = b + n;
  }
  int balance() const { return balance_; }

 private:
  int balance_ = 0;
};
}  // namespace bank

int main() {
  bank::Account acct;
  auto work = [&acct] {
    for (int i = 0; i < 3; i++) acct.deposit(1);
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  std::printf("\nbalance=%d\n", acct.balance());
  return acct.balance() == 6 ? 0 : 1;
}
