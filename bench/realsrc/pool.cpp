// pool.cpp: a fixed C++ thread pool (std::thread, std::mutex,
// std::condition_variable, std::future) running 200 small tasks on 4
// workers, the shape of a typical server's worker pool. Prints the sum;
// exit 0, or 1 with "FAIL" on stderr.
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

class Pool {
	std::mutex mu;
	std::condition_variable cv;
	std::queue<std::function<void()>> jobs;
	std::vector<std::thread> workers;
	bool done = false;

public:
	explicit Pool(int n)
	{
		for (int i = 0; i < n; i++)
			workers.emplace_back([this] {
				for (;;) {
					std::function<void()> job;
					{
						std::unique_lock<std::mutex> l(mu);
						cv.wait(l, [this] { return done || !jobs.empty(); });
						if (jobs.empty())
							return;
						job = std::move(jobs.front());
						jobs.pop();
					}
					job();
				}
			});
	}
	~Pool()
	{
		{
			std::lock_guard<std::mutex> l(mu);
			done = true;
		}
		cv.notify_all();
		for (auto &w : workers)
			w.join();
	}
	std::future<long> submit(std::function<long()> f)
	{
		auto task = std::make_shared<std::packaged_task<long()>>(std::move(f));
		auto fut = task->get_future();
		{
			std::lock_guard<std::mutex> l(mu);
			jobs.push([task] { (*task)(); });
		}
		cv.notify_one();
		return fut;
	}
};

int main()
{
	std::vector<std::future<long>> futs;
	long want = 0;
	{
		Pool p(4);
		for (long i = 0; i < 200; i++) {
			want += i * i;
			futs.push_back(p.submit([i] {
				long s = 0;
				for (long k = 0; k < 1000; k++)
					s += (i * k) % 7;
				return i * i + s * 0;
			}));
		}
		long got = 0;
		for (auto &f : futs)
			got += f.get();
		if (got != want) {
			std::fprintf(stderr, "FAIL sum %ld != %ld\n", got, want);
			return 1;
		}
		std::printf("pool: 200 tasks on 4 threads, sum=%ld\n", got);
	}
	return 0;
}
