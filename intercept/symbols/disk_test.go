package symbols

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestKeepOnDisk: a cache keeping tables on disk writes one per object
// with a build ID; a new cache reading them gives objects equal to parsed
// ones (symbols, indexes, imports, flags) whose lookups and DWARF line
// tables still work; an unreadable table file is parsed over and
// rewritten.
func TestKeepOnDisk(t *testing.T) {
	dir := t.TempDir()
	paths := []string{libcPath(t), addrsPIE(t), goSync(t, false)}
	first := NewCache([]string{}).KeepOnDisk(dir)
	defer first.Close()
	for _, p := range paths {
		if _, err := first.Open(p); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*."+diskFormat))
	if len(files) != len(paths) {
		t.Fatalf("%d table files for %d objects: %v", len(files), len(paths), files)
	}
	check := func(name string) {
		t.Helper()
		second := NewCache([]string{}).KeepOnDisk(dir)
		defer second.Close()
		for _, p := range paths {
			want, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer want.Close()
			got, err := second.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.syms, want.syms) || !reflect.DeepEqual(got.byAddr, want.byAddr) ||
				!reflect.DeepEqual(got.byName, want.byName) || !reflect.DeepEqual(got.Imports, want.Imports) ||
				got.HasSymtab != want.HasSymtab || got.IsGo != want.IsGo || got.BuildID != want.BuildID {
				t.Errorf("%s: %s: the object read from disk differs from the parsed one", name, p)
			}
			if (got.dw == nil) != (want.dw == nil) {
				t.Errorf("%s: %s: DWARF %v, parsed %v", name, p, got.dw != nil, want.dw != nil)
			}
		}
		o, _ := second.Open(addrsPIE(t))
		if len(o.Funcs("main")) != 1 {
			t.Errorf("%s: main: %#x", name, o.Funcs("main"))
		}
		if as, err := o.Lines("addrs.c", markedLine(t, "addrs.c", "bump")); err != nil {
			t.Errorf("%s: Lines: %v", name, err)
		} else if len(as) == 0 {
			t.Errorf("%s: no address for LINE(bump)", name)
		}
	}
	check("read back")
	for _, f := range files {
		if err := os.WriteFile(f, []byte("not a table"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check("garbage")
	for _, f := range files {
		if b, _ := os.ReadFile(f); string(b) == "not a table" {
			t.Errorf("%s was not rewritten", f)
		}
	}
}
