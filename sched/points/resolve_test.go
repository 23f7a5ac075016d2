package points

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
)

var buildDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "points-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

type built struct {
	once sync.Once
	path string
	err  error
}

var builds sync.Map

func build(t testing.TB, name, dir string, env []string, argv ...string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, new(built))
	b := v.(*built)
	b.once.Do(func() {
		out := filepath.Join(buildDir, name)
		for i := range argv {
			argv[i] = strings.ReplaceAll(argv[i], "$OUT", out)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, msg)
			return
		}
		b.path = out
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func csync(t testing.TB, static bool) string {
	name, extra := "csync", []string{}
	if static {
		name, extra = "csync_static", []string{"-static"}
	}
	argv := append([]string{"gcc", "-std=c11", "-O1", "-g", "-pthread", "-Wall", "-Wextra", "-Werror", "-o", "$OUT", "csync.c"}, extra...)
	return build(t, name, "testdata", nil, argv...)
}

// gosync is the Go program of the symbols tests.
func gosync(t testing.TB) string {
	dir, err := filepath.Abs("../../intercept/symbols/testdata/gosync")
	if err != nil {
		t.Fatal(err)
	}
	return build(t, "gosync", dir, []string{"GOWORK=off", "CGO_ENABLED=0"},
		goTool(), "build", "-trimpath", "-buildvcs=false", "-o", "$OUT", ".")
}

func goTool() string {
	return "go" // the one on PATH, which runs these tests
}

func libc(t testing.TB) string {
	for _, p := range []string{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"} {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
	}
	t.Fatal("no libc.so.6")
	return ""
}

// image opens path as if loaded at bias.
func image(t testing.TB, path string, bias uint64) *symbols.Image {
	t.Helper()
	o, err := symbols.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return &symbols.Image{Object: o, Path: path, Bias: bias}
}

func byName(pts []Point) map[string][]Point {
	m := map[string][]Point{}
	for _, p := range pts {
		for _, n := range p.Names {
			m[n] = append(m[n], p)
		}
	}
	return m
}

func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range SyncFuncs() {
		for _, n := range f.Names() {
			if seen[n] {
				t.Errorf("%s listed twice", n)
			}
			seen[n] = true
		}
		if f.Lang == C && f.Inlined {
			t.Errorf("%s: C functions are not inlined into programs", f.Name)
		}
	}
	// Everything the issue names.
	for _, n := range strings.Fields(`pthread_mutex_lock pthread_mutex_trylock pthread_mutex_unlock
		pthread_mutex_timedlock pthread_rwlock_rdlock pthread_rwlock_wrlock pthread_rwlock_tryrdlock
		pthread_rwlock_trywrlock pthread_rwlock_unlock pthread_rwlock_timedrdlock pthread_rwlock_timedwrlock
		pthread_spin_lock pthread_spin_trylock pthread_spin_unlock pthread_cond_wait pthread_cond_timedwait
		pthread_cond_clockwait pthread_cond_signal pthread_cond_broadcast sem_wait sem_trywait sem_timedwait
		sem_post pthread_barrier_wait pthread_create pthread_join mtx_lock mtx_trylock mtx_timedlock
		mtx_unlock cnd_wait cnd_timedwait cnd_signal cnd_broadcast thrd_create thrd_join
		sync.(*Mutex).Lock sync.(*Mutex).Unlock sync.(*RWMutex).RLock sync.(*WaitGroup).Wait
		runtime.chansend runtime.chanrecv runtime.selectgo`) {
		if !seen[n] {
			t.Errorf("catalog lacks %s", n)
		}
	}
	for _, f := range SyncGo() {
		if f.Lang != Go || !strings.Contains(f.Name, ".") {
			t.Errorf("Go entry %+v", f)
		}
	}
	// Callers get copies.
	a := SyncC()
	a[0].Aliases[0] = "changed"
	if SyncC()[0].Aliases[0] == "changed" {
		t.Error("SyncC shares its slices")
	}
}

// TestResolveStaticC: every C catalog function (csync calls each one) is
// found in a static glibc binary, once per address, and every alias the
// catalog lists is a name of the same function there.
func TestResolveStaticC(t *testing.T) {
	path := csync(t, true)
	im := image(t, path, 0)
	o := im.Object
	pts, errs := NewPlan(Sync, nil).Resolve(im)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	names := byName(pts)
	for _, f := range SyncC() {
		addrs := o.Funcs(f.Name)
		if len(addrs) != 1 {
			t.Errorf("static: Funcs(%s) = %#x, want one (csync calls it)", f.Name, addrs)
			continue
		}
		ps := names[f.Name]
		if len(ps) != 1 || ps[0].Addr != addrs[0] || ps[0].Catalog == nil || ps[0].Catalog.Name != f.Name || ps[0].User {
			t.Errorf("point for %s: %+v, want one at %#x", f.Name, ps, addrs[0])
		}
		for _, a := range f.Aliases {
			if got := o.Funcs(a); !slices.Equal(got, addrs) {
				t.Errorf("alias %s of %s: Funcs = %#x, want %#x (nm lists it at the same address)", a, f.Name, got, addrs)
			}
		}
	}
	if len(pts) != len(SyncC()) {
		t.Errorf("%d points for %d C functions", len(pts), len(SyncC()))
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].Addr <= pts[i-1].Addr {
			t.Errorf("points not sorted/unique at %d", i)
		}
	}
}

// TestResolveLibc: the dynamic build gets its points from libc.so.6 (with
// the bias added), none from its own binary.
func TestResolveLibc(t *testing.T) {
	const bias = 0x7f1234000000
	lc := image(t, libc(t), bias)
	plan := NewPlan(Sync, nil)
	pts, errs := plan.Resolve(lc)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	names := byName(pts)
	for _, f := range SyncC() {
		want := lc.Object.Funcs(f.Name)
		if len(want) == 0 {
			t.Errorf("libc does not export %s", f.Name)
			continue
		}
		var got []uint64
		for _, p := range names[f.Name] {
			got = append(got, p.Addr-bias)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: points %#x (unbiased), libc has %#x", f.Name, got, want)
		}
	}
	main := image(t, csync(t, false), 0x555500000000)
	if pts, _ := plan.Resolve(main); len(pts) != 0 {
		t.Errorf("dynamic main binary: %d points (imports must not count): %+v", len(pts), pts[0])
	}
	all, errs := NewPlan(Sync, nil).ResolveAll([]*symbols.Image{lc, main})
	if len(errs) != 0 || len(all) != len(pts) || all[0].Addr != pts[0].Addr {
		t.Errorf("ResolveAll: %d points, %v; want the %d of libc", len(all), errs, len(pts))
	}
}

// TestResolveGo: the Go catalog in a Go binary: inlined copies of Lock in
// the functions that lock, the out-of-line runtime entries, and no copy
// nested inside another catalog function (RWMutex.Lock contains an
// inlined Mutex.Lock: one rw.Lock() must be one point).
func TestResolveGo(t *testing.T) {
	path := gosync(t)
	im := image(t, path, 0)
	o := im.Object
	pts, errs := NewPlan(Sync, nil).Resolve(im)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	names := byName(pts)
	for _, n := range []string{"sync.(*Mutex).Lock@main.incr", "sync.(*Mutex).Unlock@main.incr",
		"sync.(*RWMutex).RLock@main.main.func1", "sync.(*RWMutex).RUnlock@main.main.func1",
		"sync.(*RWMutex).Lock", "sync.(*WaitGroup).Add", "sync.(*WaitGroup).Wait", "sync.(*Cond).Wait",
		"runtime.chansend", "runtime.chanrecv", "runtime.selectgo", "runtime.closechan", "runtime.newproc"} {
		if len(names[n]) != 1 {
			t.Errorf("point %s: %d, want 1", n, len(names[n]))
		}
	}
	for _, p := range pts {
		if p.Catalog == nil || p.Catalog.Lang != Go {
			t.Errorf("point %+v in a Go binary is not a Go catalog entry", p)
		}
	}
	// The nesting filter had something to do, and did it.
	rw := o.Funcs("sync.(*RWMutex).Lock")
	body, _ := o.FuncAt(rw[0])
	nested := 0
	cps, _ := o.InlinedCopies("sync.(*Mutex).Lock")
	for _, c := range cps {
		if c.Entry > body.Value && c.Entry < body.Value+body.Size {
			nested++
		}
	}
	if nested == 0 {
		t.Fatal("sync.(*RWMutex).Lock has no inlined Mutex.Lock: the nesting test tests nothing")
	}
	for _, p := range pts {
		if p.Addr > body.Value && p.Addr < body.Value+body.Size {
			t.Errorf("point %v inside sync.(*RWMutex).Lock", p.Names)
		}
	}
	t.Logf("%d Go points in %s", len(pts), filepath.Base(path))
}

// TestUserSpecs: -yield-at specs resolve in the image that has them, and
// the ones found nowhere are reported with a reason.
func TestUserSpecs(t *testing.T) {
	path := csync(t, true)
	src, err := os.ReadFile("testdata/csync.c")
	if err != nil {
		t.Fatal(err)
	}
	join := 0
	for i, l := range bytes.Split(src, []byte("\n")) {
		if bytes.Contains(l, []byte("LINE(join)")) {
			join = i + 1
		}
	}
	specs, err := ParseYieldAt(fmt.Sprintf("worker,csync.c:%d,nosuch_function,csync.c:1,other.c:5,strlen,pthread_mutex_lock", join))
	if err != nil {
		t.Fatal(err)
	}
	plan := NewPlan(Syscalls, specs)
	im := image(t, path, 0)
	pts, errs := plan.Resolve(im)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	names := byName(pts)
	if ps := names["worker"]; len(ps) != 1 || ps[0].Addr != im.Object.Funcs("worker")[0] || !ps[0].User || ps[0].Catalog != nil {
		t.Errorf("worker: %+v", ps)
	}
	lines, _ := im.Object.Lines("csync.c", join)
	if ps := names[fmt.Sprintf("csync.c:%d", join)]; len(ps) != 1 || len(lines) != 1 || ps[0].Addr != lines[0] {
		t.Errorf("csync.c:%d: %+v, Lines %#x", join, ps, lines)
	}
	if len(names["pthread_mutex_lock"]) != 1 {
		t.Errorf("pthread_mutex_lock as a user spec: %+v", names["pthread_mutex_lock"])
	}
	un := plan.Unresolved()
	got := map[string]string{}
	for _, u := range un {
		got[u.Spec.String()] = u.String()
		if strings.Contains(u.String(), "\n") {
			t.Errorf("multi-line report %q", u)
		}
	}
	want := map[string]string{
		"nosuch_function": "no mapped image defines function nosuch_function",
		"csync.c:1":       "no code at this line",
		"other.c:5":       "no image has line-table entries for other.c",
		"strlen":          "is an IFUNC",
	}
	for k, w := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("Unresolved lacks %s: %v", k, got)
		} else if !strings.Contains(got[k], w) {
			t.Errorf("Unresolved[%s] = %q, want %q in it", k, got[k], w)
		}
	}
	if len(un) != len(want) {
		t.Errorf("Unresolved = %v", got)
	}

	// strlen resolves nowhere as a function in libc (it is an IFUNC),
	// and the report says so.
	lc := image(t, libc(t), 0x7f0000000000)
	plan.Resolve(lc)
	for _, u := range plan.Unresolved() {
		if u.Spec.Func == "strlen" && !strings.Contains(u.Reason, "IFUNC") {
			t.Errorf("strlen report: %q", u)
		}
	}
	// A function in a library mapped later: unresolved until then.
	later, _ := ParseYieldAt("pthread_cond_signal,nosuch_function")
	p2 := NewPlan(Syscalls, later)
	p2.Resolve(image(t, csync(t, false), 0x555500000000))
	if len(p2.Unresolved()) != 2 {
		t.Fatalf("before libc: Unresolved = %v", p2.Unresolved())
	}
	// Both versions (GLIBC_2.2.5 and the default GLIBC_2.3.2) are points.
	pts, _ = p2.Resolve(lc)
	if len(pts) != len(lc.Object.Funcs("pthread_cond_signal")) || len(pts) == 0 {
		t.Errorf("libc points %+v", pts)
	}
	for _, p := range pts {
		if !slices.Equal(p.Names, []string{"pthread_cond_signal"}) || !p.User {
			t.Errorf("libc point %+v", p)
		}
	}
	if un := p2.Unresolved(); len(un) != 1 || un[0].Spec.Func != "nosuch_function" {
		t.Errorf("after libc: Unresolved = %v", un)
	}

	// Prepared ahead (a preload), libc counts as mapped only once an
	// image of it is resolved; the points are the same, at each image's
	// bias.
	p3 := NewPlan(Syscalls, later)
	p3.Prepare(lc.Object)
	if len(p3.Unresolved()) != 2 {
		t.Errorf("prepared only: Unresolved = %v", p3.Unresolved())
	}
	lc2 := &symbols.Image{Object: lc.Object, Path: lc.Path, Bias: 0x7f1000000000} // the prepared object
	pts3, _ := p3.Resolve(lc2)
	if len(pts3) != len(pts) || len(p3.Unresolved()) != 1 {
		t.Errorf("after a prepared resolve: %d points (want %d), Unresolved = %v", len(pts3), len(pts), p3.Unresolved())
	}
	for i := range pts3 {
		if i < len(pts) && (pts3[i].Addr-lc2.Bias != pts[i].Addr-lc.Bias || pts3[i].Image != lc2) {
			t.Errorf("point %d: %#x in %p, want %#x in %p", i, pts3[i].Addr, pts3[i].Image, pts[i].Addr-lc.Bias+lc2.Bias, lc2)
		}
	}
}

// TestUnresolvedReasons: a -yield-at function that resolves nowhere gets
// the most useful reason: a C++ method named without its class gets the
// qualified names to use; only a binary that really has no symbol table
// is called stripped.
func TestUnresolvedReasons(t *testing.T) {
	src, err := filepath.Abs("../../intercept/symbols/testdata")
	if err != nil {
		t.Fatal(err)
	}
	cpp := build(t, "names_cpp", src, nil, "g++", "-O1", "-pthread", "-o", "$OUT", "names.cpp")
	stripped := build(t, "csync_stripped", "testdata", nil, "gcc", "-O1", "-pthread", "-s", "-o", "$OUT", "csync.c")
	for _, c := range []struct {
		path, spec, want, not string
	}{
		{cpp, "set", "did you mean bank::Account<long>::set?", "stripped"},
		{cpp, "bank::Account::sett", "check the name", "stripped"},
		{stripped, "worker", "is stripped (no symbol table)", ""},
		{csync(t, false), "nosuch_function", "check the name", "stripped"},
	} {
		specs, err := ParseYieldAt(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		plan := NewPlan(Syscalls, specs)
		plan.Resolve(image(t, c.path, 0x555500000000))
		plan.Resolve(image(t, libc(t), 0x7f0000000000))
		un := plan.Unresolved()
		if len(un) != 1 || !strings.Contains(un[0].String(), c.want) || c.not != "" && strings.Contains(un[0].String(), c.not) {
			t.Errorf("%s in %s: %v, want %q in it (and not %q)", c.spec, filepath.Base(c.path), un, c.want, c.not)
		}
	}
}

// TestKeptResolutions: a plan that keeps resolutions writes one per
// object and catalog; a later plan reads it and gets the same points (the
// same catalog entries, names and addresses, at each image's bias); a
// damaged file is resolved over and written again; a plan with -yield-at
// specs keeps nothing.
func TestKeptResolutions(t *testing.T) {
	dir := t.TempDir()
	lc := image(t, libc(t), 0x7f0000000000)
	first := NewPlan(Sync, nil)
	first.KeepResolutions(dir)
	want, errs := first.Resolve(lc)
	if len(errs) != 0 || len(want) == 0 {
		t.Fatalf("libc: %d points, errors %v", len(want), errs)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*."+resolveFormat))
	if len(files) != 1 {
		t.Fatalf("kept files %v", files)
	}
	same := func(name string) {
		t.Helper()
		p := NewPlan(Sync, nil)
		p.KeepResolutions(dir)
		got, errs := p.Resolve(lc)
		if len(errs) != 0 || len(got) != len(want) {
			t.Fatalf("%s: %d points (want %d), errors %v", name, len(got), len(want), errs)
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.Addr != w.Addr || g.Image != lc || !slices.Equal(g.Names, w.Names) || g.User != w.User ||
				(g.Catalog == nil) != (w.Catalog == nil) || g.Catalog != nil && g.Catalog.Name != w.Catalog.Name {
				t.Errorf("%s: point %d = %+v, want %+v", name, i, g, w)
			}
		}
	}
	same("read back")
	data, _ := os.ReadFile(files[0])
	bad := slices.Clone(data)
	bad[len(bad)-3] ^= 0x40
	os.WriteFile(files[0], bad, 0o644)
	same("damaged")
	if again, _ := os.ReadFile(files[0]); !bytes.Equal(again, data) {
		t.Error("a damaged file was not written again")
	}
	os.WriteFile(files[0], data[:len(data)/2], 0o644)
	same("cut")

	specs, _ := ParseYieldAt("pthread_mutex_lock")
	withSpecs := NewPlan(Sync, specs)
	other := t.TempDir()
	withSpecs.KeepResolutions(other)
	withSpecs.Resolve(lc)
	if files, _ := filepath.Glob(filepath.Join(other, "*")); len(files) != 0 {
		t.Errorf("a plan with -yield-at specs kept %v", files)
	}
}
