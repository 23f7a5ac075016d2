package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// BenchmarkPipeWriteSplit measures what splitting blocking writes costs
// (sched/io.go) per write on a pipe: a write of 4097 bytes runs as a
// non-blocking piece (O_NONBLOCK set and restored on the description, a
// stop at its exit), a write of 4096 bytes to a pipe with room runs as
// it is, as every write did before. The guest writes SIZE bytes and reads
// them back, N times, in one thread; the cost of one iteration is the
// difference between runs of 2200 and 200 iterations over 2000, the
// median of 5 interleaved repetitions. It reports both, the extra cost
// of a split write and the ratio, measured in the same run:
//
//	go test ./bench/ -run '^$' -bench PipeWriteSplit -benchtime 1x
func BenchmarkPipeWriteSplit(b *testing.B) {
	testenv.RequirePtrace(b)
	guest := filepath.Join(b.TempDir(), "pipewrite")
	if out, err := exec.Command("gcc", "-O1", "-o", guest, "csrc/pipewrite.c").CombinedOutput(); err != nil {
		b.Fatalf("gcc: %v\n%s", err, out)
	}
	run := func(size, n int) time.Duration {
		argv := []string{guest, strconv.Itoa(size), strconv.Itoa(n)}
		start := time.Now()
		r, err := explore.Run(context.Background(), &explore.Target{Path: guest, Args: argv},
			explore.Config{Seed: 1, Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		if r.Failed() {
			b.Fatalf("%v: %s", argv, r.Describe())
		}
		return time.Since(start)
	}
	const lo, hi, reps = 200, 2200, 5
	perIter := map[int][]float64{}
	for range b.N {
		for rep := 0; rep < reps; rep++ {
			sizes := []int{4096, 4097}
			if rep%2 == 1 {
				sizes = []int{4097, 4096}
			}
			for _, size := range sizes {
				d := run(size, hi) - run(size, lo)
				perIter[size] = append(perIter[size], float64(d.Nanoseconds())/(hi-lo)/1e3)
			}
		}
	}
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	plain, split := median(perIter[4096]), median(perIter[4097])
	b.ReportMetric(plain, "plain-µs/iter")
	b.ReportMetric(split, "split-µs/iter")
	b.ReportMetric(split-plain, "extra-µs/write")
	b.ReportMetric(split/plain, "ratio")
	b.Logf("write+read of 4096 bytes (as before): %.1f µs; of 4097 bytes (split path): %.1f µs; extra per write %.1f µs; ratio %.2f (samples %v, %v)",
		plain, split, split-plain, split/plain, perIter[4096], perIter[4097])
}
