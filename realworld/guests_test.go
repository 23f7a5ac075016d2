package realworld

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The suite's guests are built (and its data files written) at most once
// per test process, on first use, into the package's temporary directory:
// a case that is not selected by -run costs nothing, and a missing
// compiler or interpreter skips only the cases that need it.

// workDir is the package's temporary directory (TestMain creates and
// removes it).
var workDir string

// srcDir is the absolute path of testdata (go test runs in the package
// directory).
var srcDir = func() string {
	d, err := filepath.Abs("testdata")
	if err != nil {
		panic(err)
	}
	return d
}()

// buildTimeout bounds one compiler run (gcc, rustc, go build, javac).
const buildTimeout = 5 * time.Minute

// memo runs each named build once; later callers get its result.
type memo struct {
	mu   sync.Mutex
	done map[string]*memoEntry
}

type memoEntry struct {
	once sync.Once
	val  string
	skip string // why the cases needing it are skipped
	err  error
}

var builds = memo{done: map[string]*memoEntry{}}

// get returns the result of build for key, running it on first use; it
// skips tb when a tool is missing and fails it when the build fails.
func (m *memo) get(tb testing.TB, key string, build func() (val, skip string, err error)) string {
	tb.Helper()
	m.mu.Lock()
	e := m.done[key]
	if e == nil {
		e = &memoEntry{}
		m.done[key] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.val, e.skip, e.err = build() })
	if e.skip != "" {
		tb.Skip(e.skip)
	}
	if e.err != nil {
		tb.Fatalf("%s: %v", key, e.err)
	}
	return e.val
}

// tool returns the absolute path of an executable on PATH, or skips tb.
func tool(tb testing.TB, name string) string {
	tb.Helper()
	return builds.get(tb, "tool "+name, func() (string, string, error) {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", name + " is not installed: skipping the cases that need it", nil
		}
		p, err = filepath.Abs(p)
		if err != nil {
			return "", "", err
		}
		return p, "", nil
	})
}

// tools skips tb unless every named executable is on PATH (the tools a
// shell command line runs).
func tools(tb testing.TB, names ...string) {
	tb.Helper()
	for _, n := range names {
		tool(tb, n)
	}
}

// python returns the real python3 executable: python3 on PATH may be a
// shell shim (pyenv), which would put bash in front of every run.
func python(tb testing.TB) string {
	tb.Helper()
	py := tool(tb, "python3")
	return builds.get(tb, "python3 executable", func() (string, string, error) {
		out, err := command(py, "-c", "import sys; print(sys.executable)")
		if err != nil {
			return "", "", err
		}
		return strings.TrimSpace(out), "", nil
	})
}

// command runs a build step and returns its stdout, or an error with its
// output.
func command(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), nil
}

// cFlags are the flags of the C guests (as internal/testprog's).
var cFlags = []string{"-O1", "-g", "-pthread", "-Wall", "-Wextra", "-Werror"}

// cGuest builds testdata/c/NAME.c with gcc.
func cGuest(tb testing.TB, name string) string {
	tb.Helper()
	cc := tool(tb, "gcc")
	return builds.get(tb, "c "+name, func() (string, string, error) {
		out := filepath.Join(workDir, "c-"+name)
		args := append(append([]string{}, cFlags...), "-o", out, filepath.Join(srcDir, "c", name+".c"))
		_, err := command(cc, args...)
		return out, "", err
	})
}

// cppGuest builds testdata/cpp/NAME.cpp with g++.
func cppGuest(tb testing.TB, name string) string {
	tb.Helper()
	cxx := tool(tb, "g++")
	return builds.get(tb, "cpp "+name, func() (string, string, error) {
		out := filepath.Join(workDir, "cpp-"+name)
		_, err := command(cxx, "-std=c++17", "-O1", "-g", "-pthread", "-Wall", "-Wextra", "-Werror", "-o", out,
			filepath.Join(srcDir, "cpp", name+".cpp"))
		return out, "", err
	})
}

// rustGuest builds testdata/rust/NAME.rs with rustc (no cargo, no crates).
func rustGuest(tb testing.TB, name string) string {
	tb.Helper()
	rustc := tool(tb, "rustc")
	return builds.get(tb, "rust "+name, func() (string, string, error) {
		out := filepath.Join(workDir, "rust-"+name)
		_, err := command(rustc, "-O", "--edition", "2021", "-o", out, filepath.Join(srcDir, "rust", name+".rs"))
		return out, "", err
	})
}

// goGuest builds testdata/go/NAME with this module's go command, as a
// user would (default settings: cgo as the toolchain decides).
func goGuest(tb testing.TB, name string) string {
	tb.Helper()
	gocmd := tool(tb, "go")
	return builds.get(tb, "go "+name, func() (string, string, error) {
		out := filepath.Join(workDir, "go-"+name)
		_, err := command(gocmd, "build", "-o", out, "./"+filepath.ToSlash(filepath.Join("testdata", "go", name)))
		return out, "", err
	})
}

// javaClasses compiles testdata/java/NAME.java with javac and returns the
// class directory.
func javaClasses(tb testing.TB, name string) string {
	tb.Helper()
	javac := tool(tb, "javac")
	tool(tb, "java")
	return builds.get(tb, "java "+name, func() (string, string, error) {
		out := filepath.Join(workDir, "java-"+name)
		if err := os.MkdirAll(out, 0o755); err != nil {
			return "", "", err
		}
		_, err := command(javac, "-d", out, filepath.Join(srcDir, "java", name+".java"))
		return out, "", err
	})
}

// bigFile is a 1 MiB file of seeded pseudo-random bytes (the same content
// in every test process), for the pipeline cases.
func bigFile(tb testing.TB) string {
	tb.Helper()
	return builds.get(tb, "bigfile", func() (string, string, error) {
		rng := rand.New(rand.NewPCG(1, 2))
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		p := filepath.Join(workDir, "bigfile")
		return p, "", os.WriteFile(p, b, 0o644)
	})
}

// src is the absolute path of a file under testdata.
func src(elem ...string) string { return filepath.Join(append([]string{srcDir}, elem...)...) }
