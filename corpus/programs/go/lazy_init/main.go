// Command lazy_init: two goroutines (GOMAXPROCS(4)) get a shared
// connection that is opened on first use:
//
//	if r.conn == nil { r.opens++; r.conn = fresh }
//
// Bug: check-then-act on a plain field, no lock: both goroutines can see
// conn == nil before either stores it, and the connection is opened
// twice.
// Window: between the load of r.conn and the store: no syscall and no
// sync call (the new connection is allocated before the check: a first
// allocation can mmap). Only points at the memory accesses (-points
// memory) reach it. Goroutine b first does a job (CPU
// only, ~2 ms natively), so natively a has opened the connection before
// b looks.
// Failure: "opened 2 connections" on stderr, exit 1.
// Correct output (stdout): "opened 1 connection\n".
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
)

type conn struct{ id int }

type registry struct {
	conn  *conn
	opens int
}

//go:noinline
func (r *registry) get(fresh *conn) *conn {
	if r.conn == nil {
		r.opens++
		r.conn = fresh
	}
	return r.conn
}

func work(iters uint32) uint32 {
	h := uint32(2166136261)
	for i := uint32(0); i < iters; i++ {
		h = (h ^ i) * 16777619
	}
	return h
}

func main() {
	runtime.GOMAXPROCS(4)
	reg := &registry{}
	var wg sync.WaitGroup
	wg.Add(2)
	for i, job := range []uint32{1000, 2_000_000} {
		go func() {
			defer wg.Done()
			if work(job) == 1 {
				fmt.Fprintln(os.Stderr, "unlucky hash")
			}
			reg.get(&conn{id: i})
		}()
	}
	wg.Wait()
	if reg.opens != 1 {
		fmt.Fprintf(os.Stderr, "opened %d connections\n", reg.opens)
		os.Exit(1)
	}
	fmt.Println("opened 1 connection")
}
