package memsites

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/arch/x86/x86asm"
)

// siteKey is what the objdump comparison compares.
type siteKey struct {
	addr  uint64
	class Class
	write bool
}

func keys(ss []Site) []siteKey {
	out := make([]siteKey, len(ss))
	for i, s := range ss {
		out[i] = siteKey{s.Vaddr, s.Class, s.Write}
	}
	slices.SortFunc(out, func(a, b siteKey) int {
		switch {
		case a.addr < b.addr:
			return -1
		case a.addr > b.addr:
			return 1
		}
		return 0
	})
	return out
}

// TestObjdump: on real binaries (every build of access.c, a Go program,
// all of libc), the sites found through x86asm are exactly the sites the
// same rules find in GNU objdump's disassembly: same instructions, same
// class, same write flag; and where whole objects are scanned, every
// instruction starts where objdump's does.
func TestObjdump(t *testing.T) {
	type target struct {
		name  string
		path  func(testing.TB) string
		scope Scope
	}
	var targets []target
	for _, v := range sortedKeys(cVariants) {
		targets = append(targets, target{"access-" + v, func(t testing.TB) string { return accessC(t, v) }, ScopeProgram})
		targets = append(targets, target{"access-" + v + "-all", func(t testing.TB) string { return accessC(t, v) }, ScopeAll})
	}
	targets = append(targets,
		target{"goaccess", goAccess, ScopeProgram},
		target{"goaccess-all", goAccess, ScopeAll},
		target{"libc", libc, ScopeAll})
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			if testing.Short() && strings.HasSuffix(tg.name, "-all") || testing.Short() && tg.name == "libc" {
				t.Skip("-short: the whole-object comparisons take seconds")
			}
			path := tg.path(t)
			tab, err := Scan(path, tg.scope)
			if err != nil {
				t.Fatal(err)
			}
			od := objdump(t, path)
			got, want := keys(tab.Sites), keys(odSites(t, path, tg.scope, od))
			if tg.scope == ScopeAll {
				checkBoundaries(t, path, od)
			}
			if len(got) == 0 {
				t.Fatal("no sites at all")
			}
			if !slices.Equal(got, want) {
				diff := diffKeys(got, want)
				t.Errorf("%d sites from x86asm, %d from objdump; %d differ, the first:\n%s", len(got), len(want), len(diff), strings.Join(diff[:min(len(diff), 20)], "\n"))
			}
			t.Logf("%d sites in %d instructions (%d bytes of text)", len(got), tab.Insns, tab.Text)
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func diffKeys(got, want []siteKey) []string {
	g := map[uint64]siteKey{}
	for _, k := range got {
		g[k.addr] = k
	}
	w := map[uint64]siteKey{}
	for _, k := range want {
		w[k.addr] = k
	}
	var out []string
	for _, k := range got {
		if wk, ok := w[k.addr]; !ok {
			out = append(out, fmt.Sprintf("  %#x: x86asm %v write=%v, objdump none", k.addr, k.class, k.write))
		} else if wk != k {
			out = append(out, fmt.Sprintf("  %#x: x86asm %v write=%v, objdump %v write=%v", k.addr, k.class, k.write, wk.class, wk.write))
		}
	}
	for _, k := range want {
		if _, ok := g[k.addr]; !ok {
			out = append(out, fmt.Sprintf("  %#x: x86asm none, objdump %v write=%v", k.addr, k.class, k.write))
		}
	}
	slices.Sort(out)
	return out
}

// sitesIn returns the sites of function fn.
func sitesIn(tab *Table, fn string) []Site {
	var out []Site
	for i := range tab.Sites {
		if tab.FuncOf(&tab.Sites[i]).Name == fn {
			out = append(out, tab.Sites[i])
		}
	}
	return out
}

func classes(ss []Site) []Class {
	var out []Class
	for _, s := range ss {
		if !slices.Contains(out, s.Class) {
			out = append(out, s.Class)
		}
	}
	slices.Sort(out)
	return out
}

// TestClassesC: each function of access.c has the sites its kind of
// access calls for, at every optimization level, and each is named after
// its marked line.
func TestClassesC(t *testing.T) {
	lines := markers(t, "testdata/access.c")
	for _, v := range sortedKeys(cVariants) {
		t.Run(v, func(t *testing.T) {
			tab, err := Scan(accessC(t, v), ScopeProgram)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]Class{
				"deref": {Pointer}, "store": {Pointer}, "bump": {Global}, "idx": {Global},
				"cas": {Atomic}, "xadd": {Atomic}, "swap": {Atomic}, "sync_cas": {Atomic},
				"local": nil, "tlsget": nil, "rodata": nil,
			}
			if v == "O0" {
				// Unoptimized: the pointers cas and sync_cas take
				// are loaded from the stack into registers and
				// compared through them.
				want["cas"] = []Class{Pointer, Atomic}
			}
			for fn, w := range want {
				ss := sitesIn(tab, fn)
				if got := classes(ss); !slices.Equal(got, w) {
					t.Errorf("%s: classes %v, want %v (sites %+v)", fn, got, w, ss)
				}
				if n, ok := lines[fn]; ok && len(ss) > 0 {
					for _, s := range ss {
						if name := tab.Name(&s); name != fmt.Sprintf("mem@access.c:%d", n) {
							t.Errorf("%s: site %#x named %s, want mem@access.c:%d", fn, s.Vaddr, name, n)
						}
					}
				}
			}
			for _, fn := range []string{"store"} {
				for _, s := range sitesIn(tab, fn) {
					if !s.Write {
						t.Errorf("%s: site %#x is not a write", fn, s.Vaddr)
					}
				}
			}
			for _, fn := range []string{"deref"} {
				for _, s := range sitesIn(tab, fn) {
					if s.Write {
						t.Errorf("%s: site %#x is a write", fn, s.Vaddr)
					}
				}
			}
			// The program's code only: no libc (static), no C start-up.
			for i := range tab.Sites {
				fn := tab.FuncOf(&tab.Sites[i]).Name
				switch fn {
				case "deref", "store", "bump", "idx", "cas", "xadd", "swap", "sync_cas", "local", "tlsget",
					"rodata", "copy", "scale", "worker", "main":
				default:
					t.Errorf("site %#x in %s: not the program's code", tab.Sites[i].Vaddr, fn)
				}
			}
		})
	}
}

// TestScopeGo: in a Go program, the main module's packages are scanned
// (main and example.com/goaccess/shared), not the standard library or
// the runtime, not the sync package's code inlined into main (a Mutex's
// compare-and-swap) and not the write barrier's buffer stores.
func TestScopeGo(t *testing.T) {
	path := goAccess(t)
	tab, err := Scan(path, ScopeProgram)
	if err != nil {
		t.Fatal(err)
	}
	fns := map[string]bool{}
	for i := range tab.Sites {
		s := &tab.Sites[i]
		fn := tab.FuncOf(s).Name
		fns[fn] = true
		if !strings.HasPrefix(fn, "main.") && !strings.HasPrefix(fn, "example.com/goaccess/shared.") {
			t.Errorf("site %#x in %s: not the program's package", s.Vaddr, fn)
		}
		if strings.Contains(tab.Name(s), "mutex.go") || (s.Mem.Base == R11 && s.Write) {
			t.Errorf("site %#x %s (%+v): library code or the write barrier", s.Vaddr, tab.Name(s), s.Mem)
		}
	}
	for _, fn := range []string{"main.get", "example.com/goaccess/shared.Bump", "main.main.func1"} {
		if !fns[fn] {
			t.Errorf("no site in %s (sites in %v)", fn, fns)
		}
	}
	lines := markers(t, "testdata/goaccess/main.go")
	names := map[string]bool{}
	for i := range tab.Sites {
		names[tab.Name(&tab.Sites[i])] = true
	}
	for _, m := range []string{"get", "counter"} {
		if n := fmt.Sprintf("mem@main.go:%d", lines[m]); !names[n] {
			t.Errorf("no site named %s: %v", n, names)
		}
	}
	if n := fmt.Sprintf("mem@shared.go:%d", markers(t, "testdata/goaccess/shared/shared.go")["Bump"]); !names[n] {
		t.Errorf("no site named %s (atomic.AddInt64 is an intrinsic: the program's own lock xadd): %v", n, names)
	}
	all, err := Scan(path, ScopeAll)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Sites) < 20*len(tab.Sites) {
		t.Errorf("ScopeAll: %d sites, ScopeProgram %d: the runtime should dominate", len(all.Sites), len(tab.Sites))
	}
}

// TestNames: without DWARF a site is named after its function and offset.
func TestNames(t *testing.T) {
	path := accessC(t, "O1")
	stripped := filepath.Join(t.TempDir(), "access-nodebug")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stripped, data, 0o755); err != nil {
		t.Fatal(err)
	}
	build(t, "strip-debug", ".", nil, "strip", "--strip-debug", stripped)
	tab, err := Scan(stripped, ScopeProgram)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Scan(path, ScopeProgram)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Sites) != len(full.Sites) {
		t.Fatalf("%d sites without DWARF, %d with", len(tab.Sites), len(full.Sites))
	}
	for i := range tab.Sites {
		s := &tab.Sites[i]
		f := tab.FuncOf(s)
		if want := fmt.Sprintf("mem@%s+0x%x", f.Name, s.Vaddr-f.Start); tab.Name(s) != want || s.Vaddr != full.Sites[i].Vaddr {
			t.Errorf("site %#x: %s, want %s", s.Vaddr, tab.Name(s), want)
		}
	}
}

// TestCache: a table comes back from memory, then from disk in a new
// cache, equal to a fresh scan; a file in an old format is rebuilt.
func TestCache(t *testing.T) {
	path := accessC(t, "O2")
	dir := t.TempDir()
	c := NewCache(dir)
	t1, err := c.Table(path, ScopeProgram)
	if err != nil {
		t.Fatal(err)
	}
	if t2, _ := c.Table(path, ScopeProgram); t2 != t1 {
		t.Error("the second request was not served from memory")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.gob"))
	if len(files) != 1 || t1.Key == "" || !strings.Contains(files[0], t1.Key) {
		t.Fatalf("disk cache holds %v, want one file for key %q", files, t1.Key)
	}
	t3, err := NewCache(dir).Table(path, ScopeProgram)
	if err != nil {
		t.Fatal(err)
	}
	if t3 == t1 || !slices.EqualFunc(t3.Sites, t1.Sites, func(a, b Site) bool { return a == b }) || !slices.Equal(t3.Funcs, t1.Funcs) {
		t.Error("the table read from disk differs from the scanned one")
	}
	if err := os.WriteFile(files[0], []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	t4, err := NewCache(dir).Table(path, ScopeProgram)
	if err != nil || len(t4.Sites) != len(t1.Sites) {
		t.Fatalf("a corrupt cache file: %v, %d sites", err, len(t4.Sites))
	}
	if t5, _ := NewCache(dir).Table(path, ScopeAll); t5 == nil || t5.Key == t1.Key {
		t.Error("scopes share a cache entry")
	}
}

// BenchmarkScan: disassembly cost per MB of text, all of libc and all of
// a Go program (b.SetBytes is the decoded text: MB/s is the rate); MB/cpu-s
// is the rate in this process's CPU time, which other processes' load on a
// shared machine does not change. The -program cases are what a run pays
// for an executable it has not seen (ScopeProgram: the program's own code,
// and for Go its build information and DWARF).
func BenchmarkScan(b *testing.B) {
	for _, tg := range []struct {
		name  string
		path  func(testing.TB) string
		scope Scope
	}{{"libc", libc, ScopeAll}, {"go", goAccess, ScopeAll},
		{"c-program", func(t testing.TB) string { return accessC(t, "O1") }, ScopeProgram}, {"go-program", goAccess, ScopeProgram}} {
		b.Run(tg.name, func(b *testing.B) {
			path := tg.path(b)
			tab, err := Scan(path, tg.scope)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(tab.Text))
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				if _, err := Scan(path, tg.scope); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(len(tab.Sites)), "sites")
			b.ReportMetric(float64(tab.Text)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// checkBoundaries: the sweep (insnLen as the authority, x86asm for the
// rest) starts an instruction exactly where GNU objdump does, everywhere
// in the scanned text.
func checkBoundaries(t *testing.T, path string, theirs []odInsn) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	o := mustObject(t, f, ScopeAll)
	ours := map[uint64]bool{}
	var tab Table
	for _, c := range o.chunks {
		code, err := o.text(c)
		if err != nil {
			t.Fatal(err)
		}
		sweep(code, c.lo, &tab, func(pc uint64, _ *x86asm.Inst) { ours[pc] = true })
	}
	missing, n := 0, 0
	for _, in := range theirs {
		i := sort.Search(len(o.chunks), func(i int) bool { return o.chunks[i].hi > in.addr })
		if i >= len(o.chunks) || o.chunks[i].lo > in.addr {
			continue // the PLT
		}
		n++
		if !ours[in.addr] {
			if missing < 10 {
				t.Errorf("objdump starts an instruction at %#x (%s %v in %s), the sweep does not", in.addr, in.mnem, in.ops, in.fn)
			}
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d instruction starts missed", missing, n)
	}
	if n > 10000 && tab.Undecoded > n/100 { // (a small object's are its endbr64s)
		t.Errorf("%d instructions x86asm could not decode, of %d", tab.Undecoded, n)
	}
	t.Logf("boundaries: %d instructions as objdump; %d skipped as undecodable by x86asm", n, tab.Undecoded)
}

// cpuTime is the CPU time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestOperandAddr: effective addresses from registers.
func TestOperandAddr(t *testing.T) {
	regs := map[Reg]uint64{RAX: 0x1000, RCX: 3, RDI: 0x7fff0000}
	get := func(r Reg) uint64 { return regs[r] }
	for _, c := range []struct {
		op   Operand
		next uint64
		want uint64
	}{
		{Operand{Base: RDI}, 0, 0x7fff0000},
		{Operand{Base: RAX, Index: RCX, Scale: 8, Disp: -8}, 0, 0x1000 + 24 - 8},
		{Operand{Base: RIP, Disp: 0x2ee5}, 0x401136, 0x401136 + 0x2ee5},
		{Operand{Index: RCX, Scale: 4, Disp: 0x601040}, 0, 0x601040 + 12},
		{Operand{Base: RAX, Disp: -0x2000, Addr32: true}, 0, 0xfffff000},
	} {
		if got := c.op.Addr(get, c.next); got != c.want {
			t.Errorf("%+v: %#x, want %#x", c.op, got, c.want)
		}
	}
}
