// A lost update through Rust functions, for -yield-at with Rust paths. Two
// threads add 1 to a counter: load it (bank::load), then store it plus
// one (bank::store). No syscall and no lock lie between; a point at
// names::bank::store splits the window. Correct output: "balance=2". The
// bug: "lost update: balance=1", exit 1.
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

static BALANCE: AtomicU64 = AtomicU64::new(0);

mod bank {
    use super::BALANCE;
    use std::sync::atomic::Ordering;

    #[inline(never)]
    pub fn load() -> u64 {
        BALANCE.load(Ordering::SeqCst)
    }

    #[inline(never)]
    pub fn store(v: u64) {
        BALANCE.store(v, Ordering::SeqCst)
    }
}

fn main() {
    let workers: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(|| {
                let v = bank::load();
                bank::store(v + 1);
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let b = BALANCE.load(Ordering::SeqCst);
    if b != 2 {
        println!("lost update: balance={}", b);
        std::process::exit(1);
    }
    println!("balance={}", b);
}
