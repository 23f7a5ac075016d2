package symbols

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPreload: a cache that keeps tables on disk records the files a
// live process mapped (the program, ld.so, libc), in the order it mapped
// them, and a later cache's Preload opens those files ahead and hands each
// to warm; the objects a tracker then finds are the preloaded ones. A list
// that did not change is not written again; a stale list (a file gone) is
// harmless; without a list, or a disk directory, Preload does nothing.
func TestPreload(t *testing.T) {
	dir := t.TempDir()
	prog := addrsPIE(t)
	g := startGuest(t, prog)
	g.read()

	first := NewCache([]string{}).KeepOnDisk(dir)
	defer first.Close()
	<-first.Preload(prog, nil) // no list yet
	if first.Len() != 0 {
		t.Fatalf("Preload without a list opened %d files", first.Len())
	}
	objs := NewObjects(first, g.pid())
	if _, err := objs.Refresh(); err != nil {
		t.Fatal(err)
	}
	first.SavePreload(prog)
	files, _ := filepath.Glob(filepath.Join(dir, "preload-*"))
	if len(files) != 1 {
		t.Fatalf("preload lists %v", files)
	}
	b, _ := os.ReadFile(files[0])
	listed := strings.Fields(string(b))
	var mapped []string
	for _, im := range objs.Images() {
		if !slices.Contains(mapped, im.Path) {
			mapped = append(mapped, im.Path)
		}
	}
	if len(listed) < 3 || listed[0] != prog || !sameSet(listed, mapped) {
		t.Fatalf("listed %q, the process maps %q", listed, mapped)
	}

	second := NewCache([]string{}).KeepOnDisk(dir)
	defer second.Close()
	var warmed []string
	<-second.Preload(prog, func(o *Object) { warmed = append(warmed, o.Path) })
	if !slices.Equal(warmed, listed) || second.Len() != len(listed) {
		t.Fatalf("preloaded %q (%d files), want %q", warmed, second.Len(), listed)
	}
	objs2 := NewObjects(second, g.pid())
	ch, err := objs2.Refresh()
	if err != nil {
		t.Fatal(err)
	}
	if second.Len() != len(listed) {
		t.Errorf("the tracker opened %d files more than the preload", second.Len()-len(listed))
	}
	for _, im := range ch.Added {
		if o, _ := second.Open(im.Path); o != im.Object {
			t.Errorf("%s: the tracker's object is not the preloaded one", im.Path)
		}
	}
	st, _ := os.Stat(files[0])
	second.SavePreload(prog)
	if st2, _ := os.Stat(files[0]); !os.SameFile(st, st2) {
		t.Error("an unchanged list was written again") // (through a rename: a new file)
	}

	// A listed file gone: the rest is preloaded.
	if err := os.WriteFile(files[0], []byte("/nonexistent/lib.so\n"+strings.Join(listed, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	third := NewCache([]string{}).KeepOnDisk(dir)
	defer third.Close()
	<-third.Preload(prog, nil)
	if third.Len() != len(listed) {
		t.Errorf("with a stale entry: %d files preloaded, want %d", third.Len(), len(listed))
	}
	var none *Cache
	<-none.Preload(prog, nil)
	none.SavePreload(prog)
	noDisk := NewCache([]string{})
	defer noDisk.Close()
	<-noDisk.Preload(prog, nil)
	if noDisk.Len() != 0 {
		t.Error("a cache without a disk directory preloaded")
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
