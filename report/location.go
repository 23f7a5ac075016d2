package report

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept/stack"
)

// Location is where a thread was at one of its scheduling points, for
// the machine outputs (-json, JUnit, traces): the frame that places the
// point in the program's own code, and a short stack.
type Location struct {
	Thread int    `json:"Thread"`
	Point  int    `json:"Point"` // the thread's k-th scheduling point
	Name   string `json:"Name"`  // the point's syscall or function
	// Func, File and Line name the program's frame (Where): File and
	// Line are empty without line information (no -g, no pclntab).
	Func string `json:"Func,omitempty"`
	File string `json:"File,omitempty"`
	Line int    `json:"Line,omitempty"`
	// Stack is the innermost frames, "func() file:line" (or "func() in
	// object" without a line), at most shortStack of them.
	Stack []string `json:"Stack,omitempty"`
}

// shortStack bounds Location.Stack.
const shortStack = 8

// At formats the location as "func() file:line" (or "func()"), "" if
// it has no frame.
func (l Location) At() string {
	switch {
	case l.File != "":
		return fmt.Sprintf("%s() %s:%d", l.Func, l.File, l.Line)
	case l.Func != "":
		return l.Func + "()"
	}
	return ""
}

// location makes the Location of thread's point-th point named name from
// its frames (nil: not captured).
func location(thread, point int, name string, frames []stack.Frame) Location {
	l := Location{Thread: thread, Point: point, Name: name}
	if len(frames) == 0 {
		return l
	}
	w := frames[Where(frames, name)]
	l.Func, l.File, l.Line = w.Func, w.File, w.Line
	if l.Func == "" {
		l.Func = "??"
	}
	for _, fr := range frames[:min(len(frames), shortStack)] {
		l.Stack = append(l.Stack, fr.String())
	}
	return l
}

// Where picks, among a point's frames (innermost first), the one that
// places the point in the program's own code: a frame of the program is
// outside shared libraries (libc.so.6, libstdc++) and Go's standard
// library, is not the point's own function (the syscall's wrapper,
// "write" or "__GI___libc_write", or the sync function itself) and is not
// named as the C library's internals are (a name reserved to the
// implementation, for static binaries). The first such frame with a
// source line; else (no line information) the first such named frame;
// else the first named frame; else 0.
func Where(frames []stack.Frame, point string) int {
	for i, fr := range frames {
		if fr.File != "" && fr.Line > 0 && own(fr, point) {
			return i
		}
	}
	for i, fr := range frames {
		if fr.Func != "" && own(fr, point) {
			return i
		}
	}
	for i, fr := range frames {
		if fr.Func != "" {
			return i
		}
	}
	return 0
}

// own reports a frame of the program's own code at point (Where).
func own(fr stack.Frame, point string) bool {
	return fr.Func != "" && !sharedObject(fr.Object) && !ownFunction(fr.Func, point) && !reserved(fr.Func) && !goStd(fr)
}

// goStd reports a frame in Go's runtime or standard library: a function
// whose package path looks like the standard library's (its first
// element has no dot; not main) in a file under GOROOT's src directory
// (".../src/PKG/...", PKG's first element without a dot: with inlining
// the line may be another standard package's).
func goStd(fr stack.Frame) bool {
	if fr.File != "" && !strings.HasSuffix(fr.File, ".go") && !strings.HasSuffix(fr.File, ".s") {
		return false
	}
	pkg := goPackage(fr.Func)
	if pkg == "" || pkg == "main" || strings.Contains(firstElem(pkg), ".") {
		return false
	}
	if fr.File == "" {
		return true
	}
	i := strings.LastIndex(fr.File, "/src/")
	return i >= 0 && !strings.Contains(firstElem(fr.File[i+len("/src/"):]), ".")
}

func firstElem(path string) string {
	e, _, _ := strings.Cut(path, "/")
	return e
}

// goPackage is the import path of a Go function's symbol name
// ("sync.(*Mutex).Lock" → "sync", "internal/runtime/syscall.Syscall6" →
// "internal/runtime/syscall"); "" if it does not look like one.
func goPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot <= 0 || strings.ContainsAny(fn, " :<") {
		return ""
	}
	return fn[:slash+1+dot]
}

// sharedObject reports an object that is a shared library (libc.so.6,
// ld-linux-x86-64.so.2, linux-vdso.so.1), not the program.
func sharedObject(path string) bool {
	return strings.Contains(filepath.Base(path), ".so")
}

// reserved reports a C name reserved to the implementation ("__lll_lock",
// "_IO_puts"): the C library's, not the program's.
func reserved(fn string) bool {
	return strings.HasPrefix(fn, "__") || len(fn) > 1 && fn[0] == '_' && fn[1] >= 'A' && fn[1] <= 'Z'
}

// ownFunction reports a frame of the point's own function: its name
// contains the point's ("write" in "__GI___libc_write").
func ownFunction(fn, point string) bool {
	point = strings.TrimPrefix(point, "watch:")
	return len(point) >= 3 && strings.Contains(fn, point)
}

// Locations returns where the critical pair's events happened (nil
// without a Cause) and each thread's last points that have a stack, in
// thread order, latest first.
func (f *Failure) Locations() (pair, last []Location) {
	if c := f.Cause; c != nil {
		for _, e := range []explore.ThreadEvent{c.First, c.Second} {
			pair = append(pair, location(e.Thread, e.Point, e.Name, f.stackAt(e.Thread, e.Point)))
		}
	}
	for _, t := range f.Result.Outcome.Threads {
		for i := len(t.Last) - 1; i >= 0; i-- {
			n := t.Points - (len(t.Last) - 1 - i)
			if frames := f.stackAt(t.Vtid, n); frames != nil {
				last = append(last, location(t.Vtid, n, t.Last[i], frames))
			}
		}
	}
	return pair, last
}

// Summary is the failure in one line, with the critical pair's places in
// the order that fails: "exit 1: thread 2 write at worker() x.c:17 before
// thread 1 write at worker() x.c:17" (JUnit's failure message).
func (f *Failure) Summary() string {
	s := f.Result.Describe()
	pair, _ := f.Locations()
	if len(pair) == 2 {
		var ev []string
		for _, l := range []Location{pair[1], pair[0]} {
			e := fmt.Sprintf("thread %d %s", l.Thread, l.Name)
			if at := l.At(); at != "" {
				e += " at " + at
			}
			ev = append(ev, e)
		}
		s += ": " + strings.Join(ev, " before ")
	}
	return s
}
