package explore_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched"
)

// forced counts a trace's forced preemptions: picks at a thread's point
// that chose another thread although it could have run on.
func forced(ds []sched.Decision) int {
	n := 0
	for _, d := range ds {
		if d.Kind != sched.KindPick {
			continue
		}
		var v int
		var name string
		if c, _ := fmtSscanf(d.At, &v, &name); c != 2 {
			continue
		}
		for _, o := range d.Options {
			if o == v && d.Choice != v {
				n++
			}
		}
	}
	return n
}

// TestMinimizeAndRootCause: a failing random schedule shrinks to a
// handful of preemptions that still fail the same way and replay exactly,
// and the root cause names two events of two different threads whose swap
// turns the failure into a pass.
func TestMinimizeAndRootCause(t *testing.T) {
	testenv.RequirePtrace(t)
	for _, name := range []string{"lost_update", "abba"} {
		t.Run(name, func(t *testing.T) {
			path := buildExample(t, name)
			tgt := &explore.Target{Path: path, Args: []string{path}}
			var found *explore.Result
			var cfg explore.Config
			for i := 0; i < 500 && found == nil; i++ {
				cfg = explore.Config{Seed: uint64(i), Timeout: 20 * time.Second}
				if r := runWith(t, path, cfg); r.Failed() {
					found = r
				}
			}
			if found == nil {
				t.Fatal("no failure in 500 runs")
			}
			m := &explore.Minimizer{Target: tgt, Config: cfg}
			min, err := m.Minimize(context.Background(), found)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d forced items -> %d in %d runs (trace preemptions %d -> %d)", found.Describe(),
				min.Original, min.Items, min.Runs, forced(found.Decisions), forced(min.Result.Decisions))
			if min.Items != 1 || min.Items > min.Original { // one preemption is the minimum for both bugs
				t.Fatalf("minimized to %d items (from %d)", min.Items, min.Original)
			}
			if explore.Signature(min.Result) != explore.Signature(found) {
				t.Fatalf("minimized run fails differently: %s vs %s", explore.Signature(min.Result), explore.Signature(found))
			}
			if forced(min.Result.Decisions) != min.Items {
				t.Fatalf("minimized trace has %d preemptions, minimizer says %d", forced(min.Result.Decisions), min.Items)
			}
			r := runWith(t, path, explore.Config{Seed: cfg.Seed, Replay: min.Result.Decisions})
			if !reflect.DeepEqual(r.Decisions, min.Result.Decisions) || !bytes.Equal(r.Stdout, min.Result.Stdout) || r.Describe() != found.Describe() {
				t.Fatalf("minimized seed does not replay: %s (%s)", r.Describe(), r.Outcome.Report)
			}
			cause, err := m.RootCause(context.Background(), min)
			if err != nil {
				t.Fatal(err)
			}
			if cause == nil {
				t.Fatal("no root cause found")
			}
			t.Logf("critical pair: %s <-> %s", cause.First, cause.Second)
			if cause.First.Thread == cause.Second.Thread || cause.First.Name == "" || cause.Second.Name == "" || cause.First.Name == "?" || cause.Second.Name == "?" {
				t.Fatalf("bad pair %+v / %+v", cause.First, cause.Second)
			}
			if cause.Passing.Failed() || !cause.Failing.Failed() {
				t.Fatalf("passing run %s, failing run %s", cause.Passing.Describe(), cause.Failing.Describe())
			}
		})
	}
}

func fmtSscanf(at string, v *int, name *string) (int, error) {
	return fmt.Sscanf(at, "t%d:%s", v, name)
}
