// spin_flag: a correct Rust program whose spawned thread waits for the
// main thread's AtomicBool with a pure spin (no syscall): the scheduler
// reaches it only by preempting it. Natively it prints "seen" and exits 0.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

fn main() {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let h = thread::spawn(move || {
        while !f.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        println!("seen");
    });
    flag.store(true, Ordering::Release);
    h.join().unwrap();
}
