// threads.rs: std::thread, mpsc channels, Arc<Mutex>, Condvar with
// wait_timeout, thread::sleep, RwLock and Barrier; no crates.
// Deterministic output; exit 0, or panics (exit 101) on a wrong result.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    // mpsc: four producers, one consumer.
    let (tx, rx) = mpsc::channel();
    let mut hs = Vec::new();
    for id in 0..4u64 {
        let tx = tx.clone();
        hs.push(thread::spawn(move || {
            for i in 0..250u64 {
                tx.send(id * 1000 + i).unwrap();
            }
        }));
    }
    drop(tx);
    let total: u64 = rx.iter().sum();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(total, 4 * (0..250u64).sum::<u64>() + 250 * (1000 + 2000 + 3000));
    println!("mpsc: sum={}", total);

    // Arc<Mutex<u64>>: four adders.
    let m = Arc::new(Mutex::new(0u64));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let m = Arc::clone(&m);
            thread::spawn(move || {
                for _ in 0..1000 {
                    *m.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    println!("mutex: counter={}", *m.lock().unwrap());

    // Condvar: a flag set after a 10 ms sleep wakes the waiter; a wait
    // nobody notifies times out after its duration.
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p2 = Arc::clone(&pair);
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        *p2.0.lock().unwrap() = true;
        p2.1.notify_one();
    });
    let (lock, cv) = &*pair;
    let mut ready = lock.lock().unwrap();
    while !*ready {
        ready = cv.wait(ready).unwrap();
    }
    drop(ready);
    h.join().unwrap();
    let start = Instant::now();
    let g = lock.lock().unwrap();
    let (_g, res) = cv.wait_timeout(g, Duration::from_millis(50)).unwrap();
    assert!(res.timed_out() && start.elapsed() >= Duration::from_millis(50));
    println!("condvar: notified; wait_timeout timed out after 50ms");

    // RwLock readers and a Barrier.
    let data = Arc::new(RwLock::new(vec![1, 2, 3]));
    let barrier = Arc::new(Barrier::new(3));
    let seen = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let (data, barrier, seen) = (Arc::clone(&data), Arc::clone(&barrier), Arc::clone(&seen));
            thread::spawn(move || {
                barrier.wait();
                let v = data.read().unwrap();
                seen.fetch_add(v.iter().sum::<usize>(), Ordering::SeqCst);
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    data.write().unwrap().push(4);
    assert_eq!(seen.load(Ordering::SeqCst), 18);
    println!("rwlock+barrier: readers saw 18, now {} items", data.read().unwrap().len());
}
