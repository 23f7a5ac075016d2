package replay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWriteAtomic: both ways of writing leave the file complete, with
// its mode, and nothing else in the directory; an existing file is
// replaced.
func TestWriteAtomic(t *testing.T) {
	for name, write := range map[string]func(string, []byte) error{"linked": writeAtomic, "renamed": writeRenamed} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "a.seed")
			for _, data := range []string{"first\n", "second, longer\n"} {
				if err := write(p, []byte(data)); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(p)
				if err != nil || string(got) != data {
					t.Fatalf("read back %q, %v; want %q", got, err, data)
				}
			}
			st, _ := os.Stat(p)
			if st.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", st.Mode())
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Errorf("directory holds %d entries, want only the file", len(ents))
			}
		})
	}
}

// TestCleanTemp: temporary files that no writer holds and that are not
// brand new are removed, in the corpus and its signature directories;
// locked and fresh ones stay.
func TestCleanTemp(t *testing.T) {
	dir := t.TempDir()
	sig := filepath.Join(dir, "exit-1-x-00000000")
	if err := os.MkdirAll(sig, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	files := map[string]bool{ // path: kept
		filepath.Join(dir, ".tmp-1"):      false,
		filepath.Join(sig, ".tmp-2"):      false,
		filepath.Join(sig, ".tmp-locked"): true,
		filepath.Join(sig, ".tmp-fresh"):  true,
		filepath.Join(sig, "a.seed"):      true,
	}
	for p := range files {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(p, "fresh") {
			os.Chtimes(p, old, old)
		}
	}
	f, err := os.Open(filepath.Join(sig, ".tmp-locked"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	n, err := Store{Dir: dir}.CleanTemp()
	if err != nil || n != 2 {
		t.Errorf("CleanTemp = %d, %v; want 2 removed", n, err)
	}
	for p, kept := range files {
		if _, err := os.Stat(p); (err == nil) != kept {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, kept)
		}
	}
	if n, err := (Store{Dir: filepath.Join(dir, "none")}).CleanTemp(); n != 0 || err != nil {
		t.Errorf("a corpus that does not exist: %d, %v", n, err)
	}
}

// TestPathsFollowLinks: links to seed files and to directories are
// followed, a loop is walked once, a dangling link skipped.
func TestPathsFollowLinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	os.MkdirAll(filepath.Join(real, "sig"), 0o755)
	os.WriteFile(filepath.Join(real, "sig", "a.seed"), []byte("x"), 0o644)
	c := filepath.Join(dir, "c")
	os.Mkdir(c, 0o755)
	os.Symlink(filepath.Join(real, "sig", "a.seed"), filepath.Join(c, "one.seed"))
	os.Symlink(real, filepath.Join(c, "dir"))
	os.Symlink(c, filepath.Join(c, "loop"))
	os.Symlink("/nonexistent", filepath.Join(c, "dangling.seed"))
	paths, err := Store{Dir: c}.Paths()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(c, "dir", "sig", "a.seed"), filepath.Join(c, "one.seed")}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("Paths = %v, want %v", paths, want)
	}
}

// TestVerdictKeysAndKeyLine: the classification keys round-trip; bad
// ones are errors naming their line; KeyLine finds a key's line.
func TestVerdictKeysAndKeyLine(t *testing.T) {
	base := "schedfuzz seed v1\ntarget: \"/x\"\nsha256: " + strings.Repeat("a", 64) + "\nseed: 1\n"
	sf, err := Parse(strings.NewReader(base + "expect-exit: 0, 3\nfailure: \"a\\\\d\"\nignore: \"b\"\ndecisions: 0\nend\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sf.ExpectExit) != 2 || sf.ExpectExit[1] != 3 || sf.Failure != `a\d` || sf.Ignore != "b" {
		t.Errorf("parsed %+v", sf)
	}
	enc, err := sf.Encode()
	if err != nil || !strings.Contains(string(enc), "\nexpect-exit: 0,3\nfailure: \"a\\\\d\"\nignore: \"b\"\n") {
		t.Errorf("encoded (%v):\n%s", err, enc)
	}
	for _, bad := range []string{"expect-exit: 256\n", "expect-exit: x\n", "failure: \"(\"\n", "ignore: b\n"} {
		_, err := Parse(strings.NewReader(base + bad + "decisions: 0\nend\n"))
		if pe, ok := err.(*ParseError); !ok || pe.Line != 5 {
			t.Errorf("%q: %v, want an error at line 5", bad, err)
		}
	}
	p := filepath.Join(t.TempDir(), "s.seed")
	os.WriteFile(p, []byte(base+"strategy: dfs\npoint: \"yield-at x\" unresolved\ndecisions: 0\nend\n"), 0o644)
	if n := KeyLine(p, "strategy", nil); n != 5 {
		t.Errorf("KeyLine(strategy) = %d, want 5", n)
	}
	if n := KeyLine(p, "point", func(v string) bool { return strings.Contains(v, "yield-at x") }); n != 6 {
		t.Errorf("KeyLine(point) = %d, want 6", n)
	}
	if n := KeyLine(p, "cpus", nil); n != 0 {
		t.Errorf("KeyLine(cpus) = %d, want 0", n)
	}
}
