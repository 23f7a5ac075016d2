// Command goaccess exercises the memory accesses memsites classifies in a
// Go program: globals, pointers, atomics, a mutex (its inlined fast path
// is the sync package's code: no site), a map and a channel (runtime
// calls: no site in the program).
package main

import (
	"fmt"
	"os"
	"sync"

	"example.com/goaccess/shared"
)

var (
	mu      sync.Mutex
	counter int
	cache   map[string]int
)

type cfg struct{ limit int }

var current *cfg

//go:noinline
func get() int {
	if c := current; c != nil { // SITE(get)
		return c.limit
	}
	return 0
}

func main() {
	var wg sync.WaitGroup
	b := &shared.Box{}
	ch := make(chan int, 2)
	current = &cfg{limit: 3}
	cache = map[string]int{}
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			mu.Lock()
			counter += get() // SITE(counter)
			cache[fmt.Sprint(i)] = shared.Bump(b)
			mu.Unlock()
			ch <- i
		}(i)
	}
	wg.Wait()
	if counter != 6 || len(cache) != 2 || len(ch) != 2 {
		fmt.Fprintln(os.Stderr, "bad", counter, cache)
		os.Exit(1)
	}
	fmt.Println("ok")
}
