//go:build ignore

// leftover: the Go version of leftover.c: os.CreateTemp, a lost update,
// and os.Exit before the deferred os.Remove. A thread of its own makes
// system calls while the file is made, so that a retried name changes
// the schedule.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

func main() {
	var made atomic.Bool
	busy := make(chan bool)
	go func() {
		runtime.LockOSThread()
		busy <- true
		for !made.Load() {
			syscall.Getppid()
		}
		busy <- true
	}()
	<-busy
	prefix := "leftover-"
	if len(os.Args) > 1 {
		prefix = os.Args[1]
	}
	f, err := os.CreateTemp("", prefix+"*")
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	defer os.Remove(f.Name())
	made.Store(true)
	<-busy
	var wg sync.WaitGroup
	n := 0
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := n
			runtime.Gosched()
			n = v + 1
		}()
	}
	wg.Wait()
	if n != 2 {
		fmt.Println("lost update:", n, "left", f.Name())
		os.Exit(1) // the deferred Remove does not run
	}
}
