// Command mutex_lost_update: two goroutines (GOMAXPROCS(4)) each add 1 to a
// shared counter three times; every access holds a sync.Mutex, but the
// read and the write-back are in two critical sections:
//
//	mu.Lock(); v := counter; mu.Unlock(); mu.Lock(); counter = v + 1; mu.Unlock()
//
// Bug: the increment is not atomic although each access is locked (and
// there is no data race: the race detector is silent).
// Window: between the first Unlock and the second Lock: no syscall (an
// uncontended sync.Mutex never enters the kernel). Only points at the
// sync package's and runtime's lock entry points (-points sync) reach it.
// Goroutine b first does a job (CPU only, ~2 ms natively), so natively a
// is done before b starts.
// Failure: "lost update: counter=K, want 6" on stderr, exit 1.
// Correct output (stdout): "counter=6\n".
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
)

const n = 3

var (
	mu      sync.Mutex
	counter int
)

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
		mu.Lock()
		v := counter
		mu.Unlock()
		mu.Lock()
		counter = v + 1
		mu.Unlock()
	}
}

func main() {
	runtime.GOMAXPROCS(4)
	var wg sync.WaitGroup
	wg.Add(2)
	go worker(1000, &wg)
	go worker(2_000_000, &wg)
	wg.Wait()
	mu.Lock()
	c := counter
	mu.Unlock()
	if c != 2*n {
		fmt.Fprintf(os.Stderr, "lost update: counter=%d, want %d\n", c, 2*n)
		os.Exit(1)
	}
	fmt.Printf("counter=%d\n", c)
}
