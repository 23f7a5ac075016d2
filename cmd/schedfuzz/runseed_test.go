package main

import (
	"testing"

	"github.com/schedfuzz/schedfuzz/bench"
)

// TestRunSeedMatchesBench: the scheduler benchmarks (bench.RunSeed) derive
// run seeds exactly as the CLI does, so a row of bench/RESULTS.md's corpus
// table is what `schedfuzz -seed BASE` would do.
func TestRunSeedMatchesBench(t *testing.T) {
	for _, base := range []uint64{0, 1, 20, 0xbeeb8da1658eec67, ^uint64(0)} {
		for i := range 1000 {
			if a, b := runSeed(base, i), bench.RunSeed(base, i); a != b {
				t.Fatalf("runSeed(%#x, %d) = %#x, bench.RunSeed = %#x", base, i, a, b)
			}
		}
	}
}
