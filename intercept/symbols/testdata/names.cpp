// A lost update through C++ methods, for -yield-at with C++ names. Two
// threads deposit 1 into one account: deposit reads the balance (get),
// then writes it back plus one (set). There is no syscall and no lock
// between get and set; a point at bank::Account<long>::set (named
// "bank::Account::set" or "bank::Account<long>::set") splits the window.
// Correct output: "balance=2". The bug: "lost update: balance=1", exit 1.
#include <cstdio>
#include <thread>

namespace bank {
template <typename T>
class Account {
 public:
  __attribute__((noinline)) T get() const { return balance_; }
  __attribute__((noinline)) void set(T v) { balance_ = v; }

 private:
  volatile T balance_ = 0;
};

struct Teller {
  __attribute__((noinline)) static void deposit(Account<long>& a, long n) {
    long v = a.get();
    a.set(v + n);
  }
};
}  // namespace bank

int main() {
  bank::Account<long> acct;
  std::thread t1([&] { bank::Teller::deposit(acct, 1); });
  std::thread t2([&] { bank::Teller::deposit(acct, 1); });
  t1.join();
  t2.join();
  if (acct.get() != 2) {
    std::printf("lost update: balance=%ld\n", acct.get());
    return 1;
  }
  std::printf("balance=%ld\n", acct.get());
  return 0;
}
