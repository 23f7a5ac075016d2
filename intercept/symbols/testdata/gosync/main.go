// gosync exercises the Go synchronization entry points the sync point
// catalog (sched/points) plants breakpoints at, a known number of times
// each, then prints addresses for the resolver tests and, with -block,
// waits for a byte on stdin.
//
// Counts, for -workers W -iters K (defaults 4, 100):
//
//	sync.(*Mutex).Lock / Unlock        W*K in incr (inlined), +2 in main
//	sync.(*RWMutex).RLock / RUnlock    W*K (inlined)
//	sync.(*RWMutex).Lock / Unlock      1
//	sync.(*Mutex).TryLock              1
//	sync.(*WaitGroup).Add              W (plus W Done = Add(-1)), Wait 1, Go 1
//	sync.(*Cond).Wait 1, Signal 1
//	sync.(*Once).Do                    3 (doSlow 1)
//	chan send (chansend1)              W (+1 buffered)
//	select (selectgo)                  W
//	chanrecv2 1, selectnbrecv 1, closechan 1
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"reflect"
	"sync"
)

var (
	mu      sync.Mutex
	rw      sync.RWMutex
	counter int
	once    sync.Once
)

//go:noinline
func incr() {
	mu.Lock()
	counter++
	mu.Unlock()
}

func main() {
	workers := flag.Int("workers", 4, "goroutines")
	iters := flag.Int("iters", 100, "iterations per goroutine")
	block := flag.Bool("block", false, "print addresses and wait for a byte on stdin")
	flag.Parse()

	if *block {
		fmt.Printf("incr=%#x counter=%p\n", reflect.ValueOf(incr).Pointer(), &counter)
	}

	var wg sync.WaitGroup
	ch := make(chan int)
	done := make(chan struct{})
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range *iters {
				incr()
				rw.RLock()
				_ = counter
				rw.RUnlock()
			}
			ch <- 1
		}()
	}
	collected := make(chan int)
	go func() {
		n := 0
		for n < *workers {
			select {
			case v := <-ch:
				n += v
			case <-done:
			}
		}
		collected <- n
	}()
	wg.Wait()
	n := <-collected

	rw.Lock()
	counter++
	rw.Unlock()

	if mu.TryLock() {
		mu.Unlock()
	}

	ready := false
	cond := sync.NewCond(&mu)
	wg.Go(func() {
		mu.Lock()
		for !ready {
			cond.Wait()
		}
		mu.Unlock()
	})
	mu.Lock()
	ready = true
	cond.Signal()
	mu.Unlock()
	wg.Wait()

	for range 3 {
		once.Do(func() { counter++ })
	}

	bc := make(chan int, 2)
	bc <- 1
	v, ok := <-bc
	select {
	case <-bc:
		v++
	default:
	}
	close(bc)

	want := *workers**iters + 2
	fmt.Printf("counter=%d collected=%d v=%d ok=%v\n", counter, n, v, ok)
	if *block {
		bufio.NewReader(os.Stdin).ReadByte()
	}
	if counter != want {
		os.Exit(1)
	}
}
