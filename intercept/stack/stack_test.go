package stack

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// atWrite is a tool that unwinds the first thread's stack at its first
// write to stdout.
type atWrite struct {
	intercept.NopTool
	u      *Unwinder
	cache  *symbols.Cache
	frames []Frame
	err    error
}

func (a *atWrite) Subscription() intercept.Subscription { return intercept.SubscribeTo(unix.SYS_WRITE) }

func (a *atWrite) SyscallEnter(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
	if c.Args[0] != 1 || a.frames != nil {
		return intercept.Continue()
	}
	regs, err := t.Regs()
	if err != nil {
		a.err = err
		return intercept.Continue()
	}
	objs := symbols.NewObjects(a.cache, t.Proc.Pid)
	if _, err := objs.Refresh(); err != nil {
		a.err = err
		return intercept.Continue()
	}
	pcs := a.u.Unwind(Regs{PC: regs.Rip, SP: regs.Rsp, BP: regs.Rbp}, t.Memory(), objs, 32)
	a.frames = Name(pcs, objs)
	// The Unwinder's naming, cold then cached, names the same frames.
	for range 2 {
		if got := a.u.Name(pcs, objs); !reflect.DeepEqual(got, a.frames) {
			a.err = fmt.Errorf("Unwinder.Name: %v, Name: %v", got, a.frames)
		}
	}
	return intercept.Continue()
}

// lineOf returns the line of src marked "// LINE mark".
func lineOf(t *testing.T, src, mark string) int {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.HasSuffix(sc.Text(), "// LINE "+mark) {
			return n
		}
	}
	t.Fatalf("%s: no LINE %s", src, mark)
	return 0
}

func unwindAtWrite(t *testing.T, bin string) []Frame {
	t.Helper()
	tool := &atWrite{u: NewUnwinder(), cache: symbols.NewCache(nil)}
	defer tool.cache.Close()
	devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	defer devnull.Close()
	if _, err := intercept.Run(context.Background(), &intercept.Command{Path: bin, Args: []string{bin}, Stdout: devnull}, tool, intercept.Options{}); err != nil {
		t.Fatal(err)
	}
	if tool.err != nil || tool.frames == nil {
		t.Fatalf("no stack at the write: %v", tool.err)
	}
	return tool.frames
}

type want struct {
	fn   string
	line int // 0: no line expected (no debug information); -1: any
}

// check asserts that the frames hold want in order (other frames may
// come between: libc's wrappers, the runtime's).
func check(t *testing.T, name string, frames []Frame, file string, wants []want) {
	t.Helper()
	i := 0
	for _, f := range frames {
		if i < len(wants) && f.Func == wants[i].fn {
			w := wants[i]
			if w.line > 0 && (filepath.Base(f.File) != filepath.Base(file) || f.Line != w.line) {
				t.Errorf("%s: frame %s at %s:%d, want %s:%d", name, f.Func, f.File, f.Line, file, w.line)
			}
			if w.line == 0 && f.File != "" {
				t.Errorf("%s: frame %s has a line %s:%d without debug information", name, f.Func, f.File, f.Line)
			}
			i++
		}
	}
	if i < len(wants) {
		var got []string
		for _, f := range frames {
			got = append(got, f.String())
		}
		t.Errorf("%s: frames lack %s (in order %v):\n  %s", name, wants[i].fn, wants, strings.Join(got, "\n  "))
	}
}

func build(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

func TestUnwindC(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	src, _ := filepath.Abs("testdata/stack.c")
	lines := []want{{"inner", lineOf(t, src, "inner")}, {"outer", lineOf(t, src, "outer")}, {"main", lineOf(t, src, "main")}}
	for _, v := range []struct {
		name  string
		flags []string
		lines bool
	}{
		{"pie-g", []string{"-g", "-O1"}, true},
		{"pie-O2-g", []string{"-g", "-O2"}, true},
		{"static-g", []string{"-g", "-O1", "-static"}, true},
		{"nopie-nodebug", []string{"-O1", "-no-pie"}, false},
		{"fp-nodebug", []string{"-O0", "-fno-omit-frame-pointer", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables"}, false},
	} {
		bin := filepath.Join(dir, v.name)
		build(t, dir, append([]string{"gcc", "-o", bin, src}, v.flags...)...)
		ws := append([]want{{"write", -1}}, lines...)
		if !v.lines {
			ws = []want{{"write", -1}, {"inner", 0}, {"outer", 0}, {"main", 0}}
		}
		check(t, v.name, unwindAtWrite(t, bin), src, ws)
	}
}

func TestUnwindCpp(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	src, _ := filepath.Abs("testdata/stack.cpp")
	bin := filepath.Join(dir, "cpp")
	build(t, dir, "g++", "-g", "-O1", "-o", bin, src)
	check(t, "c++", unwindAtWrite(t, bin), src, []want{
		{"geo::emit", lineOf(t, src, "emit")}, {"geo::Shape<int>::draw", lineOf(t, src, "draw")}, {"main", lineOf(t, src, "main")}})
}

func TestUnwindGo(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	srcDir, _ := filepath.Abs("testdata/gostack")
	src := filepath.Join(srcDir, "main.go")
	ws := []want{{"main.inner", lineOf(t, src, "inner")}, {"main.outer", lineOf(t, src, "outer")}, {"main.main", lineOf(t, src, "main")}}
	for _, v := range []struct{ name, ldflags string }{{"go", ""}, {"go-nodwarf", "-w"}} {
		bin := filepath.Join(dir, v.name)
		build(t, srcDir, "go", "build", "-ldflags="+v.ldflags, "-o", bin, ".")
		check(t, v.name, unwindAtWrite(t, bin), src, ws)
	}
}

// TestUnwindInlined: a call the compiler inlined is a frame of its own
// (DWARF's inlined subroutines), at the inlined body's line, and its
// caller's frame is at the line of the call, not of the body; the
// Unwinder's cached naming names the same frames.
func TestUnwindInlined(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	src, _ := filepath.Abs("testdata/inline.c")
	bin := filepath.Join(dir, "inline")
	build(t, dir, "gcc", "-g", "-O2", "-o", bin, src)
	frames := unwindAtWrite(t, bin)
	check(t, "inline", frames, src, []want{{"write", -1},
		{"put", lineOf(t, src, "put")}, {"step", lineOf(t, src, "step")}, {"main", lineOf(t, src, "main")}})
	for i, f := range frames {
		if f.Func == "put" && (i+1 >= len(frames) || frames[i+1].Func != "step" || frames[i+1].PC != f.PC) {
			t.Errorf("the inlined put is not followed by its caller step at the same pc: %v", frames)
		}
	}
}
