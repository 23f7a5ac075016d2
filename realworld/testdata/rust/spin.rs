// spin.rs: a thread busy-waits on an AtomicBool (std::hint::spin_loop, no
// syscall) until another thread sets it after a short sleep; then a
// spin-then-park handoff through a Mutex<bool>. Correct in every
// schedule; deterministic output; exit 0.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

fn main() {
    let flag = Arc::new(AtomicBool::new(false));
    let f2 = Arc::clone(&flag);
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(1));
        f2.store(true, Ordering::Release);
    });
    while !flag.load(Ordering::Acquire) {
        std::hint::spin_loop();
    }
    h.join().unwrap();
    println!("AtomicBool spin: flag set");

    let f3 = Arc::new(AtomicBool::new(false));
    let f4 = Arc::clone(&f3);
    let waiter = thread::spawn(move || {
        while !f4.load(Ordering::Acquire) {
            thread::park_timeout(Duration::from_millis(5));
        }
    });
    thread::sleep(Duration::from_millis(20));
    f3.store(true, Ordering::Release);
    waiter.thread().unpark();
    waiter.join().unwrap();
    println!("park_timeout loop: flag seen");
}
