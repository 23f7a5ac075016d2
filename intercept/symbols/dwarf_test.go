package symbols

import (
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rowsFor returns the objdump rows for base-name file:line.
func rowsFor(rows []lineRow, file string, line int) []lineRow {
	var out []lineRow
	for _, r := range rows {
		if r.file == file && r.line == line {
			out = append(out, r)
		}
	}
	return out
}

func funcName(o *Object, a uint64) string {
	s, ok := o.FuncAt(a)
	if !ok {
		return "?"
	}
	return s.Name
}

func TestLinesC(t *testing.T) {
	for _, b := range []struct {
		name string
		path func(testing.TB) string
	}{{"pie", addrsPIE}, {"nopie", addrsNoPIE}, {"static", addrsStatic}} {
		t.Run(b.name, func(t *testing.T) {
			path := b.path(t)
			o := mustOpen(t, path)
			rows := decodedLines(t, path)

			// A plain line in one function: the lowest is_stmt row.
			lock := markedLine(t, "addrs.c", "lock")
			got, err := o.Lines("addrs.c", lock)
			if err != nil {
				t.Fatal(err)
			}
			var want uint64
			for _, r := range rowsFor(rows, "addrs.c", lock) {
				if r.stmt && (want == 0 || r.addr < want) {
					want = r.addr
				}
			}
			if len(got) != 1 || got[0] != want {
				t.Errorf("Lines(addrs.c:%d) = %#x, objdump's lowest is_stmt row %#x", lock, got, want)
			}
			if fn := funcName(o, got[0]); fn != "worker" {
				t.Errorf("Lines(addrs.c:%d) in %s, want worker", lock, fn)
			}
			if a2l := addr2line(t, path, got[0]); !strings.HasSuffix(a2l[1], "addrs.c:"+strconv.Itoa(lock)) {
				t.Errorf("addr2line %#x = %q, want addrs.c:%d", got[0], a2l, lock)
			}

			// Suffixes at a path component boundary match; others not.
			for _, f := range []string{"testdata/addrs.c", "symbols/testdata/addrs.c", "./addrs.c"} {
				if g, err := o.Lines(f, lock); err != nil || !slices.Equal(g, got) {
					t.Errorf("Lines(%s:%d) = %#x, %v; want %#x", f, lock, g, err, got)
				}
			}
			for _, f := range []string{"drs.c", "other/addrs.c", "nosuch.c"} {
				if _, err := o.Lines(f, lock); !errors.Is(err, ErrNoSourceFile) {
					t.Errorf("Lines(%s:%d) err = %v, want ErrNoSourceFile", f, lock, err)
				}
			}

			// A line of an always_inline function: one address per
			// inlined copy (in worker and in main), each a row of the
			// line and inside the bump copy according to addr2line.
			bump := markedLine(t, "addrs.c", "bump")
			got, err = o.Lines("addrs.c", bump)
			if err != nil {
				t.Fatal(err)
			}
			var fns []string
			for _, a := range got {
				fns = append(fns, funcName(o, a))
				if !slices.ContainsFunc(rowsFor(rows, "addrs.c", bump), func(r lineRow) bool { return r.addr == a }) {
					t.Errorf("Lines(addrs.c:%d) address %#x is not an objdump row of that line", bump, a)
				}
				if a2l := addr2line(t, path, a); a2l[0] != "bump" || !strings.HasSuffix(a2l[1], "addrs.c:"+strconv.Itoa(bump)) {
					t.Errorf("addr2line %#x = %q, want bump at addrs.c:%d", a, a2l, bump)
				}
			}
			slices.Sort(fns)
			if !slices.Equal(fns, []string{"main", "worker"}) {
				t.Errorf("Lines(addrs.c:%d) = %#x in %v, want one in main and one in worker", bump, got, fns)
			}

			// Inlined: the entries of the two copies of bump.
			inl, err := o.Inlined("bump")
			if err != nil {
				t.Fatal(err)
			}
			fns = fns[:0]
			for _, a := range inl {
				fns = append(fns, funcName(o, a))
				if a2l := addr2line(t, path, a); a2l[0] != "bump" {
					t.Errorf("Inlined(bump) entry %#x: addr2line says %q", a, a2l)
				}
			}
			slices.Sort(fns)
			if !slices.Equal(fns, []string{"main", "worker"}) {
				t.Errorf("Inlined(bump) = %#x in %v, want main and worker", inl, fns)
			}
			if f := o.Funcs("bump"); f != nil {
				t.Errorf("Funcs(bump) = %#x: an always_inline function has no out-of-line copy at -O1", f)
			}
			if inl, err := o.Inlined("worker"); err != nil || inl != nil {
				t.Errorf("Inlined(worker) = %#x, %v; want none", inl, err)
			}

			// Errors.
			comment := markedLine(t, "addrs.c", "comment")
			if _, err := o.Lines("addrs.c", comment); err == nil || !strings.Contains(err.Error(), "no code at this line (nearest lines with code: ") {
				t.Errorf("Lines(comment line) err = %v", err)
			}
			if _, err := o.Lines("addrs.c", 0); err == nil {
				t.Error("Lines(addrs.c:0) succeeded")
			}
		})
	}
}

func TestLinesAmbiguousAndLibrary(t *testing.T) {
	path := dupProg(t)
	o := mustOpen(t, path)
	if _, err := o.Lines("same.c", 3); err == nil || !strings.Contains(err.Error(), "matches 2 source files") {
		t.Errorf("Lines(same.c:3) err = %v, want ambiguity", err)
	}
	for dir, fn := range map[string]string{"x": "fx", "y": "fy"} {
		got, err := o.Lines(dir+"/same.c", 3)
		if err != nil || len(got) != 1 || funcName(o, got[0]) != fn {
			t.Errorf("Lines(%s/same.c:3) = %#x, %v; want one address in %s", dir, got, err, fn)
		}
	}

	so := plugSO(t)
	po := mustOpen(t, so)
	line := markedLine(t, "plug.c", "plug")
	got, err := po.Lines("plug.c", line)
	if err != nil || len(got) != 1 || funcName(po, got[0]) != "plug_fn" {
		t.Errorf("libplug.so Lines(plug.c:%d) = %#x, %v", line, got, err)
	}
}

func TestLinesGo(t *testing.T) {
	path := goSync(t, false)
	o := mustOpen(t, path)
	rows := decodedLines(t, path)
	src := testdata(t, "gosync/main.go")
	lockLine, incLine := 0, 0
	for i, l := range strings.Split(string(mustRead(t, src)), "\n") {
		switch strings.TrimSpace(l) {
		case "mu.Lock()":
			if lockLine == 0 {
				lockLine = i + 1
			}
		case "counter++":
			if incLine == 0 {
				incLine = i + 1
			}
		}
	}
	// mu.Lock() is inlined: Go marks its call line only with a non-stmt
	// row (the inline mark); Lines still finds it.
	for _, line := range []int{lockLine, incLine} {
		got, err := o.Lines("gosync/main.go", line)
		if err != nil {
			t.Fatalf("Lines(gosync/main.go:%d): %v", line, err)
		}
		if len(got) != 1 || funcName(o, got[0]) != "main.incr" {
			t.Errorf("Lines(main.go:%d) = %#x, want one address in main.incr", line, got)
			continue
		}
		if !slices.ContainsFunc(rowsFor(rows, "main.go", line), func(r lineRow) bool { return r.addr == got[0] }) {
			t.Errorf("Lines(main.go:%d) = %#x: not an objdump row of the line", line, got)
		}
	}
	// Runtime sources are in the tables too.
	if got, err := o.Lines("runtime/chan.go", 1); err == nil || errors.Is(err, ErrNoSourceFile) {
		t.Errorf("Lines(runtime/chan.go:1) = %#x, %v; want no code at line 1", got, err)
	}
}

// TestInlinedGo checks what Go 1.26 emits for sync.Mutex: Lock and
// RLock are inlined into callers (the out-of-line body, if linked at all,
// serves only interface calls), and each inlined copy's entry is the
// start of the lock fast path.
func TestInlinedGo(t *testing.T) {
	for _, pie := range []bool{false, true} {
		path := goSync(t, pie)
		o := mustOpen(t, path)
		check := func(fn, insn string) {
			cps, err := o.InlinedCopies(fn)
			if err != nil {
				t.Fatal(err)
			}
			if len(cps) == 0 {
				t.Fatalf("%s: no inlined copies of %s", filepath.Base(path), fn)
			}
			var callers []string
			for _, c := range cps {
				if !c.Contains(c.Entry) {
					t.Errorf("%s copy entry %#x outside its ranges %#x", fn, c.Entry, c.Ranges)
				}
				caller := funcName(o, c.Entry)
				callers = append(callers, caller)
				// The fast path's atomic instruction follows within a
				// few instructions of the entry.
				if d := disasm(t, path, c.Entry, c.Entry+48); !strings.Contains(d, insn) {
					t.Errorf("%s copy at %#x in %s: no %q in the next 48 bytes:\n%s", fn, c.Entry, caller, insn, d)
				}
			}
			if !slices.Contains(callers, "main.incr") && fn == "sync.(*Mutex).Lock" {
				t.Errorf("%s copies are in %v, want main.incr among them", fn, callers)
			}
			t.Logf("%s: %d inlined copies (in %s); out-of-line entries %#x", fn, len(cps), strings.Join(callers, ", "), o.Funcs(fn))
		}
		check("sync.(*Mutex).Lock", "lock cmpxchg")
		check("sync.(*RWMutex).RLock", "lock xadd")
		check("sync.(*Mutex).Unlock", "lock xadd")

		// The entry points the catalog relies on being out of line.
		for _, fn := range []string{
			"runtime.chansend", "runtime.chanrecv", "runtime.selectgo", "runtime.closechan", "runtime.newproc",
			"sync.(*WaitGroup).Add", "sync.(*WaitGroup).Wait", "sync.(*RWMutex).Lock", "sync.(*RWMutex).Unlock",
			"sync.(*Cond).Wait", "sync.(*Cond).Signal",
		} {
			if o.Funcs(fn) == nil {
				t.Errorf("Funcs(%s) empty", fn)
			}
			if inl, _ := o.Inlined(fn); inl != nil {
				t.Errorf("%s has inlined copies at %#x: not reliably out of line", fn, inl)
			}
		}
	}
}
