// The stack at the write is main.main -> main.outer -> main.inner -> the
// runtime's write.
package main

import "os"

//go:noinline
func inner(b []byte) {
	os.Stdout.Write(b) // LINE inner
}

//go:noinline
func outer() {
	inner([]byte("go")) // LINE outer
}

func main() {
	outer() // LINE main
}
