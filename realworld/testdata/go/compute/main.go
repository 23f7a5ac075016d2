// Command compute computes for about 80 ms without a syscall, on the main
// goroutine and on four more at once, while the runtime's sysmon thread
// sleeps and wakes beside them, as any CPU-bound Go program does. Every
// schedfuzz run of it was a false hang while a computing thread that only
// a sleeper's deadline could pass was never run again. Deterministic
// output; exit 0.
package main

import (
	"fmt"
	"sync"
)

func sum(lo, hi uint64) uint64 {
	x := uint64(0)
	for i := lo; i < hi; i++ {
		x += i * i
	}
	return x
}

func main() {
	fmt.Println(sum(0, 100_000_000))
	var wg sync.WaitGroup
	parts := make([]uint64, 4)
	for k := range parts {
		wg.Go(func() { parts[k] = sum(uint64(k)*25_000_000, uint64(k+1)*25_000_000) })
	}
	wg.Wait()
	fmt.Println(parts[0] + parts[1] + parts[2] + parts[3])
}
