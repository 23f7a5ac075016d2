"""threads.py: CPython threads: a Lock-protected counter, a Queue between
producers and consumers, a Condition-guarded handoff, an Event with a
timeout, and concurrent.futures.ThreadPoolExecutor. Deterministic output;
exit 0, or 1 with "FAIL ..." on stderr."""
import concurrent.futures
import queue
import sys
import threading
import time


def check(ok, what):
    if not ok:
        print("FAIL", what, file=sys.stderr)
        sys.exit(1)


def lock_counter():
    counter = 0
    lock = threading.Lock()

    def add():
        nonlocal counter
        for _ in range(500):
            with lock:
                counter += 1

    ts = [threading.Thread(target=add) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(counter == 2000, "lock counter")
    print("lock: counter=%d" % counter)


def producer_consumer():
    q = queue.Queue(maxsize=8)
    results = []
    rlock = threading.Lock()

    def produce(base):
        for i in range(50):
            q.put(base + i)

    def consume():
        while True:
            v = q.get()
            if v is None:
                return
            with rlock:
                results.append(v)

    cs = [threading.Thread(target=consume) for _ in range(2)]
    ps = [threading.Thread(target=produce, args=(b,)) for b in (0, 1000)]
    for t in cs + ps:
        t.start()
    for t in ps:
        t.join()
    for _ in cs:
        q.put(None)
    for t in cs:
        t.join()
    check(sorted(results) == list(range(50)) + list(range(1000, 1050)), "queue items")
    print("queue: %d items, sum=%d" % (len(results), sum(results)))


def condition_handoff():
    cond = threading.Condition()
    box = []

    def waiter():
        with cond:
            while not box:
                cond.wait()
            box.append("seen")

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.01)
    with cond:
        box.append("item")
        cond.notify()
    t.join()
    check(box == ["item", "seen"], "condition")
    with cond:
        start = time.monotonic()
        woke = cond.wait(timeout=0.05)
        check(not woke and time.monotonic() - start >= 0.05, "condition timeout")
    print("condition: handed off; wait(timeout=0.05) timed out")


def event_timeout():
    ev = threading.Event()
    check(not ev.wait(0.03), "event timeout")
    threading.Timer(0.02, ev.set).start()
    check(ev.wait(5), "event set by a Timer")
    print("event: timed out, then set by a threading.Timer")


def pool():
    def work(n):
        time.sleep(0.001 * n)
        return n * n

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        squares = list(ex.map(work, range(10)))
        futs = [ex.submit(work, n) for n in range(5)]
        done = sorted(f.result() for f in concurrent.futures.as_completed(futs))
    check(squares == [n * n for n in range(10)] and done == [0, 1, 4, 9, 16], "pool")
    print("ThreadPoolExecutor: sum of squares=%d, as_completed=%s" % (sum(squares), done))


lock_counter()
producer_consumer()
condition_handoff()
event_timeout()
pool()
