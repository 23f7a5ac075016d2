// Package testprog builds the guest programs that schedfuzz's tests run
// under the tracer, and provides /proc helpers to check that no guest
// process outlives a test.
//
// The guests live next to this file: C programs in src/<name>.c (sharing
// src/guest.h) and Go programs in src/go/<name>/ (package main directories
// inside this module). Each source file documents what it exercises and
// its expected output; Cases lists the same expectations in machine-usable
// form.
//
// Builds are cached on disk under
//
//	$SCHEDFUZZ_TESTPROG_CACHE, else os.UserCacheDir()/schedfuzz-testprog,
//	else os.TempDir()/schedfuzz-testprog
//
// in <hash>/<name>, where the hash covers the sources, the compiler and its
// version, and the flags. A binary is built in a private temporary
// directory and then hard-linked into place, so concurrent test processes
// never see a partial file and a published binary is never replaced (a
// running guest's /proc/<pid>/exe keeps naming it).
package testprog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// CFlags are the compiler flags every C guest is built with (before any
// Static or Flags options).
var CFlags = []string{"-std=c11", "-O1", "-g", "-pthread", "-Wall", "-Wextra", "-Werror"}

// buildTimeout bounds a single compiler invocation.
const buildTimeout = 5 * time.Minute

// cacheFormat is mixed into every cache key; bump it when the layout or
// the meaning of the key changes.
const cacheFormat = "schedfuzz-testprog v1"

// Option modifies how a guest is built.
type Option func(*options)

type options struct {
	static bool
	flags  []string
}

// Static links a C guest statically (gcc -static). Go guests are always
// built with CGO_ENABLED=0 and are therefore static already; for them this
// option has no effect.
func Static() Option { return func(o *options) { o.static = true } }

// Flags appends extra arguments to the compiler command line: to gcc (after
// the source file, so -l options work and -O options override the
// defaults) for C guests, to "go build" for Go guests. Different flags give
// a different binary path, so Flags("-DUNIQUE=1") also yields a private
// copy of a program.
func Flags(flags ...string) Option {
	return func(o *options) { o.flags = append(o.flags, flags...) }
}

// Build returns the path of the executable for the guest program name
// ("threads_pipe" for src/threads_pipe.c, "go/goroutines" for
// src/go/goroutines), building it if it is not cached yet. A build failure
// is reported with tb.Fatalf, including the compiler output.
//
// The returned path is absolute with symbolic links resolved, so it
// compares equal to the target of /proc/<pid>/exe of a process running it.
func Build(tb testing.TB, name string, opts ...Option) string {
	tb.Helper()
	path, err := BuildE(name, opts...)
	if err != nil {
		tb.Fatalf("testprog: %v", err)
	}
	return path
}

// BuildE is Build for callers without a testing.TB (benchmarks, commands).
func BuildE(name string, opts ...Option) (string, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	root, err := cacheRoot()
	if err != nil {
		return "", err
	}
	return buildMemo(root, name, o)
}

// Names lists the buildable guest programs ("threads_pipe", ...,
// "go/goroutines"), sorted.
func Names() ([]string, error) {
	src, err := SourceDir()
	if err != nil {
		return nil, err
	}
	cs, err := filepath.Glob(filepath.Join(src, "*.c"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, c := range cs {
		names = append(names, strings.TrimSuffix(filepath.Base(c), ".c"))
	}
	gos, err := filepath.Glob(filepath.Join(src, "go", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	for _, g := range gos {
		names = append(names, "go/"+filepath.Base(filepath.Dir(g)))
	}
	sort.Strings(names)
	return names, nil
}

// SourceDir returns the directory holding the guest sources. It is found
// from this file's location at compile time; if that is not available (a
// binary built with -trimpath, or moved to another machine) it falls back
// to $SCHEDFUZZ_TESTPROG_SRC, then to internal/testprog/src in the current
// directory or any parent.
func SourceDir() (string, error) {
	srcDirOnce.Do(func() { srcDir, srcDirErr = findSourceDir() })
	return srcDir, srcDirErr
}

var (
	srcDirOnce sync.Once
	srcDir     string
	srcDirErr  error
)

func findSourceDir() (string, error) {
	isSrc := func(dir string) bool {
		fi, err := os.Stat(filepath.Join(dir, "guest.h"))
		return err == nil && fi.Mode().IsRegular()
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if dir := filepath.Join(filepath.Dir(file), "src"); isSrc(dir) {
			return dir, nil
		}
	}
	if dir := os.Getenv("SCHEDFUZZ_TESTPROG_SRC"); dir != "" {
		if isSrc(dir) {
			return filepath.Abs(dir)
		}
		return "", fmt.Errorf("SCHEDFUZZ_TESTPROG_SRC=%s does not contain guest.h", dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("locating guest sources: %v", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if cand := filepath.Join(dir, "internal", "testprog", "src"); isSrc(cand) {
			return cand, nil
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return "", errors.New("cannot locate internal/testprog/src (set SCHEDFUZZ_TESTPROG_SRC)")
}

var (
	rootMu    sync.Mutex
	rootCache = map[string]string{} // $SCHEDFUZZ_TESTPROG_CACHE -> root
)

// cacheRoot returns the (created, writable, symlink-free) cache directory.
func cacheRoot() (string, error) {
	env := os.Getenv("SCHEDFUZZ_TESTPROG_CACHE")
	rootMu.Lock()
	defer rootMu.Unlock()
	if r, ok := rootCache[env]; ok {
		return r, nil
	}
	r, err := findCacheRoot(env)
	if err == nil {
		rootCache[env] = r
	}
	return r, err
}

func findCacheRoot(env string) (string, error) {
	var cands []string
	if env != "" {
		cands = append(cands, env)
	} else {
		if d, err := os.UserCacheDir(); err == nil {
			cands = append(cands, filepath.Join(d, "schedfuzz-testprog"))
		}
		cands = append(cands, filepath.Join(os.TempDir(), "schedfuzz-testprog"))
	}
	var errs []error
	for _, d := range cands {
		if err := os.MkdirAll(d, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		// Probe writability: a read-only $HOME must not make builds fail.
		f, err := os.CreateTemp(d, ".probe-")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.Close()
		os.Remove(f.Name())
		return resolveDir(d)
	}
	return "", fmt.Errorf("no usable cache directory: %w", errors.Join(errs...))
}

func resolveDir(d string) (string, error) {
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	return abs, nil
}

// A guest program resolved to its sources.
type guest struct {
	name  string   // canonical name: "threads_pipe" or "go/goroutines"
	base  string   // executable file name
	isGo  bool     //
	dir   string   // Go: package directory
	file  string   // C: source file
	files []string // every file whose content determines the build
}

func resolve(name string) (*guest, error) {
	src, err := SourceDir()
	if err != nil {
		return nil, err
	}
	if rest, ok := strings.CutPrefix(name, "go/"); ok {
		rest = strings.TrimSuffix(rest, "/")
		if !validName(rest) {
			return nil, fmt.Errorf("invalid Go guest name %q (want go/<name>)", name)
		}
		g := &guest{name: "go/" + rest, base: rest, isGo: true, dir: filepath.Join(src, "go", rest)}
		ents, err := os.ReadDir(g.dir)
		if err != nil {
			return nil, fmt.Errorf("unknown guest program %q: %v", name, err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				g.files = append(g.files, filepath.Join(g.dir, e.Name()))
			}
		}
		if !slices.Contains(g.files, filepath.Join(g.dir, "main.go")) {
			return nil, fmt.Errorf("unknown guest program %q: no main.go in %s", name, g.dir)
		}
		// The module definition can change how the guest builds.
		if mod := findGoMod(g.dir); mod != "" {
			g.files = append(g.files, mod)
			if sum := filepath.Join(filepath.Dir(mod), "go.sum"); fileExists(sum) {
				g.files = append(g.files, sum)
			}
		}
		return g, nil
	}
	base := strings.TrimSuffix(name, ".c")
	if !validName(base) {
		return nil, fmt.Errorf("invalid guest program name %q", name)
	}
	g := &guest{name: base, base: base, file: filepath.Join(src, base+".c")}
	if !fileExists(g.file) {
		return nil, fmt.Errorf("unknown guest program %q: %s does not exist", name, g.file)
	}
	hs, err := filepath.Glob(filepath.Join(src, "*.h"))
	if err != nil {
		return nil, err
	}
	g.files = append([]string{g.file}, hs...)
	return g, nil
}

// validName accepts plain file names made of letters, digits, '_', '-'.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func findGoMod(dir string) string {
	for {
		if p := filepath.Join(dir, "go.mod"); fileExists(p) {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Compiler identification, computed once per process.

type tool struct {
	once sync.Once
	argv []string // command (CC may be "ccache gcc")
	id   string   // resolved path + version output
	err  error
}

var cc, gotool tool

func ccTool() (*tool, error) {
	cc.once.Do(func() {
		cc.argv = strings.Fields(os.Getenv("CC"))
		if len(cc.argv) == 0 {
			cc.argv = []string{"gcc"}
		}
		cc.id, cc.err = identify(cc.argv, "", "--version")
		if cc.err == nil {
			var m string
			m, cc.err = identify(cc.argv, "", "-dumpmachine")
			cc.id += m
		}
	})
	return &cc, cc.err
}

func goTool() (*tool, error) {
	gotool.once.Do(func() {
		bin := "go"
		if _, err := exec.LookPath(bin); err != nil {
			if root := os.Getenv("GOROOT"); root != "" {
				bin = filepath.Join(root, "bin", "go")
			}
		}
		gotool.argv = []string{bin}
		// Run inside the module so GOTOOLCHAIN selection matches the build.
		dir, err := SourceDir()
		if err != nil {
			gotool.err = err
			return
		}
		gotool.id, gotool.err = identify(gotool.argv, dir, "version")
		gotool.id += "GOFLAGS=" + os.Getenv("GOFLAGS") + "\nGOEXPERIMENT=" + os.Getenv("GOEXPERIMENT") + "\n"
	})
	return &gotool, gotool.err
}

func identify(argv []string, dir string, arg string) (string, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return "", fmt.Errorf("compiler %q not found: %v", argv[0], err)
	}
	if r, err := filepath.EvalSymlinks(path); err == nil {
		path = r
	}
	args := append(slices.Clone(argv[1:]), arg)
	cmd := exec.Command(argv[0], args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", strings.Join(argv, " "), arg, err, out)
	}
	return strings.Join(argv, " ") + "\n" + path + "\n" + string(out), nil
}

// In-process memo: one build per (cache root, key) per process, concurrent
// callers wait for the first.

type memoEntry struct {
	once sync.Once
	path string
	err  error
}

var memo sync.Map // string -> *memoEntry

func buildMemo(root, name string, o options) (string, error) {
	g, key, t, err := prepare(name, o)
	if err != nil {
		return "", err
	}
	e, _ := memo.LoadOrStore(root+"\x00"+key, new(memoEntry))
	me := e.(*memoEntry)
	me.once.Do(func() { me.path, me.err = buildInto(root, g, key, t, o) })
	if me.err != nil {
		// Let a later call retry (the failure may be transient).
		memo.CompareAndDelete(root+"\x00"+key, me)
	}
	return me.path, me.err
}

// buildIn builds without the in-process memo (tests use it to exercise
// concurrent builders on a fresh cache).
func buildIn(root, name string, o options) (string, error) {
	g, key, t, err := prepare(name, o)
	if err != nil {
		return "", err
	}
	return buildInto(root, g, key, t, o)
}

// prepare resolves the guest and computes its cache key.
func prepare(name string, o options) (*guest, string, *tool, error) {
	g, err := resolve(name)
	if err != nil {
		return nil, "", nil, err
	}
	var t *tool
	if g.isGo {
		t, err = goTool()
	} else {
		t, err = ccTool()
	}
	if err != nil {
		return nil, "", nil, err
	}

	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s\n", len(s), s) }
	field(cacheFormat)
	field(runtime.GOOS + "/" + runtime.GOARCH)
	field(g.name)
	field(t.id)
	if g.isGo {
		field("go")
	} else {
		field("c " + strings.Join(CFlags, " "))
		field(fmt.Sprint("static=", o.static))
	}
	field(fmt.Sprint(len(o.flags)))
	for _, f := range o.flags {
		field(f)
	}
	for _, f := range g.files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, "", nil, err
		}
		field(filepath.Base(f))
		field(string(data))
	}
	return g, hex.EncodeToString(h.Sum(nil))[:32], t, nil
}

func buildInto(root string, g *guest, key string, t *tool, o options) (string, error) {
	dir := filepath.Join(root, key)
	final := filepath.Join(dir, g.base)
	if fileExists(final) {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, g.base)

	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if g.isGo {
		args := []string{"build", "-trimpath", "-buildvcs=false"}
		args = append(args, o.flags...)
		args = append(args, "-o", out, ".")
		cmd = exec.CommandContext(ctx, t.argv[0], args...)
		cmd.Dir = g.dir
		cmd.Env = append(os.Environ(),
			"CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "GOWORK=off")
		if os.Getenv("GOCACHE") == "" && os.Getenv("HOME") == "" && os.Getenv("XDG_CACHE_HOME") == "" {
			cmd.Env = append(cmd.Env, "GOCACHE="+filepath.Join(root, "gocache"))
		}
	} else {
		args := slices.Clone(t.argv[1:])
		args = append(args, CFlags...)
		if o.static {
			args = append(args, "-static")
		}
		args = append(args, "-I", filepath.Dir(g.file), "-o", out, g.file)
		args = append(args, o.flags...)
		cmd = exec.CommandContext(ctx, t.argv[0], args...)
		cmd.Dir = tmp
	}
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s failed: %v\n$ %s\n%s",
			g.name, err, strings.Join(cmd.Args, " "), output.String())
	}
	if !fileExists(out) {
		return "", fmt.Errorf("building %s: compiler produced no %s\n%s", g.name, out, output.String())
	}

	// Publish without ever replacing an existing file: a concurrent
	// builder may have won, and its binary may already be running.
	if err := os.Link(out, final); err != nil && !errors.Is(err, fs.ErrExist) {
		// No hard links on this file system: fall back to rename, which
		// is still atomic but may replace an identical binary.
		if rerr := os.Rename(out, final); rerr != nil {
			return "", fmt.Errorf("publishing %s: %v; %v", final, err, rerr)
		}
	}
	return final, nil
}
