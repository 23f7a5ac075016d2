// Command lost_update: two goroutines (GOMAXPROCS(4)) each add 3 to a
// shared counter with an unlocked read-modify-write:
//
//	v := counter.Load(); syscall.Getpid(); counter.Store(v + 1)
//
// Bug: the load and the store are each atomic, the increment is not (it
// should be counter.Add(1), or hold a mutex). There is no data race in the
// memory-model sense, so the race detector would not see it either.
// Window: the getpid(2) syscall between the load and the store. Goroutine
// b first does a job (CPU only, ~5 ms natively), so natively goroutine a
// has done its increments long before; a scheduler that switches threads
// at the getpid lets the other goroutine's thread load the same value, and
// an increment is lost.
// Failure: "lost update: counter=K, want 6" on stderr, exit 1.
// Correct output (stdout): "counter=6\n".
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

const n = 3

var counter atomic.Int64

// work is CPU-only (no syscalls): ~5 ms natively, free for a syscall-level
// scheduler.
func work(iters uint32) uint32 {
	h := uint32(2166136261)
	for i := uint32(0); i < iters; i++ {
		h = (h ^ i) * 16777619
	}
	return h
}

func worker(job uint32, wg *sync.WaitGroup) {
	defer wg.Done()
	if work(job) == 1 {
		fmt.Fprintln(os.Stderr, "unlucky hash")
	}
	for i := 0; i < n; i++ {
		v := counter.Load()
		syscall.Getpid() // e.g. a log call: a real syscall in the window
		counter.Store(v + 1)
	}
}

func main() {
	runtime.GOMAXPROCS(4)
	var wg sync.WaitGroup
	wg.Add(2)
	go worker(1000, &wg)
	go worker(5_000_000, &wg)
	wg.Wait()
	if c := counter.Load(); c != 2*n {
		fmt.Fprintf(os.Stderr, "lost update: counter=%d, want %d\n", c, 2*n)
		os.Exit(1)
	}
	fmt.Printf("counter=%d\n", counter.Load())
}
