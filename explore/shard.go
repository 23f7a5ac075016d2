package explore

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is the part of a session one job makes when several jobs share
// it (CI's sharded jobs): shard Index (0-based) of Count makes exactly the
// runs i of the session's run sequence with i%Count == Index. Shards of
// one session seed therefore never make the same run (run i's seed is
// RunSeed(seed, i)), together they make the unsharded session's runs, and
// a run keeps its global index, so a seed file names the run as the
// unsharded session would. The zero Shard is the whole session.
//
// What a shard learns (PCT's step bound, shared memory sites; Learner)
// comes from its own runs only, so a shard's run i has the unsharded
// run i's seed, strategy and point set, and the same schedule while
// neither has learned anything yet (the first Learner.Window runs of
// each).
type Shard struct {
	Index, Count int
}

// ParseShard parses "I/N" (1 ≤ I ≤ N), the 1-based form people write, into
// shard I-1 of N.
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("%q: want I/N (shard I of N, 1 ≤ I ≤ N)", s)
	}
	iv, err1 := strconv.Atoi(i)
	nv, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil || nv < 1 || iv < 1 || iv > nv {
		return Shard{}, fmt.Errorf("%q: want I/N with 1 ≤ I ≤ N", s)
	}
	return Shard{Index: iv - 1, Count: nv}, nil
}

// String is the 1-based "I/N" form ("" for the whole session).
func (sh Shard) String() string {
	if sh.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", sh.Index+1, sh.Count)
}

// Run is the session run index of the shard's k-th run.
func (sh Shard) Run(k int) int {
	if sh.Count <= 1 {
		return k
	}
	return k*sh.Count + sh.Index
}

// Runs is how many of a session's first runs runs the shard makes (runs
// 0: no bound, 0).
func (sh Shard) Runs(runs int) int {
	if sh.Count <= 1 || runs <= 0 {
		return runs
	}
	if runs <= sh.Index {
		return 0
	}
	return (runs - sh.Index + sh.Count - 1) / sh.Count
}
