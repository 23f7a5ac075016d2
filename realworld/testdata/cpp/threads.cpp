// threads.cpp: std::thread, std::mutex, std::condition_variable (a bounded
// producer/consumer queue), std::async, and condition_variable::wait_for
// timing out. Deterministic output; exit 0, or 1 with "FAIL ..." on stderr.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

static void check(bool ok, const char *what)
{
	if (!ok) {
		std::fprintf(stderr, "FAIL %s\n", what);
		std::exit(1);
	}
}

class Queue {
	std::mutex mu;
	std::condition_variable not_empty, not_full;
	std::deque<int> q;
	static constexpr size_t cap = 4;

public:
	void push(int v)
	{
		std::unique_lock<std::mutex> l(mu);
		not_full.wait(l, [&] { return q.size() < cap; });
		q.push_back(v);
		not_empty.notify_one();
	}
	int pop()
	{
		std::unique_lock<std::mutex> l(mu);
		not_empty.wait(l, [&] { return !q.empty(); });
		int v = q.front();
		q.pop_front();
		not_full.notify_one();
		return v;
	}
};

int main()
{
	// Four threads add to a shared counter under a mutex.
	long counter = 0;
	std::mutex mu;
	std::vector<std::thread> ts;
	for (int i = 0; i < 4; i++)
		ts.emplace_back([&] {
			for (int j = 0; j < 250; j++) {
				std::lock_guard<std::mutex> g(mu);
				counter++;
			}
		});
	for (auto &t : ts)
		t.join();
	check(counter == 1000, "mutex counter");
	std::printf("mutex: counter=%ld\n", counter);

	// Two producers, two consumers, a queue of capacity 4; -1 ends a consumer.
	Queue q;
	long sum[2] = {0, 0};
	std::thread c0([&] { for (int v; (v = q.pop()) >= 0;) sum[0] += v; });
	std::thread c1([&] { for (int v; (v = q.pop()) >= 0;) sum[1] += v; });
	std::thread p0([&] { for (int i = 1; i <= 100; i++) q.push(i); });
	std::thread p1([&] { for (int i = 101; i <= 200; i++) q.push(i); });
	p0.join();
	p1.join();
	q.push(-1);
	q.push(-1);
	c0.join();
	c1.join();
	check(sum[0] + sum[1] == 20100, "queue sum");
	std::printf("condition_variable queue: sum=%ld\n", sum[0] + sum[1]);

	// std::async results.
	std::vector<std::future<long>> fs;
	for (long k = 1; k <= 4; k++)
		fs.push_back(std::async(std::launch::async, [k] {
			std::this_thread::sleep_for(std::chrono::milliseconds(5 * k));
			return k * k;
		}));
	long sq = 0;
	for (auto &f : fs)
		sq += f.get();
	check(sq == 30, "async");
	std::printf("async: sum of squares=%ld\n", sq);

	// wait_for with nobody notifying times out after its duration.
	std::condition_variable cv;
	std::unique_lock<std::mutex> l(mu);
	auto t0 = std::chrono::steady_clock::now();
	bool woke = cv.wait_for(l, std::chrono::milliseconds(50), [] { return false; });
	check(!woke && std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(50), "wait_for");
	std::printf("wait_for: timed out after 50ms\n");
	return 0;
}
