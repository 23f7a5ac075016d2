package hunt

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/replay"
)

// TestProgramSHA256: a large program's hash is kept by the file's
// identity and read back; a rewrite of the file (a new change time) is
// hashed again; a kept file that says something else is not believed.
func TestProgramSHA256(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	prog := filepath.Join(t.TempDir(), "big")
	data := bytes.Repeat([]byte("schedfuzz"), keepHashAbove/8)
	if err := os.WriteFile(prog, data, 0o755); err != nil {
		t.Fatal(err)
	}
	want, _ := replay.FileSHA256(prog)
	if got, err := programSHA256(prog); err != nil || got != want {
		t.Fatalf("first: %s %v, want %s", got, err, want)
	}
	kept, _ := filepath.Glob(filepath.Join(CacheDir("sha256"), "*"))
	if len(kept) != 1 {
		t.Fatalf("kept %v", kept)
	}
	b, _ := os.ReadFile(kept[0])
	key, _, _ := strings.Cut(string(b), "\n")
	// A kept sum is believed: a forged one (same key) is returned...
	forged := strings.Repeat("ab", 32)
	os.WriteFile(kept[0], []byte(key+"\n"+forged+"\n"), 0o644)
	if got, _ := programSHA256(prog); got != forged {
		t.Fatalf("the kept sum was not used: %s", got)
	}
	// ...until the file changes.
	data[0] = 'S'
	if err := os.WriteFile(prog, data, 0o755); err != nil {
		t.Fatal(err)
	}
	want, _ = replay.FileSHA256(prog)
	if got, _ := programSHA256(prog); got != want {
		t.Errorf("after a rewrite: %s, want %s", got, want)
	}
	os.WriteFile(kept[0], []byte("garbage"), 0o644)
	for _, k := range kept {
		os.WriteFile(k, []byte("garbage"), 0o644)
	}
	if got, _ := programSHA256(prog); got != want {
		t.Errorf("with a garbage kept file: %s, want %s", got, want)
	}
}
