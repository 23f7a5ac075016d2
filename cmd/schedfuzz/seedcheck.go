package main

import (
	"fmt"
	"io"

	"github.com/schedfuzz/schedfuzz/explore"
)

// exitInterrupted is the exit code of a command stopped by SIGINT or
// SIGTERM before it had an answer (as a shell reports 128+SIGINT).
const exitInterrupted = 130

// interrupted says so and returns exitInterrupted.
func interrupted(stderr io.Writer) int {
	fmt.Fprintln(stderr, "schedfuzz: interrupted")
	return exitInterrupted
}

// noteDropped says how much of the guest's output a replay did not keep.
func noteDropped(w io.Writer, r *explore.Result) {
	for _, d := range []struct {
		name string
		n    int64
	}{{"stdout", r.StdoutDropped}, {"stderr", r.StderrDropped}} {
		if d.n > 0 {
			fmt.Fprintf(w, "schedfuzz: note: the guest wrote %d bytes to %s; the last %d are shown\n", d.n+int64(explore.DefaultOutputLimit), d.name, explore.DefaultOutputLimit)
		}
	}
}
