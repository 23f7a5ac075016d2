package sched_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched"
	"github.com/schedfuzz/schedfuzz/sched/points"
)

func build(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", out, filepath.Join("testdata", name+".c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

func run(t *testing.T, path string, seed uint64) *explore.Result {
	t.Helper()
	return runCfg(t, path, explore.Config{Seed: seed, Timeout: 20 * time.Second})
}

// runOn is run pinned to cpu.
func runOn(t *testing.T, path string, seed uint64, cpu int) *explore.Result {
	t.Helper()
	return runCfg(t, path, explore.Config{Seed: seed, Timeout: 20 * time.Second, Pin: true, CPU: cpu})
}

func runCfg(t *testing.T, path string, cfg explore.Config) *explore.Result {
	t.Helper()
	seed := cfg.Seed
	r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() {
		t.Fatalf("seed %d: %s\n%s%s", seed, r.Describe(), r.Stderr, r.Outcome.Report)
	}
	return r
}

// TestSameSeedSameRun: threads, futexes, sleeps, a pipe, clock reads,
// getrandom and rdtsc give the same decisions and the same bytes of output
// 20 times in a row for one seed; other seeds give other runs.
func TestSameSeedSameRun(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "determinism")
	first := run(t, path, 42)
	t.Logf("first run: %d decisions, %d steps, virtual time %v\n%s", len(first.Decisions), first.Outcome.Steps, time.Duration(first.Outcome.VirtualTime), first.Stdout)
	if len(first.Decisions) < 10 {
		t.Fatalf("only %d decisions: the run was barely scheduled", len(first.Decisions))
	}
	if len(first.Outcome.Nondeterministic) > 0 {
		t.Fatalf("run marked nondeterministic: %v", first.Outcome.Nondeterministic)
	}
	for i := 0; i < 20; i++ {
		r := run(t, path, 42)
		if !reflect.DeepEqual(r.Decisions, first.Decisions) {
			t.Fatalf("run %d: decisions differ", i)
		}
		if !bytes.Equal(r.Stdout, first.Stdout) {
			t.Fatalf("run %d: output differs:\n%s\nvs first:\n%s", i, r.Stdout, first.Stdout)
		}
	}
	distinct := map[string]bool{string(first.Stdout): true}
	for seed := uint64(1); seed <= 5; seed++ {
		distinct[string(run(t, path, seed).Stdout)] = true
	}
	if len(distinct) < 3 {
		t.Fatalf("6 seeds gave only %d distinct outputs: seeds do not steer the run", len(distinct))
	}
}

// TestSameRunOnAnyCPU: parallel runs are pinned to different CPUs; the CPU
// must not show through (getcpu, rseq's cpu_id, sched_getcpu).
func TestSameRunOnAnyCPU(t *testing.T) {
	testenv.RequirePtrace(t)
	cpus := testenv.QuietCPUs(t, 2)
	path := build(t, "determinism")
	a, b := runOn(t, path, 5, cpus[0]), runOn(t, path, 5, cpus[1])
	if !reflect.DeepEqual(a.Decisions, b.Decisions) || !bytes.Equal(a.Stdout, b.Stdout) {
		t.Fatalf("CPU %d and CPU %d runs differ:\n%s\nvs\n%s", cpus[0], cpus[1], a.Stdout, b.Stdout)
	}
	if !bytes.Contains(a.Stdout, []byte("w1 cpu 1")) && !bytes.Contains(a.Stdout, []byte("w1 cpu 2")) {
		t.Fatalf("sched_getcpu did not report a virtual CPU:\n%s", a.Stdout)
	}
}

// TestSpinnerPreempted: threads spinning on each other without syscalls
// finish under the scheduler. In an exploration run the watchdog only
// finds their loop, which becomes a spin site of the run (made again with
// it), so the run stays deterministic; a guided run, which cannot be made
// again, is preempted where the watchdog caught it, and says so.
func TestSpinnerPreempted(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "spin")
	for seed := uint64(1); seed <= 4; seed++ {
		cfg := explore.Config{Seed: seed, Timeout: 20 * time.Second}
		guided := seed == 4
		if guided {
			cfg.Decider = switcher{}
		}
		start := time.Now()
		r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if r.Failed() || string(r.Stdout) != "spun\n" {
			t.Fatalf("seed %d: %s, stdout %q\n%s", seed, r.Describe(), r.Stdout, r.Outcome.Report)
		}
		marked := false
		for _, n := range r.Outcome.Nondeterministic {
			marked = marked || strings.Contains(n, "timing-based preemption")
		}
		switch {
		case guided && (!marked || r.Reruns != 0):
			t.Errorf("guided run: %d reruns, notes %v, want none and a timing-based preemption", r.Reruns, r.Outcome.Nondeterministic)
		case !guided && (marked || len(r.Spins) == 0):
			t.Errorf("seed %d: spin sites %v, notes %v, want a site and no timing-based preemption", seed, r.Spins, r.Outcome.Nondeterministic)
		}
		t.Logf("seed %d: %d decisions, %d reruns, spin sites %v, in %v", seed, len(r.Decisions), r.Reruns, r.Spins, time.Since(start).Round(time.Millisecond))
	}
}

// switcher is a Decider that picks another thread than the one at the
// point whenever it can.
type switcher struct{}

func (switcher) Choose(req *sched.Request) (int, error) {
	for _, o := range req.Options {
		if o != req.Thread {
			return o, nil
		}
	}
	return req.Options[0], nil
}

// TestSyncPointsFollowImports: a library's sync functions become points
// when some mapped object imports them: none for a program that uses no
// pthread function, pthread_mutex_lock/unlock once a dlopened plugin that
// calls them is mapped (and its calls are points, counted per thread).
func TestSyncPointsFollowImports(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	plugin := filepath.Join(dir, "plugin.so")
	if b, err := exec.Command("gcc", "-O1", "-shared", "-fPIC", "-pthread", "-o", plugin, filepath.Join("testdata", "plugin.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	prog := filepath.Join(dir, "dlopen_lock")
	if b, err := exec.Command("gcc", "-O1", "-o", prog, filepath.Join("testdata", "dlopen_lock.c"), "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	runPoints := func(argv ...string) *explore.Result {
		r, err := explore.Run(context.Background(), &explore.Target{Path: argv[0], Args: argv},
			explore.Config{Seed: 1, Timeout: 20 * time.Second, Points: points.Sync})
		if err != nil {
			t.Fatal(err)
		}
		if r.Failed() {
			t.Fatalf("%v: %s\n%s", argv, r.Describe(), r.Stderr)
		}
		return r
	}
	names := func(r *explore.Result) map[string]bool {
		m := map[string]bool{}
		for _, p := range r.Outcome.Points {
			m[p.Name] = true
		}
		return m
	}
	if got := names(runPoints("/bin/true")); len(got) != 0 {
		t.Errorf("/bin/true imports no sync function, but points were planted: %v", got)
	}
	r := runPoints(prog, plugin)
	got := names(r)
	if !got["pthread_mutex_lock"] || !got["pthread_mutex_unlock"] || got["pthread_rwlock_rdlock"] {
		t.Errorf("points after dlopen: %v, want pthread_mutex_lock and _unlock only", got)
	}
	hits := 0
	for _, p := range r.Outcome.Threads[0].Last {
		if strings.HasPrefix(p, "pthread_mutex_lock#") {
			hits++
		}
	}
	if hits != 2 || string(r.Stdout) != "locked 2 times\n" {
		t.Errorf("last points %v (%d lock hits, want 2), stdout %q", r.Outcome.Threads[0].Last, hits, r.Stdout)
	}
}

// TestYieldAtFunction: a -yield-at function is a point at its entry, hit
// once per call and counted per thread.
func TestYieldAtFunction(t *testing.T) {
	testenv.RequirePtrace(t)
	prog := filepath.Join(t.TempDir(), "lock_sections")
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", prog, filepath.Join("..", "corpus", "programs", "lock_sections.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	specs, err := points.ParseYieldAt("worker")
	if err != nil {
		t.Fatal(err)
	}
	r, err := explore.Run(context.Background(), &explore.Target{Path: prog, Args: []string{prog}},
		explore.Config{Seed: 1, Timeout: 20 * time.Second, YieldAt: specs})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Outcome.Warnings) > 0 || len(r.Outcome.Points) != 1 || r.Outcome.Points[0].Name != "worker" {
		t.Fatalf("points %+v, warnings %v", r.Outcome.Points, r.Outcome.Warnings)
	}
	for _, th := range r.Outcome.Threads[1:] {
		n := 0
		for _, p := range th.Last {
			if strings.HasPrefix(p, "worker#") {
				n++
				if p != "worker#1" {
					t.Errorf("thread %d: %s, want worker#1 (counted per thread)", th.Vtid, p)
				}
			}
		}
		if n != 1 {
			t.Errorf("thread %d hit worker %d times: %v", th.Vtid, n, th.Last)
		}
	}
}

// TestSyncPointsAfterExec: points are planted in a program that a shell
// execs (the shell's image is replaced): the lock-window bug is found.
func TestSyncPointsAfterExec(t *testing.T) {
	testenv.RequirePtrace(t)
	prog := filepath.Join(t.TempDir(), "lock_sections")
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", prog, filepath.Join("..", "corpus", "programs", "lock_sections.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	for seed := uint64(1); seed <= 300; seed++ {
		r, err := explore.Run(context.Background(), &explore.Target{Path: "/bin/sh", Args: []string{"sh", "-c", "exec " + prog}},
			explore.Config{Seed: seed, Timeout: 20 * time.Second, Points: points.Sync})
		if err != nil {
			t.Fatal(err)
		}
		if r.Failed() {
			if !strings.Contains(string(r.Stderr), "lost update") {
				t.Fatalf("seed %d: %s %q", seed, r.Describe(), r.Stderr)
			}
			return
		}
	}
	t.Fatal("the lock-window bug was not found in 300 runs through sh -c exec")
}

// TestSyncPointsInForkedChild: a forked child inherits its parent's points
// (its text is a copy-on-write copy with the int3s): a lock-window bug in
// the child is found.
func TestSyncPointsInForkedChild(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "fork_locks")
	for seed := uint64(1); seed <= 300; seed++ {
		r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}},
			explore.Config{Seed: seed, Timeout: 20 * time.Second, Points: points.Sync})
		if err != nil {
			t.Fatal(err)
		}
		if r.Failed() {
			if !strings.Contains(string(r.Stderr), "lost update in the child") {
				t.Fatalf("seed %d: %s %q", seed, r.Describe(), r.Stderr)
			}
			return
		}
	}
	t.Fatal("the child's lock-window bug was not found in 300 runs")
}

// TestPointsSurviveUnmap: a library unloaded (dlclose) and loaded again
// gets its points again. Unmapping took the int3s with it, so the
// tracer's table must forget them; a stale entry once kept a reloaded
// library from being planted (points lost) and could be taken for an int3
// of ours in whatever was mapped there next.
func TestPointsSurviveUnmap(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	plugin := filepath.Join(dir, "plugin.so")
	if b, err := exec.Command("gcc", "-O1", "-shared", "-fPIC", "-pthread", "-o", plugin, filepath.Join("testdata", "plugin.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	prog := filepath.Join(dir, "dlopen_churn")
	if b, err := exec.Command("gcc", "-O1", "-o", prog, filepath.Join("testdata", "dlopen_churn.c"), "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	specs, err := points.ParseYieldAt("plugin_locked")
	if err != nil {
		t.Fatal(err)
	}
	r, err := explore.Run(context.Background(), &explore.Target{Path: prog, Args: []string{prog, plugin}},
		explore.Config{Seed: 1, Timeout: 20 * time.Second, YieldAt: specs, Timeline: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() || string(r.Stdout) != "5 rounds\n" {
		t.Fatalf("%s, stdout %q\n%s", r.Describe(), r.Stdout, r.Stderr)
	}
	var hits []string
	for _, sp := range r.Outcome.Timeline {
		if strings.Contains(sp.Point, "plugin_locked#") {
			hits = append(hits, sp.Point)
		}
	}
	if len(hits) != 5 {
		t.Fatalf("plugin_locked points %v, want 5 (one per load)", hits)
	}
}
