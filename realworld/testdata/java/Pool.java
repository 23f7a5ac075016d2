// Pool.java: a fixed thread pool of 4 (ExecutorService) running 8
// Callables, a CountDownLatch, a synchronized counter and a
// ScheduledExecutorService delay. Deterministic output; exit 0, or 1 with
// "FAIL ..." on stderr.
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.*;

public class Pool {
    private static int counter;

    private static synchronized void inc() { counter++; }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.err.println("FAIL " + what);
            System.exit(1);
        }
    }

    public static void main(String[] args) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Long>> fs = new ArrayList<>();
        for (long k = 1; k <= 8; k++) {
            final long n = k;
            fs.add(pool.submit(() -> {
                long s = 0;
                for (long i = 1; i <= n * 1000; i++) s += i;
                return s;
            }));
        }
        long total = 0;
        for (Future<Long> f : fs) total += f.get();
        check(total == 102018000L, "pool sum " + total);
        System.out.println("pool: 8 tasks, total=" + total);

        CountDownLatch latch = new CountDownLatch(4);
        for (int t = 0; t < 4; t++) {
            pool.execute(() -> {
                for (int i = 0; i < 1000; i++) inc();
                latch.countDown();
            });
        }
        check(latch.await(10, TimeUnit.SECONDS), "latch");
        check(counter == 4000, "counter " + counter);
        System.out.println("latch: counter=" + counter);
        pool.shutdown();
        check(pool.awaitTermination(10, TimeUnit.SECONDS), "shutdown");

        ScheduledExecutorService ses = Executors.newSingleThreadScheduledExecutor();
        long t0 = System.nanoTime();
        ScheduledFuture<String> sf = ses.schedule(() -> "tick", 50, TimeUnit.MILLISECONDS);
        check(sf.get().equals("tick") && System.nanoTime() - t0 >= 50_000_000L, "scheduled");
        ses.shutdown();
        System.out.println("scheduled: fired after 50ms");
    }
}
