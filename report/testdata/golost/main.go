// Command golost: two goroutines (GOMAXPROCS(4)) each add 3 to a shared
// counter with an unlocked read-modify-write whose window holds a
// write(2) to stdout; when the other goroutine's thread runs inside the
// window an increment is lost (exit 1). The Go guest of the report tests:
// the critical pair is named main.worker at the write's line (os.File's
// Write is not inlined, so the line is the program's own).
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

var counter atomic.Int64

func worker(wg *sync.WaitGroup) {
	defer wg.Done()
	for i := 0; i < 3; i++ {
		v := counter.Load()
		os.Stdout.Write([]byte(".")) // the window
		counter.Store(v + 1)
	}
}

func main() {
	runtime.GOMAXPROCS(4)
	var wg sync.WaitGroup
	wg.Add(2)
	go worker(&wg)
	go worker(&wg)
	wg.Wait()
	fmt.Printf("\ncounter=%d\n", counter.Load())
	if counter.Load() != 6 {
		os.Exit(1)
	}
}
