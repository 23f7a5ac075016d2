package replay

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/sched"
)

func seedWith(sig string, seed uint64) *SeedFile {
	ds := []sched.Decision{pick(1, "t1:write", 0, 1)}
	return &SeedFile{Tool: "test", Target: "/tmp/my prog", SHA256: sha, Seed: seed, Outcome: "exit 1",
		Signature: sig, Digest: Digest(ds), Decisions: ds}
}

func seedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestStoreSave(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "corpus")} // created by Save
	a := seedWith("exit 1 @t1:write", 1)
	p1, known, err := s.Save(a)
	if err != nil || known {
		t.Fatalf("first Save: %s, known=%v, %v", p1, known, err)
	}
	dir := filepath.Base(filepath.Dir(p1))
	if !strings.HasPrefix(dir, "exit-1-t1-write-") || len(dir) != len("exit-1-t1-write-")+8 || filepath.Dir(p1) != s.SignatureDir(a.Signature) {
		t.Errorf("signature directory %q", dir)
	}
	if base := filepath.Base(p1); !strings.HasPrefix(base, "my-prog-") || !strings.HasSuffix(base, ".seed") {
		t.Errorf("seed file name %q", base)
	}
	got, err := Load(p1)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("Load: %+v, %v", got, err)
	}
	// The same content again: no new file, the same path, known.
	p2, known, err := s.Save(seedWith("exit 1 @t1:write", 1))
	if err != nil || !known || p2 != p1 {
		t.Fatalf("identical Save: %s, known=%v, %v", p2, known, err)
	}
	// Another seed with the same signature: known, a second file there.
	p3, known, err := s.Save(seedWith("exit 1 @t1:write", 2))
	if err != nil || !known || p3 == p1 || filepath.Dir(p3) != filepath.Dir(p1) {
		t.Fatalf("same signature: %s, known=%v, %v", p3, known, err)
	}
	// Another signature: new, its own directory.
	p4, known, err := s.Save(seedWith("deadlock @t0:futex,t1:futex", 1))
	if err != nil || known || filepath.Dir(p4) == filepath.Dir(p1) {
		t.Fatalf("new signature: %s, known=%v, %v", p4, known, err)
	}
	// Signatures that slug alike still get their own directories.
	p5, known, err := s.Save(seedWith("exit 1 @t1 write", 1))
	if err != nil || known || filepath.Dir(p5) == filepath.Dir(p1) {
		t.Fatalf("look-alike signature: %s, known=%v, %v", p5, known, err)
	}
	if files := seedFiles(t, s.Dir); len(files) != 4 {
		t.Fatalf("corpus holds %q, want 4 seed files and no temporary files", files)
	}
	// A seed without a signature is filed under its outcome.
	b := seedWith("", 3)
	p6, _, err := s.Save(b)
	if err != nil || filepath.Dir(p6) != s.SignatureDir("exit 1") {
		t.Fatalf("unsigned seed: %s, %v", p6, err)
	}
	// An invalid seed is refused before anything is written.
	bad := seedWith("x", 1)
	bad.SHA256 = "nope"
	if _, _, err := s.Save(bad); err == nil {
		t.Fatal("saved a seed with a bad sha256")
	}
}

// TestStoreFlat: seed files lying directly in the corpus directory (the
// layout before Store) count for List and for Known.
func TestStoreFlat(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	old := seedWith("", 9)
	old.Signature = ""
	enc, err := old.Encode()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Dir, "lost_update-exit-1-0123.seed"), enc, 0o644)
	os.WriteFile(filepath.Join(s.Dir, "notes.txt"), []byte("not a seed"), 0o644)
	if _, known, err := s.Save(seedWith("exit 1", 10)); err != nil || !known {
		t.Fatalf("Save with a flat seed of the same (outcome) signature: known=%v, %v", known, err)
	}
	if _, known, err := s.Save(seedWith("exit 1 @t1:write", 10)); err != nil || known {
		t.Fatalf("Save with another signature: known=%v, %v", known, err)
	}
	entries, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		rel, _ := filepath.Rel(s.Dir, e.Path)
		paths = append(paths, rel)
		if e.Seed == nil || e.Seed.SHA256 != sha {
			t.Errorf("%s: not loaded", e.Path)
		}
	}
	if len(paths) != 3 || paths[2] != "lost_update-exit-1-0123.seed" || !strings.HasPrefix(paths[0], "exit-1-") {
		t.Fatalf("List = %q", paths)
	}
	for i := 1; i < len(paths); i++ {
		if entries[i-1].Path > entries[i].Path {
			t.Fatalf("List not sorted: %q", paths)
		}
	}
}

func TestStoreListErrors(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if _, _, err := s.Save(seedWith("a", 1)); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(s.Dir, "deep", "er")
	os.MkdirAll(sub, 0o755)
	bad := filepath.Join(sub, "broken.seed")
	os.WriteFile(bad, []byte("schedfuzz seed v1\nseed: nope\n"), 0o644)
	_, err := s.List()
	if err == nil || !strings.Contains(err.Error(), bad+": seed file line 2: bad seed") {
		t.Fatalf("List with a corrupt file: %v", err)
	}
	if _, err := (Store{Dir: filepath.Join(s.Dir, "missing")}).List(); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("List of a missing directory: %v", err)
	}
	if _, err := Load(filepath.Join(s.Dir, "missing.seed")); err == nil || strings.Count(err.Error(), "missing.seed") != 1 {
		t.Fatalf("Load of a missing file: %v", err)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"exit 1 @t1:write":            "exit-1-t1-write",
		"deadlock @t0:futex,t1:futex": "deadlock-t0-futex-t1-futex",
		"signal SIGSEGV":              "signal-sigsegv",
		"../../etc/passwd":            "etc-passwd",
		"":                            "x",
		"...":                         "x",
		"ünïcode ok":                  "n-code-ok",
	} {
		if got := slug(in, 48); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
	if got := slug(strings.Repeat("ab ", 100), 10); len(got) > 10 {
		t.Errorf("slug not bounded: %q", got)
	}
}

func TestFileSHA256(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("abc"), 0o644)
	if got, err := FileSHA256(p); err != nil || got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("FileSHA256 = %s, %v", got, err)
	}
}
