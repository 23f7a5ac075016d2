package points

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/sched/points/memsites"
)

// TestPlanTSC: a plan finds libc's rdtsc sites (sure) and keeps them on
// disk by build ID, where a later plan reads them even once the object's
// path names nothing; without the cache an object whose file is gone is
// not sure, nor one whose path now names another file; a second path to
// the same file (a live process's map_files entry) is used.
func TestPlanTSC(t *testing.T) {
	tmp := t.TempDir()
	data, err := os.ReadFile(libc(t))
	if err != nil {
		t.Fatal(err)
	}
	path, link := filepath.Join(tmp, "libc.so.6"), filepath.Join(tmp, "link")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(path, link); err != nil {
		t.Fatal(err)
	}
	o, err := symbols.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	dir := t.TempDir()
	p := NewPlan(Sync, nil)
	p.CacheTSC(dir)
	sites, sure := p.TSC(o, "")
	if !sure || len(sites) == 0 {
		t.Fatalf("libc: %d sites, sure %v", len(sites), sure)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, o.BuildID+".*")); len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	q := NewPlan(Sync, nil)
	q.CacheTSC(dir)
	if again, sure := q.TSC(o, ""); !sure || !reflect.DeepEqual(again, sites) {
		t.Errorf("from disk: %v sure %v, want %v", again, sure, sites)
	}
	if _, sure := NewPlan(Sync, nil).TSC(o, ""); sure {
		t.Error("an object whose file is gone is sure")
	}
	// WarmTSC reads the list ahead from disk: TSC then has it even once
	// the list is gone; a plan whose disk has no list warms nothing.
	w := NewPlan(Sync, nil)
	w.CacheTSC(dir)
	w.WarmTSC(o)
	empty := NewPlan(Sync, nil)
	empty.CacheTSC(t.TempDir())
	empty.WarmTSC(o)
	saved, _ := os.ReadFile(w.tscFile(o))
	if err := os.Remove(w.tscFile(o)); err != nil {
		t.Fatal(err)
	}
	if warm, sure := w.TSC(o, ""); !sure || !reflect.DeepEqual(warm, sites) {
		t.Errorf("warmed: %v sure %v, want %v", warm, sure, sites)
	}
	if _, sure := empty.TSC(o, ""); sure {
		t.Error("WarmTSC without a list on disk memoized one")
	}
	if err := os.WriteFile(w.tscFile(o), saved, 0o644); err != nil {
		t.Fatal(err)
	}
	if alt, sure := NewPlan(Sync, nil).TSC(o, link); !sure || !reflect.DeepEqual(alt, sites) {
		t.Errorf("through a second path: %v sure %v", alt, sure)
	}
	if err := os.WriteFile(path, []byte("another file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, sure := NewPlan(Sync, nil).TSC(o, ""); sure {
		t.Error("another file under the object's path was taken for it")
	}
}

// TestTSCEncoding: site lists round-trip through their file encoding
// (empty, unsure, several sites), and what is not one is refused: another
// format, a cut file, trailing bytes, sites out of order.
func TestTSCEncoding(t *testing.T) {
	for _, e := range []tscEntry{
		{Sure: true},
		{Sites: []memsites.TSCSite{{Vaddr: 0x1000, Len: 2}}},
		{Sites: []memsites.TSCSite{{Vaddr: 0x1000, Len: 2}, {Vaddr: 0x1003, Len: 3}, {Vaddr: 1 << 40, Len: 2}}, Sure: true},
	} {
		var got tscEntry
		if !decodeTSC(encodeTSC(&e), &got) || got.Sure != e.Sure || len(got.Sites) != len(e.Sites) ||
			len(e.Sites) > 0 && !reflect.DeepEqual(got.Sites, e.Sites) {
			t.Errorf("%+v: read back as %+v", e, got)
		}
	}
	good := encodeTSC(&tscEntry{Sites: []memsites.TSCSite{{Vaddr: 0x1000, Len: 2}, {Vaddr: 0x2000, Len: 3}}, Sure: true})
	for name, b := range map[string][]byte{
		"gob":        []byte("\x1d\xff\x81\x03\x01\x01\x08tscEntry"),
		"cut":        good[:len(good)-1],
		"trailing":   append(append([]byte(nil), good...), 0),
		"repeated":   withCRC(1, 2, 0x80, 0x20, 2, 0, 3),
		"too long":   withCRC(1, 1, 1, 16),
		"flipped":    append(append([]byte(nil), good[:len(good)-1]...), good[len(good)-1]^1),
		"other file": []byte("tsc-v1"),
	} {
		var e tscEntry
		if decodeTSC(b, &e) {
			t.Errorf("%s: accepted as %+v", name, e)
		}
	}
}

// withCRC is a tsc file with body b and a right checksum.
func withCRC(b ...byte) []byte {
	return append(binary.LittleEndian.AppendUint32([]byte(tscFormat), crc32.ChecksumIEEE(b)), b...)
}
