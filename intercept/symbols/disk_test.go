package symbols

import (
	"bytes"
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
			if name == "read back" && (got.lazy == nil || got.tab != nil) {
				t.Errorf("%s: %s: the table was read before a lookup (lazy %v)", name, p, got.lazy != nil)
			}
			if !reflect.DeepEqual(got.table(), want.table()) ||
				!reflect.DeepEqual(got.Imports, want.Imports) ||
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
	good := map[string][]byte{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if string(b) == "not a table" {
			t.Errorf("%s was not rewritten", f)
		}
		good[f] = b
		// One bit flipped in the records (a name offset, a value):
		// the checksum refuses the file.
		bad := bytes.Clone(b)
		bad[len(bad)/2] ^= 0x10
		if err := os.WriteFile(f, bad, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check("a flipped bit")
	for _, f := range files {
		if b, _ := os.ReadFile(f); !bytes.Equal(b, good[f]) {
			t.Errorf("%s was not rewritten as it was", f)
		}
	}
}

// TestTableBounds: a table whose records point outside it (a file with
// a valid checksum but written by something else) is refused, not
// indexed out of bounds.
func TestTableBounds(t *testing.T) {
	syms := []Symbol{{Name: "a", Kind: KindFunc, Value: 1}, {Name: "b", Version: "V1", Kind: KindObject, Value: 2, Size: 8}}
	tab, err := newTable(syms, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !tab.check() || !reflect.DeepEqual(tab.all(), syms) {
		t.Fatalf("table of %v: check %v, all %v", syms, tab.check(), tab.all())
	}
	for _, c := range []struct {
		name string
		edit func(*table)
	}{
		{"name past the names", func(t *table) { t.recs = string(le32(nil, 2)) + t.recs[4:] }},
		{"version past the versions", func(t *table) { t.recs = t.recs[:8] + string(le32(nil, 5)) + t.recs[12:] }},
		{"index past the records", func(t *table) { t.addrs = string(le32(nil, 2)) + t.addrs[4:] }},
		{"a short record", func(t *table) { t.recs = t.recs[:recSize+1] }},
	} {
		bad := *tab
		c.edit(&bad)
		if bad.check() {
			t.Errorf("%s: check passed", c.name)
		}
	}
}
