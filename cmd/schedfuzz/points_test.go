package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

func buildCorpus(t *testing.T, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	buildC(t, filepath.Join("..", "..", "corpus", "programs", name+".c"), out)
	return out
}

// TestPointSets: a lost update between two lock-protected sections is
// invisible with syscall points and found with sync points (the default);
// the seed file records the point set with its addresses; replay follows
// it, and refuses a different point set with an explanation.
func TestPointSets(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildCorpus(t, dir, "lock_sections")
	if code, _, stderr := sf(t, dir, "-points", "syscalls", "-runs", "200", "-seed", "1", prog); code != 0 {
		t.Fatalf("-points syscalls: exit %d, want 0 (the window holds no syscall)\n%s", code, stderr)
	}
	code, _, stderr := sf(t, dir, "-runs", "300", "-seed", "1", "-minimize=false", prog)
	if code != 1 || !strings.Contains(stderr, "-points sync") {
		t.Fatalf("default points: exit %d, want 1\n%s", code, stderr)
	}
	file := replayLine.FindStringSubmatch(stderr)[1]
	seed := string(mustRead(t, filepath.Join(dir, file)))
	for _, re := range []string{`(?m)^points: sync$`, `(?m)^point: pthread_mutex_lock 0x[0-9a-f]+`, `(?m)^point: pthread_mutex_unlock 0x[0-9a-f]+`,
		`@t\d+:pthread_mutex_(un)?lock#\d+$`} {
		if !regexp.MustCompile(`(?m)` + re).MatchString(seed) {
			t.Errorf("seed file lacks %s:\n%s", re, seed)
		}
	}
	for i := 0; i < 3; i++ {
		if code, _, stderr := sf(t, dir, "replay", file); code != 1 || !strings.Contains(stderr, "reproduced: exit 1") {
			t.Fatalf("replay %d: exit %d\n%s", i, code, stderr)
		}
	}
	code, _, stderr = sf(t, dir, "replay", "-points", "syscalls", file)
	if code != 125 || !strings.Contains(stderr, "recorded with -points sync, the replay asks for -points syscalls") {
		t.Fatalf("replay with another point set: exit %d, want 125 with an explanation\n%s", code, stderr)
	}
}

// TestWatchAndYieldAt: -watch turns accesses to a global into points (a
// race on a plain flag is found); points that resolve to nothing are said
// once and the session runs on.
func TestWatchAndYieldAt(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildCorpus(t, dir, "flag_race")
	code, _, stderr := sf(t, dir, "-points", "syscalls", "-watch", "claimed", "-runs", "300", "-seed", "1", "-minimize=false", prog)
	if code != 1 || !strings.Contains(stderr, "job claimed 2 times") {
		t.Fatalf("-watch claimed: exit %d, want 1\n%s", code, stderr)
	}
	seed := string(mustRead(t, filepath.Join(dir, replayLine.FindStringSubmatch(stderr)[1])))
	if !regexp.MustCompile(`(?m)^point: "watch claimed" 0x[0-9a-f]+$`).MatchString(seed) || !strings.Contains(seed, ":watch:claimed#") {
		t.Errorf("seed file does not record the watchpoint:\n%s", seed)
	}
	code, _, stderr = sf(t, dir, "-points", "syscalls", "-watch", "no_such_var", "-yield-at", "no_such_func", "-runs", "5", "-seed", "1", prog)
	if code != 0 {
		t.Fatalf("unresolved points: exit %d, want 0 (run on)\n%s", code, stderr)
	}
	for _, want := range []string{"-watch no_such_var: no global variable no_such_var", "-yield-at no_such_func: not resolved"} {
		if n := strings.Count(stderr, want); n != 1 {
			t.Errorf("%q said %d times, want once:\n%s", want, n, stderr)
		}
	}
	for _, bad := range [][]string{{"-points", "all"}, {"-watch", "x:3"}, {"-yield-at", "bug.c:"}} {
		code, _, stderr := sf(t, dir, append(bad, prog)...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("schedfuzz %v: exit %d, want 2 with one line:\n%s", bad, code, stderr)
		}
	}
}

func buildC(t *testing.T, src, out string, flags ...string) {
	t.Helper()
	args := append([]string{"-O1", "-pthread", "-o", out, src}, flags...)
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
}

// TestSyncPointsStaticAndStripped: the sync set works on a static glibc
// binary (pthread symbols are in it) and on a stripped dynamic one
// (libc's are in its .dynsym).
func TestSyncPointsStaticAndStripped(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	src := filepath.Join("..", "..", "corpus", "programs", "lock_sections.c")
	static := filepath.Join(dir, "lock_static")
	buildC(t, src, static, "-static")
	stripped := filepath.Join(dir, "lock_stripped")
	buildC(t, src, stripped, "-s")
	for _, prog := range []string{static, stripped} {
		code, _, stderr := sf(t, dir, "-points", "sync", "-runs", "300", "-seed", "2", "-minimize=false", prog)
		if code != 1 || !strings.Contains(stderr, "lost update") {
			t.Errorf("%s: exit %d, want the bug found\n%s", filepath.Base(prog), code, stderr)
		}
	}
}

// TestYieldAt: a user point at a source line. With syscall points only,
// a yield at the second lock of lock_sections' worker (through DWARF) is
// enough to find its lost update, and replays.
func TestYieldAt(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	src := filepath.Join("..", "..", "corpus", "programs", "lock_sections.c")
	prog := filepath.Join(dir, "lock_sections")
	buildC(t, src, prog, "-g")
	var locks []int
	for i, l := range strings.Split(string(mustRead(t, src)), "\n") {
		if strings.TrimSpace(l) == "pthread_mutex_lock(&mu);" {
			locks = append(locks, i+1)
		}
	}
	if len(locks) != 2 {
		t.Fatalf("lock_sections.c: %d lock lines, want 2", len(locks))
	}
	line := "lock_sections.c:" + strconv.Itoa(locks[1])
	code, _, stderr := sf(t, dir, "-points", "syscalls", "-yield-at", line, "-runs", "300", "-seed", "1", "-minimize=false", prog)
	if code != 1 || !strings.Contains(stderr, "lost update") {
		t.Fatalf("-yield-at %s: exit %d, want the bug found\n%s", line, code, stderr)
	}
	seed := string(mustRead(t, filepath.Join(dir, replayLine.FindStringSubmatch(stderr)[1])))
	if !regexp.MustCompile(`(?m)^point: "yield-at `+regexp.QuoteMeta(line)+`" 0x[0-9a-f]+`).MatchString(seed) ||
		!strings.Contains(seed, ":"+line+"#") {
		t.Errorf("seed file does not record the line point:\n%s", seed)
	}
	if code, _, stderr := sf(t, dir, "replay", replayLine.FindStringSubmatch(stderr)[1]); code != 1 {
		t.Errorf("replay: exit %d\n%s", code, stderr)
	}
}
