package symbols

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestSymbolsMatchReadelf compares every defined symbol readelf lists
// with Funcs/Data/Symbols, and every symbol the Object holds with
// readelf, for each kind of binary.
func TestSymbolsMatchReadelf(t *testing.T) {
	bins := []struct {
		name string
		path func(testing.TB) string
	}{
		{"pie_g", addrsPIE},
		{"nopie_g", addrsNoPIE},
		{"static", addrsStatic},
		{"stripped", addrsStripped},
		{"shared_lib", plugSO},
		{"libc", libcPath},
		{"go", func(t testing.TB) string { return goSync(t, false) }},
		{"go_pie", func(t testing.TB) string { return goSync(t, true) }},
	}
	for _, b := range bins {
		t.Run(b.name, func(t *testing.T) {
			path := b.path(t)
			o := mustOpen(t, path)
			rows := readelfSyms(t, path)
			checkAgainstReadelf(t, o, rows)
		})
	}
}

func checkAgainstReadelf(t *testing.T, o *Object, rows []readelfSym) {
	t.Helper()
	type key struct {
		name  string
		value uint64
		kind  Kind
	}
	want := map[key]bool{}
	objects := map[string]map[uint64]uint64{} // name -> value -> size
	defaultAt := map[key]bool{}
	tlsNames := map[string]bool{}
	funcAt := map[string]map[uint64]bool{}
	hasSymtab := false
	nfunc, nobj := 0, 0
	for _, r := range rows {
		if r.table == ".symtab" {
			hasSymtab = true
		}
		if r.ndx == "UND" || r.name == "" {
			continue
		}
		name := baseName(r.name)
		var k Kind
		switch r.typ {
		case "FUNC":
			k = KindFunc
			nfunc++
			if funcAt[name] == nil {
				funcAt[name] = map[uint64]bool{}
			}
			funcAt[name][r.value] = true
		case "IFUNC":
			k = KindIFunc
		case "OBJECT", "COMMON":
			k = KindObject
			nobj++
			if objects[name] == nil {
				objects[name] = map[uint64]uint64{}
			}
			// Versions at one address: the default one's size, else
			// the largest.
			isDefault := !strings.Contains(r.name, "@") || strings.Contains(r.name, "@@")
			dk := key{name, r.value, KindObject}
			if isDefault && !defaultAt[dk] {
				objects[name][r.value] = r.size
				defaultAt[dk] = true
			} else if !defaultAt[dk] {
				objects[name][r.value] = max(objects[name][r.value], r.size)
			}
		case "TLS":
			k = KindTLS
			tlsNames[name] = true
		default:
			continue
		}
		want[key{name, r.value, k}] = true
	}
	if o.HasSymtab != hasSymtab {
		t.Errorf("HasSymtab = %v, readelf shows .symtab: %v", o.HasSymtab, hasSymtab)
	}
	if nfunc+nobj == 0 && o.table().len() == 0 && hasSymtab {
		t.Fatal("readelf listed no symbols")
	}

	// readelf -> Object.
	for name, addrs := range funcAt {
		got := o.Funcs(name)
		for a := range addrs {
			if !slices.Contains(got, a) {
				t.Errorf("Funcs(%q) = %#x, readelf has FUNC at %#x", name, got, a)
			}
		}
		if len(got) != len(addrs) {
			t.Errorf("Funcs(%q) = %#x, readelf has %d addresses", name, got, len(addrs))
		}
	}
	for name, vals := range objects {
		addr, size, ok := o.Data(name)
		if len(vals) == 1 {
			for v, s := range vals {
				if !ok || addr != v || size != s {
					_, err := o.DataSymbol(name)
					t.Errorf("Data(%q) = %#x, %d, %v (%v); readelf: %#x, %d", name, addr, size, ok, err, v, s)
				}
			}
		} else if ok {
			t.Errorf("Data(%q) = %#x ok for %d distinct variables", name, addr, len(vals))
		}
	}
	for name := range tlsNames {
		if objects[name] != nil {
			continue
		}
		if _, err := o.DataSymbol(name); err == nil || !strings.Contains(err.Error(), "thread-local") {
			t.Errorf("DataSymbol(%q) of a TLS variable: err = %v, want thread-local", name, err)
		}
	}

	// Object -> readelf.
	for _, s := range o.table().all() {
		if !want[key{s.Name, s.Value, s.Kind}] {
			t.Errorf("Object has %s %s@%#x, readelf does not", s.Kind, s.VersionedName(), s.Value)
		}
	}
	t.Logf("%s: %d FUNC, %d OBJECT rows; %d symbols after merging .symtab and .dynsym", o.Path, nfunc, nobj, o.table().len())
}

// TestAliasesMatchNm: the names at one address are the ones nm prints.
func TestAliasesMatchNm(t *testing.T) {
	path := addrsStatic(t)
	o := mustOpen(t, path)
	addrs := o.Funcs("pthread_mutex_lock")
	if len(addrs) != 1 {
		t.Fatalf("Funcs(pthread_mutex_lock) = %#x, want one address", addrs)
	}
	var nmNames []string
	for _, l := range strings.Split(run(t, "nm", "--defined-only", path), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == fmt.Sprintf("%016x", addrs[0]) {
			nmNames = append(nmNames, f[2])
		}
	}
	slices.Sort(nmNames)
	got := o.Names(addrs[0])
	if !slices.Equal(got, nmNames) {
		t.Errorf("Names(%#x) = %v, nm: %v", addrs[0], got, nmNames)
	}
	for _, n := range []string{"pthread_mutex_lock", "__pthread_mutex_lock", "___pthread_mutex_lock"} {
		if !slices.Contains(got, n) {
			t.Errorf("Names(%#x) = %v, missing %s", addrs[0], got, n)
		}
		if f := o.Funcs(n); !slices.Equal(f, addrs) {
			t.Errorf("Funcs(%s) = %#x, want %#x (an alias)", n, f, addrs)
		}
	}
	fn, ok := o.FuncAt(addrs[0] + 1)
	if !ok || fn.Name != "pthread_mutex_lock" {
		t.Errorf("FuncAt(pthread_mutex_lock+1) = %+v, %v; want the public name", fn, ok)
	}
}

// TestVersionsAndIFuncs: glibc exports old and new versions under one
// name, and IFUNC resolvers are not functions.
func TestVersionsAndIFuncs(t *testing.T) {
	o := mustOpen(t, libcPath(t))
	var wantAll []uint64
	var deflt uint64
	for _, s := range o.Symbols("pthread_cond_wait") {
		if s.Kind == KindFunc {
			wantAll = append(wantAll, s.Value)
			if !s.Hidden {
				deflt = s.Value
			}
		}
	}
	slices.Sort(wantAll)
	if len(wantAll) < 2 || deflt == 0 {
		t.Fatalf("libc pthread_cond_wait: want a default and a compat version, got %+v", o.Symbols("pthread_cond_wait"))
	}
	if got := o.Funcs("pthread_cond_wait"); !slices.Equal(got, wantAll) {
		t.Errorf("Funcs(pthread_cond_wait) = %#x, want %#x", got, wantAll)
	}
	var def Symbol
	for _, s := range o.Symbols("pthread_cond_wait") {
		if s.Value == deflt {
			def = s
		}
	}
	if got := o.Funcs(def.VersionedName()); !slices.Equal(got, []uint64{deflt}) {
		t.Errorf("Funcs(%s) = %#x, want %#x", def.VersionedName(), got, deflt)
	}
	if got := o.Funcs("pthread_cond_wait@" + def.Version); !slices.Equal(got, []uint64{deflt}) {
		t.Errorf("Funcs(pthread_cond_wait@%s) = %#x, want %#x", def.Version, got, deflt)
	}
	if !strings.HasPrefix(def.VersionedName(), "pthread_cond_wait@@GLIBC_") {
		t.Errorf("default version spelled %q", def.VersionedName())
	}

	// Find an IFUNC (strlen is one in every x86-64 glibc).
	var ifunc Symbol
	for _, s := range o.Symbols("strlen") {
		if s.Kind == KindIFunc {
			ifunc = s
		}
	}
	if ifunc.Name == "" {
		t.Fatalf("libc strlen is not an IFUNC here: %+v", o.Symbols("strlen"))
	}
	if got := o.Funcs("strlen"); slices.Contains(got, ifunc.Value) {
		t.Errorf("Funcs(strlen) = %#x includes the IFUNC resolver %#x", got, ifunc.Value)
	}
	if o.HasSymtab {
		t.Logf("note: %s has a .symtab", o.Path)
	}
}

func TestStrippedAndDebugFile(t *testing.T) {
	stripped := addrsStripped(t)
	o := mustOpen(t, stripped)
	if o.HasSymtab {
		t.Fatal("stripped binary: HasSymtab = true")
	}
	if f := o.Funcs("worker"); f != nil {
		t.Errorf("stripped: Funcs(worker) = %#x, want nothing", f)
	}
	if _, err := o.DataSymbol("counter"); err == nil || !strings.Contains(err.Error(), "stripped") {
		t.Errorf("stripped: DataSymbol(counter) err = %v, want one saying it is stripped", err)
	}
	if _, err := o.Lines("addrs.c", markedLine(t, "addrs.c", "lock")); !errors.Is(err, ErrNoDWARF) {
		t.Errorf("stripped: Lines err = %v, want ErrNoDWARF", err)
	}
	if o.BuildID == "" {
		t.Fatal("no build ID")
	}

	// Install a debug file by build ID (objcopy --only-keep-debug) and
	// the same stripped binary resolves again.
	full := mustOpen(t, addrsPIE(t))
	if full.BuildID != o.BuildID {
		t.Fatalf("build IDs differ: %s vs %s", full.BuildID, o.BuildID)
	}
	dbgDir := t.TempDir()
	dbg := filepath.Join(dbgDir, ".build-id", o.BuildID[:2], o.BuildID[2:]+".debug")
	if err := os.MkdirAll(filepath.Dir(dbg), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "objcopy", "--only-keep-debug", addrsPIE(t), dbg)
	c := NewCache([]string{dbgDir})
	defer c.Close()
	od, err := c.Open(stripped)
	if err != nil {
		t.Fatal(err)
	}
	if od.DebugFile != dbg || !od.HasSymtab {
		t.Fatalf("DebugFile = %q HasSymtab = %v, want %s", od.DebugFile, od.HasSymtab, dbg)
	}
	if got, want := od.Funcs("worker"), full.Funcs("worker"); !slices.Equal(got, want) || got == nil {
		t.Errorf("with debug file: Funcs(worker) = %#x, want %#x", got, want)
	}
	line := markedLine(t, "addrs.c", "lock")
	got, err := od.Lines("addrs.c", line)
	want, _ := full.Lines("addrs.c", line)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("with debug file: Lines = %#x, %v; want %#x", got, err, want)
	}
}

func TestCache(t *testing.T) {
	c := NewCache([]string{})
	defer c.Close()
	path := addrsPIE(t)
	link := filepath.Join(t.TempDir(), "via-symlink")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	objs := make([]*Object, 8)
	errs := make([]error, 8)
	for i := range objs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := path
			if i%2 == 1 {
				p = link
			}
			objs[i], errs[i] = c.Open(p)
		}()
	}
	wg.Wait()
	for i := range objs {
		if errs[i] != nil || objs[i] != objs[0] {
			t.Fatalf("Open #%d = %p, %v; want the same object as #0 (%p)", i, objs[i], errs[i], objs[0])
		}
	}
	if c.Len() != 1 {
		t.Errorf("Len = %d after opening one file 8 times", c.Len())
	}
	// Lazy DWARF from several goroutines at once.
	line := markedLine(t, "addrs.c", "lock")
	res := make([][]uint64, 4)
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = objs[0].Lines("addrs.c", line)
		}()
	}
	wg.Wait()
	for i := range res {
		if errs[i] != nil || len(res[i]) != 1 || res[i][0] != res[0][0] {
			t.Errorf("concurrent Lines #%d = %#x, %v", i, res[i], errs[i])
		}
	}

	// A different file content is a different entry; a copy with the
	// same bytes too (another inode).
	cp := filepath.Join(t.TempDir(), "copy")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	o2, err := c.Open(cp)
	if err != nil || o2 == objs[0] {
		t.Errorf("Open(copy) = %p, %v; want a new object", o2, err)
	}

	// Failures are cached and say what is wrong.
	notELF := filepath.Join(t.TempDir(), "text")
	os.WriteFile(notELF, []byte("hello, not an ELF file\n"), 0o644)
	for range 2 {
		if _, err := c.Open(notELF); !errors.Is(err, ErrNotELF) {
			t.Errorf("Open(text file) err = %v, want ErrNotELF", err)
		}
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
	if _, err := c.Open(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) err = %v", err)
	}
	c.Close()
	if _, err := c.Open(path); !errors.Is(err, ErrClosed) {
		t.Errorf("Open after Close err = %v, want ErrClosed", err)
	}
	// Lines on an object whose DWARF was read before Close still works.
	if got, err := objs[0].Lines("addrs.c", line); err != nil || len(got) != 1 {
		t.Errorf("Lines after Close = %#x, %v", got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("\x7fELF"), 0o644)
	if _, err := Open(short); err == nil || errors.Is(err, ErrNotELF) {
		t.Errorf("Open(truncated ELF) err = %v, want a parse error", err)
	}
	// A relocatable object is ELF but not loadable.
	obj := filepath.Join(dir, "x.o")
	run(t, "gcc", "-c", "-o", obj, testdata(t, "plug.c"))
	if _, err := Open(obj); err == nil || !strings.Contains(err.Error(), "ET_REL") {
		t.Errorf("Open(.o) err = %v, want ET_REL not loadable", err)
	}
	if _, err := Open(dir); err == nil {
		t.Error("Open(directory) succeeded")
	}
}

func TestObjectKinds(t *testing.T) {
	cases := []struct {
		path func(testing.TB) string
		typ  elf.Type
		isGo bool
	}{
		{addrsPIE, elf.ET_DYN, false},
		{addrsNoPIE, elf.ET_EXEC, false},
		{addrsStatic, elf.ET_EXEC, false},
		{func(t testing.TB) string { return goSync(t, false) }, elf.ET_EXEC, true},
		{func(t testing.TB) string { return goSync(t, true) }, elf.ET_DYN, true},
	}
	for _, c := range cases {
		p := c.path(t)
		o := mustOpen(t, p)
		if o.Type != c.typ || o.IsGo != c.isGo {
			t.Errorf("%s: Type %v IsGo %v, want %v %v", filepath.Base(p), o.Type, o.IsGo, c.typ, c.isGo)
		}
	}
	// Static glibc has the pthread symbols.
	o := mustOpen(t, addrsStatic(t))
	for _, n := range []string{"pthread_mutex_lock", "pthread_mutex_unlock", "pthread_create", "pthread_join"} {
		if o.Funcs(n) == nil {
			t.Errorf("static: Funcs(%s) empty", n)
		}
	}
	if _, err := o.DataSymbol("tls_var"); err == nil || !strings.Contains(err.Error(), "thread-local") {
		t.Errorf("DataSymbol(tls_var) err = %v", err)
	}
	if _, err := o.DataSymbol("worker"); err == nil || !strings.Contains(err.Error(), "func") {
		t.Errorf("DataSymbol(worker) err = %v, want 'is a func'", err)
	}
}
