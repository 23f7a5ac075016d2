package explore_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched"
)

// TestReplayStacks: a failing run replayed with Stacks names, at a worker
// thread's write, the worker function and the write's source line
// (built with -g), and the replay makes the same decisions.
func TestReplayStacks(t *testing.T) {
	testenv.RequirePtrace(t)
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "..", "corpus", "examples", "lost_update.c")
	path := filepath.Join(t.TempDir(), "lost_update")
	if b, err := exec.Command("gcc", "-O1", "-g", "-pthread", "-o", path, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	var found *explore.Result
	for i := 0; i < 1000 && found == nil; i++ {
		if r := run(t, path, uint64(i), nil); r.Failed() {
			found = r
		}
	}
	if found == nil {
		t.Fatal("lost update not found in 1000 runs")
	}
	asked := 0
	r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}},
		explore.Config{Seed: found.Seed, Timeout: 60 * time.Second, Replay: found.Decisions,
			Stacks: true, StackAt: func(thread, point int) bool { asked++; return thread == 1 }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome.Kind == sched.Diverged || !reflect.DeepEqual(r.Decisions, found.Decisions) {
		t.Fatalf("replay with stacks diverged: %s", r.Outcome.Report)
	}
	if asked == 0 {
		t.Error("StackAt was never asked")
	}
	var kept *sched.PointStack
	for i, ps := range r.Outcome.Stacks {
		if ps.Thread == 1 && ps.Name == "write" && kept == nil {
			kept = &r.Outcome.Stacks[i]
		}
	}
	if kept == nil {
		t.Fatalf("no stack for thread 1's write among %d", len(r.Outcome.Stacks))
	}
	var text []string
	worker := false
	for _, f := range kept.Frames {
		text = append(text, f.String())
		if f.Func == "worker" && filepath.Base(f.File) == "lost_update.c" && f.Line > 0 {
			worker = true
		}
	}
	if !worker {
		t.Errorf("thread 1 at its point %d (%s):\n  %s\nwant worker() lost_update.c:LINE", kept.Point, kept.Name, strings.Join(text, "\n  "))
	}
	// Each thread's last points have stacks too.
	last := map[int]int{}
	for _, ps := range r.Outcome.Stacks {
		last[ps.Thread]++
	}
	if last[0] == 0 || last[2] == 0 {
		t.Errorf("stacks per thread: %v, want each thread's last points", last)
	}
}
