"""check_then_act.py (RACY): a lazily filled cache without a lock. Two
threads look up the same key; each checks whether it is cached, logs the
miss (a write to stdout: the GIL is released around it) and builds the
value. If both check before either stores, the value is built twice:
"built 2 times", exit 1. No sleep in the window: only the log line."""
import sys
import threading

cache = {}
built = 0


def get(key):
    global built
    if key not in cache:
        print("miss", key, flush=True)
        built += 1
        cache[key] = key.upper()
    return cache[key]


ts = [threading.Thread(target=get, args=("config",)) for _ in range(2)]
for t in ts:
    t.start()
for t in ts:
    t.join()
if built != 1:
    print("built %d times" % built)
    sys.exit(1)
print("built once")
