// Command goroutines is a schedfuzz guest: a Go program with several OS
// threads and goroutines communicating over channels.
//
// Exercises: the Go runtime under the tracer: GOMAXPROCS(4) (several Ms
// created with clone, futex sleeps and wakeups, signal-based preemption
// with SIGURG, the sysmon thread), eight pipeline goroutines passing values
// over unbuffered channels, a time.Sleep (timers, netpoller/epoll or
// futex timeouts) and a sync.WaitGroup.
//
// A source goroutine sleeps 10ms, then sends 1..1000 into an eight-stage
// pipeline; stage i maps v to v*31+i. main folds the values leaving the
// pipeline (in order: each stage is a single goroutine) into a checksum.
// The result does not depend on scheduling.
//
// Expected stdout (exit status 0):
//
//	checksum a3271403a6bc0d4d
//	go done
//
// (Cases in package testprog computes the same value independently.)
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

const (
	stages = 8
	items  = 1000
)

func stage(i int, in <-chan uint64, out chan<- uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	for v := range in {
		out <- v*31 + uint64(i)
	}
	close(out)
}

func main() {
	runtime.GOMAXPROCS(4)

	var wg sync.WaitGroup
	chans := make([]chan uint64, stages+1)
	for i := range chans {
		chans[i] = make(chan uint64)
	}
	for i := 0; i < stages; i++ {
		wg.Add(1)
		go stage(i, chans[i], chans[i+1], &wg)
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(10 * time.Millisecond)
		for v := uint64(1); v <= items; v++ {
			chans[0] <- v
		}
		close(chans[0])
	}()

	var sum uint64 = 14695981039346656037
	n := 0
	for v := range chans[stages] {
		sum = (sum ^ v) * 1099511628211
		n++
	}
	wg.Wait()
	if n != items {
		panic(fmt.Sprintf("got %d values, want %d", n, items))
	}
	fmt.Printf("checksum %016x\n", sum)
	fmt.Println("go done")
}
