// Command race (RACY): a lost update on a plain struct field, with a log
// line in the read-modify-write window. Two goroutines each read
// st.count, log what they saw, and write it back plus one; if both read
// before either writes, one update is lost: "lost update: count=1",
// exit 1. (go run -race reports it too.) Natively the first goroutine
// usually finishes before the second starts.
package main

import (
	"fmt"
	"os"
	"sync"
)

type stats struct{ count int }

var st stats

func main() {
	var wg sync.WaitGroup
	for id := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := st.count
			fmt.Fprintf(os.Stderr, "worker %d saw %d\n", id, n)
			st.count = n + 1
		}()
	}
	wg.Wait()
	if st.count != 2 {
		fmt.Printf("lost update: count=%d\n", st.count)
		os.Exit(1)
	}
	fmt.Println("count=2")
}
