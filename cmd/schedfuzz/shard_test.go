package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/replay"
)

// TestShardFlagErrors: a bad -shard, or one without a session seed, is
// one line and exit 2 before any run; $GITHUB_RUN_ID stands in for -seed.
func TestShardFlagErrors(t *testing.T) {
	dir := t.TempDir()
	noRunID := []string{"PATH=" + os.Getenv("PATH")}
	for _, c := range []struct {
		env  []string
		args []string
		msg  string
	}{
		{noRunID, []string{"-shard", "0/2", "/bin/true"}, `invalid value "0/2" for flag -shard`},
		{noRunID, []string{"-shard", "3/2", "/bin/true"}, `invalid value "3/2" for flag -shard`},
		{noRunID, []string{"-shard", "x", "/bin/true"}, `want I/N`},
		{noRunID, []string{"-shard", "1/2", "/bin/true"}, "-shard 1/2 needs the session seed every shard shares: -seed N"},
		{append(noRunID, "GITHUB_RUN_ID=abc"), []string{"-shard", "1/2", "/bin/true"}, `$GITHUB_RUN_ID "abc" is not a number`},
		{noRunID, []string{"-shard", "1/2", "-seed", "zz", "/bin/true"}, `-seed "zz"`},
	} {
		code, stdout, stderr := sfWith(t, dir, c.env, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.msg) || strings.Count(stderr, "\n") != 1 || stdout != "" {
			t.Errorf("schedfuzz %v: exit %d, want 2 and one line with %q; stderr:\n%s", c.args, code, c.msg, stderr)
		}
	}
	testenv.RequirePtrace(t)
	code, _, stderr := sfWith(t, dir, append(noRunID, "GITHUB_RUN_ID=123456"), "-shard", "2/2", "-runs", "3", "-p", "1", "/bin/true")
	if code != 0 || !strings.Contains(stderr, "schedfuzz: seed 0x000000000001e240, 3 runs (shard 2/2: 1 of them) of /bin/true") {
		t.Errorf("-shard with $GITHUB_RUN_ID: exit %d\n%s", code, stderr)
	}
}

var runLine = regexp.MustCompile(`(?m)^run (\d+) seed (0x[0-9a-f]+) \(([^)]+)\): `)

// TestShardRuns: the shards of a session (real runs of a corpus program)
// make disjoint sets of its runs whose union is the unsharded session's,
// each run under the same seed and strategy; a failure found by a shard
// is saved under its index in the whole session.
func TestShardRuns(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildExample(t, dir, "lost_update")
	runs := func(extra ...string) map[int]string {
		args := append([]string{"-v", "-runs", "10", "-seed", "77", "-p", "2", "-expect-exit", "0,1", "-corpus", filepath.Join(dir, "seeds")}, extra...)
		code, _, stderr := sf(t, dir, append(args, prog)...)
		if code != 0 {
			t.Fatalf("schedfuzz %v: exit %d\n%s", extra, code, stderr)
		}
		got := map[int]string{}
		for _, m := range runLine.FindAllStringSubmatch(stderr, -1) {
			i, _ := strconv.Atoi(m[1])
			got[i] = m[2] + " " + m[3]
		}
		return got
	}
	whole := runs()
	if len(whole) != 10 {
		t.Fatalf("unsharded: %d runs, want 10", len(whole))
	}
	seen := map[int]bool{}
	for i := 1; i <= 3; i++ {
		sh := strconv.Itoa(i) + "/3"
		part := runs("-shard", sh)
		if want := (10 - (i - 1) + 2) / 3; len(part) != want {
			t.Errorf("-shard %s: %d runs, want %d", sh, len(part), want)
		}
		for idx, what := range part {
			if idx%3 != i-1 || seen[idx] {
				t.Errorf("-shard %s made run %d (made before: %v)", sh, idx, seen[idx])
			}
			seen[idx] = true
			if whole[idx] != what {
				t.Errorf("-shard %s: run %d is %q, unsharded %q", sh, idx, what, whole[idx])
			}
		}
	}
	if len(seen) != len(whole) {
		t.Errorf("the shards made %d runs, the session %d", len(seen), len(whole))
	}

	// A failure found by shard 2/2 is saved under its session index.
	code, _, stderr := sf(t, dir, "-runs", "1000", "-seed", "5", "-p", "1", "-minimize=false", "-shard", "2/2", "-corpus", filepath.Join(dir, "found"), prog)
	m := regexp.MustCompile(`failure in run (\d+) `).FindStringSubmatch(stderr)
	file := replayLine.FindStringSubmatch(stderr)
	if code != exitFound || m == nil || file == nil {
		t.Fatalf("-shard 2/2 on lost_update: exit %d\n%s", code, stderr)
	}
	raw, err := os.ReadFile(file[1])
	if err != nil {
		t.Fatal(err)
	}
	seed, err := replay.Parse(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if strconv.Itoa(seed.Run) != m[1] || seed.Run%2 != 1 {
		t.Errorf("shard 2/2 found run %s, its seed file says run %d", m[1], seed.Run)
	}
}
