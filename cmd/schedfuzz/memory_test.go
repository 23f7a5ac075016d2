package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

var minimizedLine = regexp.MustCompile(`(?m)^minimized: schedfuzz replay (\S+)$`)

// TestMemoryPoints: a message published before it is written (two plain
// stores in the wrong order, no call between them) is not found with
// -points sync and is found with -points memory; the seed file records
// the set, each memory site planted with its address, and hits counted per
// thread; replay plants the same sites and reproduces, as does the
// minimized seed (its guided runs plant what the failing run planted); a
// rebuilt program whose sites moved is a divergence that says which.
func TestMemoryPoints(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	src := filepath.Join("..", "..", "corpus", "programs", "store_order.c")
	prog := filepath.Join(dir, "store_order")
	buildC(t, src, prog, "-g")
	if code, _, stderr := sf(t, dir, "-points", "sync", "-runs", "300", "-seed", "1", prog); code != 0 {
		t.Fatalf("-points sync: exit %d, want 0 (no sync call in the window)\n%s", code, stderr)
	}
	code, _, stderr := sf(t, dir, "-points", "memory", "-runs", "1000", "-seed", "1", prog)
	if code != 1 || !strings.Contains(stderr, "-points memory") || !strings.Contains(stderr, "torn message") {
		t.Fatalf("-points memory: exit %d, want 1\n%s", code, stderr)
	}
	file := replayLine.FindStringSubmatch(stderr)[1]
	seed := string(mustRead(t, filepath.Join(dir, file)))
	for _, re := range []string{`^points: memory$`, `^point: mem@store_order\.c:\d+ 0x[0-9a-f]+`,
		`^point: pthread_create 0x[0-9a-f]+`, `@t\d+:mem@store_order\.c:\d+#\d+$`} {
		if !regexp.MustCompile(`(?m)` + re).MatchString(seed) {
			t.Errorf("seed file lacks %s:\n%s", re, seed)
		}
	}
	for i := 0; i < 3; i++ {
		if code, _, stderr := sf(t, dir, "replay", file); code != 1 || !strings.Contains(stderr, "reproduced: exit 1") {
			t.Fatalf("replay %d: exit %d\n%s", i, code, stderr)
		}
	}
	if m := minimizedLine.FindStringSubmatch(stderr); m != nil {
		if code, _, stderr := sf(t, dir, "replay", m[1]); code != 1 {
			t.Fatalf("replay of the minimized seed: exit %d\n%s", code, stderr)
		}
	}
	// The same source with frame pointers: every site moved.
	buildC(t, src, prog, "-g", "-fno-omit-frame-pointer")
	code, _, stderr = sf(t, dir, "replay", file)
	if code != 125 || !strings.Contains(stderr, "changed since the seed was recorded") || !regexp.MustCompile(`memory points moved: mem@store_order\.c:\d+ \(recorded at 0x[0-9a-f]+, now 0x[0-9a-f]+\)`).MatchString(stderr) {
		t.Fatalf("replay of a rebuilt program: exit %d, want 125 saying which memory points moved\n%s", code, stderr)
	}
	if code, _, stderr := sf(t, dir, "-points", "memory", "-memory-sites", "0", prog); code != 2 || !strings.Contains(stderr, "-memory-sites") {
		t.Errorf("-memory-sites 0: exit %d\n%s", code, stderr)
	}
	os.RemoveAll(filepath.Join(dir, "testdata"))
}
