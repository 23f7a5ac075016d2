package explore_test

import (
	"context"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// TestTimeoutCountsRunTime: the per-run timeout charges the time the run
// used, not the time the machine took. A guest computing for 0.2 s is
// not a hang at -timeout 1s with two CPU hogs competing for the machine's
// CPUs, where its wall time can pass a second.
func TestTimeoutCountsRunTime(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildTestdata(t, "cpu_bound")
	testenv.CPUHogs(t, 2)
	for seed := range uint64(5) {
		r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}},
			explore.Config{Seed: seed, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: %s, charged %v, wall %v", seed, r.Describe(), r.Outcome.Charged, r.Wall)
		if r.Failed() || string(r.Stdout) != "19999999900000000\n" {
			t.Fatalf("seed %d: %s (charged %v, wall %v), want a pass\n%s", seed, r.Describe(), r.Outcome.Charged, r.Wall, r.Stdout)
		}
		if r.Outcome.Charged <= 0 {
			t.Fatalf("seed %d: the run was charged no time", seed)
		}
	}
}
