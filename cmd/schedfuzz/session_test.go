package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
)

// TestChaosSeedSaved: a failure found by chaos, whose schedule lets
// virtual time pass (pick -1), is saved, parses back, and replays 10 times
// out of 10 (the seed encoder once refused the -1 and the failure was lost
// with exit 125).
func TestChaosSeedSaved(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	for s := 1; s <= 10; s++ {
		corpus := filepath.Join(dir, "seeds"+strconv.Itoa(s))
		code, _, stderr := sf(t, dir, "-strategy", "chaos", "-runs", "5", "-seed", strconv.Itoa(s), "-corpus", corpus,
			"--", "sh", "-c", "sleep 0.01 & sleep 0.02; exit 1")
		if code != 1 {
			t.Fatalf("-seed %d: exit %d, want 1\n%s", s, code, stderr)
		}
		m := replayLine.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("no replay line:\n%s", stderr)
		}
		file := m[1]
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sf0, err := replay.Parse(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatalf("the saved seed does not parse: %v", err)
		}
		idle := slices.ContainsFunc(sf0.Decisions, func(d sched.Decision) bool { return d.Choice == sched.IdleOption })
		if !idle {
			t.Logf("-seed %d: the failing run never let time pass; trying the next session seed", s)
			continue
		}
		for i := 0; i < 10; i++ {
			code, _, stderr := sf(t, dir, "replay", file)
			if code != 1 || !strings.Contains(stderr, "reproduced: exit 1") {
				t.Fatalf("replay %d of %s: exit %d\n%s", i, file, code, stderr)
			}
		}
		// The minimized seed (if any) replays too.
		if code, out, stderr := sf(t, dir, "replay", corpus); code != 1 || strings.Contains(out, ": diverged") {
			t.Fatalf("replay %s: exit %d\n%s%s", corpus, code, out, stderr)
		}
		return
	}
	t.Fatal("no chaos failure that lets time pass in 10 sessions")
}
