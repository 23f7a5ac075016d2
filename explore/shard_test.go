package explore_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in   string
		want explore.Shard
	}{{"1/1", explore.Shard{0, 1}}, {"2/3", explore.Shard{1, 3}}, {"4/4", explore.Shard{3, 4}}} {
		got, err := explore.ParseShard(c.in)
		if err != nil || got != c.want || got.String() != c.in && c.in != "1/1" {
			t.Errorf("ParseShard(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "1", "0/2", "3/2", "-1/2", "1/0", "a/b", "1/2/3", "1 /2"} {
		if _, err := explore.ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	// The shards' run counts add up to the session's.
	for n := 1; n <= 5; n++ {
		for runs := 0; runs <= 11; runs++ {
			total := 0
			for i := 0; i < n; i++ {
				total += explore.Shard{Index: i, Count: n}.Runs(runs)
			}
			if total != runs {
				t.Errorf("%d shards of %d runs make %d", n, runs, total)
			}
		}
	}
}

// TestShardedSession: the shards of a session, run for real on a corpus
// program, make disjoint sets of runs whose union is the unsharded
// session's runs, each with its global index, seed and strategy; while
// nothing is learned yet (a run's first Learner.Window runs) a shard's run
// makes the very schedule the unsharded session's run of that index makes.
func TestShardedSession(t *testing.T) {
	testenv.RequirePtrace(t)
	tgt := &explore.Target{Path: buildExample(t, "lost_update"), Args: []string{"lost_update"}}
	const runs = 11
	session := func(sh explore.Shard) map[int]*explore.RunReport {
		got := map[int]*explore.RunReport{}
		var order []int
		s := &explore.Session{Target: tgt, Seed: 42, Runs: runs, Parallel: 2, Shard: sh,
			Template: explore.Config{Timeout: 20 * time.Second},
			Report: func(r *explore.RunReport) bool {
				if r.Err != nil {
					t.Fatalf("shard %s: run %d: %v", sh, r.Index, r.Err)
				}
				order = append(order, r.Index)
				got[r.Index] = r
				return false
			}}
		sum, err := s.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Runs != len(got) || !slices.IsSorted(order) {
			t.Fatalf("shard %s: summary %+v, runs reported in the order %v", sh, sum, order)
		}
		return got
	}
	whole := session(explore.Shard{})
	if len(whole) != runs {
		t.Fatalf("unsharded: %d runs, want %d", len(whole), runs)
	}
	union := map[int]bool{}
	for i := 0; i < 3; i++ {
		sh := explore.Shard{Index: i, Count: 3}
		part := session(sh)
		if len(part) != sh.Runs(runs) {
			t.Errorf("shard %s: %d runs, want %d", sh, len(part), sh.Runs(runs))
		}
		for idx, r := range part {
			if union[idx] {
				t.Errorf("run %d made by two shards", idx)
			}
			union[idx] = true
			if idx%3 != i {
				t.Errorf("shard %s made run %d", sh, idx)
			}
			w := whole[idx]
			if w == nil {
				t.Errorf("shard %s made run %d, which the session does not make", sh, idx)
				continue
			}
			if r.Seed != w.Seed || r.Strategy != w.Strategy {
				t.Errorf("run %d: shard %s has seed %#x (%s), the session %#x (%s)", idx, sh, r.Seed, r.Strategy, w.Seed, w.Strategy)
			}
			if idx < 8 && !reflect.DeepEqual(r.Result.Decisions, w.Result.Decisions) {
				t.Errorf("run %d (%s, nothing learned): shard %s's schedule differs from the session's: %s",
					idx, r.Strategy, sh, firstDifference(r.Result.Decisions, w.Result.Decisions))
			}
		}
	}
	if len(union) != runs {
		t.Errorf("the shards made %d of the session's %d runs", len(union), runs)
	}
	// A shard past the session's runs makes none.
	s := &explore.Session{Target: tgt, Seed: 42, Runs: 2, Shard: explore.Shard{Index: 2, Count: 3},
		Report: func(r *explore.RunReport) bool { t.Errorf("shard 3/3 of 2 runs made run %d", r.Index); return false }}
	if sum, err := s.Run(context.Background()); err != nil || sum.Runs != 0 {
		t.Errorf("shard 3/3 of 2 runs: %+v, %v", sum, err)
	}
}
