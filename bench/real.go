package bench

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// realSources are the real-program guests of issue 15 ("the default point
// set on real programs") that only the benchmarks run: a C++ thread pool.
// The Go net/http guest is the package realsrc/httpd, built with the go
// command. The node program with worker_threads, the CPython threads and
// the make -j4 build of four C files are the real-programs suite's
// (realworld/testdata, sharedSources), read from the module's tree.
//
//go:embed realsrc/pool.cpp
var realSources embed.FS

// sharedSources maps files of the real-programs suite, relative to the
// module's root, to where BuildReal puts them under realsrc.
var sharedSources = map[string]string{
	"realworld/testdata/node/workers.js": "workers.js",
	"realworld/testdata/py/threads.py":   "threads.py",
	"realworld/testdata/make/cc":         "make",
}

// copyShared copies sharedSources from the module at root into src.
func copyShared(root, src string) error {
	for from, to := range sharedSources {
		from = filepath.Join(root, from)
		err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(from, p)
			if err != nil {
				return err
			}
			out := filepath.Join(src, to, rel)
			if d.IsDir() {
				return os.MkdirAll(out, 0o755)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(out, b, 0o644)
		})
		if err != nil {
			return fmt.Errorf("copy %s: %w", from, err)
		}
	}
	return nil
}

// moduleRoot is the directory of the go.mod the go command finds here.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the schedfuzz module (go env GOMOD: %q, %v)", mod, err)
	}
	return filepath.Dir(mod), nil
}

// RealProg is one real program: how to run it natively (Argv, from Dir)
// and what it needs that may be missing.
type RealProg struct {
	Name string
	Argv []string
	Dir  string // working directory ("": any)
	Skip string // why it cannot run here ("": it can)
}

// BuildReal writes and builds the real programs into dir and returns them,
// each with Skip set if its interpreter or compiler is missing. The go
// command builds the Go guest and schedfuzz itself (returned as cli), so
// it must be run from inside the module.
func BuildReal(dir string) (progs []RealProg, cli string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, "", err
	}
	if err := fs.WalkDir(realSources, "realsrc", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out := filepath.Join(dir, p)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := realSources.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	}); err != nil {
		return nil, "", fmt.Errorf("write real programs: %w", err)
	}
	src := filepath.Join(dir, "realsrc")
	root, err := moduleRoot()
	if err != nil {
		return nil, "", err
	}
	if err := copyShared(root, src); err != nil {
		return nil, "", err
	}
	if cli, err = BuildCLI(dir); err != nil {
		return nil, "", err
	}
	if err := goBuild("github.com/schedfuzz/schedfuzz/bench/realsrc/httpd", filepath.Join(dir, "httpd")); err != nil {
		return nil, "", err
	}
	lookup := func(name string) (string, string) {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", name + " not installed"
		}
		return p, ""
	}
	node, noNode := lookup("node")
	py, noPy := lookup("python3")
	mk, noMake := lookup("make")
	gxx, noGxx := lookup("g++")
	pool := filepath.Join(dir, "pool")
	if noGxx == "" {
		if out, err := exec.Command(gxx, "-O2", "-pthread", "-o", pool, filepath.Join(src, "pool.cpp")).CombinedOutput(); err != nil {
			return nil, "", fmt.Errorf("g++ pool.cpp: %v\n%s", err, out)
		}
	}
	sh, _ := exec.LookPath("sh")
	// make builds into a fresh directory each run, then runs the program.
	makeScript := fmt.Sprintf(`d=$(mktemp -d) && %s -s -j4 -C %s O="$d" && rm -rf "$d"`, mk, filepath.Join(src, "make"))
	progs = []RealProg{
		{Name: "node worker_threads", Argv: []string{node, filepath.Join(src, "workers.js")}, Skip: noNode},
		{Name: "C++ thread pool", Argv: []string{pool}, Skip: noGxx},
		{Name: "Go net/http", Argv: []string{filepath.Join(dir, "httpd")}},
		{Name: "python threads", Argv: []string{py, filepath.Join(src, "threads.py")}, Skip: noPy},
		{Name: "make -j4", Argv: []string{sh, "-c", makeScript}, Skip: noMake},
	}
	return progs, cli, nil
}

// BuildCLI builds schedfuzz into dir and returns its path; like
// BuildReal, it must be run from inside the module.
func BuildCLI(dir string) (string, error) {
	cli := filepath.Join(dir, "schedfuzz")
	return cli, goBuild("github.com/schedfuzz/schedfuzz/cmd/schedfuzz", cli)
}

func goBuild(pkg, out string) error {
	if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// RunPlain runs argv to completion and returns its wall time; a non-zero
// exit is an error carrying its output.
func RunPlain(ctx context.Context, argv []string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("%v: %v\n%s", argv, err, out.Bytes())
	}
	return d, nil
}
