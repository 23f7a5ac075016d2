package points

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
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
