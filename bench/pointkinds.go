package bench

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/schedfuzz/schedfuzz/bench/ctracer"
	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/sched"
	schedpoints "github.com/schedfuzz/schedfuzz/sched/points"
	"github.com/schedfuzz/schedfuzz/sched/points/memsites"
)

// The cost of one scheduling point of each kind under explore.Run: a
// syscall entry, a sync function's breakpoint, a memory access's
// breakpoint (with and without watch registers). The guest in
// csrc/kinds.c makes N points of one kind in one thread; as for the other
// point tables, whole runs are timed for two values of N and the
// difference is divided by the difference in scheduling points.

//go:embed csrc/kinds.c
var kindsSource []byte

// BuildKindsGuest compiles csrc/kinds.c (with -g: memory points are named
// after lines) into dir.
func BuildKindsGuest(dir string) (string, error) {
	out := filepath.Join(dir, "kinds")
	args := []string{"-Wall", "-Wextra", "-std=gnu11", "-O1", "-g", "-pthread", "-x", "c", "-o", out, "-"}
	cmd := exec.Command(ctracer.Compiler(), args...)
	cmd.Stdin = bytes.NewReader(kindsSource)
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("compiling csrc/kinds.c: %v\n%s", err, msg.Bytes())
	}
	return out, nil
}

// KindCase is one row of the point-kinds table.
type KindCase struct {
	Name  string
	Mode  string // the guest's MODE
	Set   schedpoints.Set
	Watch int // memory points: watch registers
}

// KindCases are the rows of the point-kinds table.
func KindCases() []KindCase {
	return []KindCase{
		{"syscall point (getppid)", "syscall", schedpoints.Syscalls, 0},
		{"sync point (mutex lock, unlock)", "sync", schedpoints.Sync, 0},
		{"memory point (load, store of a global)", "memory", schedpoints.Memory, 0},
		{"memory point, 2 watch registers", "memory", schedpoints.Memory, 2},
	}
}

// KindResult is the cost of one point of a KindCase, repetition by
// repetition.
type KindResult struct {
	Case KindCase
	// UsPerPoint holds (wall(hi)-wall(lo)) / (points(hi)-points(lo)) of
	// every repetition, in µs, sorted.
	UsPerPoint []float64
	// Points is points(hi)-points(lo) of the last repetition.
	Points int
}

// KindCost runs every case with lo and hi iterations, reps times,
// interleaved (each repetition runs every case, starting one case further
// along each time), pinned to cpu.
func KindCost(ctx context.Context, guest string, cases []KindCase, lo, hi, reps, cpu int) ([]*KindResult, error) {
	out := make([]*KindResult, len(cases))
	for i, c := range cases {
		out[i] = &KindResult{Case: c}
	}
	syms, sites := symbols.NewCache(nil), memsites.NewCache("")
	plans := map[schedpoints.Set]*schedpoints.Plan{}
	for r := 0; r < reps; r++ {
		for k := range cases {
			i := (k + r) % len(cases)
			c := cases[i]
			if plans[c.Set] == nil {
				plans[c.Set] = schedpoints.NewPlan(c.Set, nil)
			}
			var wall [2]time.Duration
			var steps [2]int
			for j, n := range []int{lo, hi} {
				cfg := explore.Config{Seed: uint64(r + 1), Pin: cpu >= 0, CPU: cpu, Timeout: time.Minute, Points: c.Set,
					Symbols: syms, Plan: plans[c.Set],
					Memory: sched.MemoryConfig{Sites: sites, Sample: 1000, HitCap: 1 << 30, Watch: c.Watch}}
				argv := []string{guest, c.Mode, strconv.Itoa(n)}
				start := time.Now()
				res, err := explore.Run(ctx, &explore.Target{Path: guest, Args: argv}, cfg)
				wall[j] = time.Since(start)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", c.Name, err)
				}
				if res.Failed() || res.Outcome.Kind != sched.Finished {
					return nil, fmt.Errorf("%s: %s %s\n%s", c.Name, res.Describe(), res.Outcome.Report, res.Stderr)
				}
				steps[j] = res.Outcome.Steps
			}
			dp := steps[1] - steps[0]
			if dp <= 0 {
				return nil, fmt.Errorf("%s: %d points more with %d iterations than with %d", c.Name, dp, hi, lo)
			}
			out[i].UsPerPoint = append(out[i].UsPerPoint, float64(wall[1]-wall[0])/float64(time.Microsecond)/float64(dp))
			out[i].Points = dp
		}
	}
	for _, p := range out {
		slices.Sort(p.UsPerPoint)
	}
	return out, nil
}
