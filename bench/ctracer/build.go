// Package ctracer builds and drives the minimal C seccomp+ptrace tracer that
// is the baseline for schedfuzz's tracer benchmarks (see README.md).
//
// The C sources live in csrc/ (a directory without Go files, so the go tool
// ignores them) and are embedded here so BuildTools works from any working
// directory and with -trimpath.
package ctracer

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

//go:embed csrc/ctracer.c csrc/guest.c
var sources embed.FS

// CFlags are the flags both tools are compiled with (run.sh uses the same).
var CFlags = []string{"-O2", "-Wall", "-Wextra", "-std=gnu11"}

// Compiler returns the C compiler BuildTools uses: $CC, or "gcc".
func Compiler() string {
	if cc := os.Getenv("CC"); cc != "" {
		return cc
	}
	return "gcc"
}

// BuildTools compiles ctracer and guest into dir (created if needed) and
// returns the absolute paths of the two executables.
func BuildTools(dir string) (tracer, guest string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	tracer = filepath.Join(dir, "ctracer")
	guest = filepath.Join(dir, "guest")
	if err := compile("csrc/ctracer.c", tracer); err != nil {
		return "", "", err
	}
	if err := compile("csrc/guest.c", guest); err != nil {
		return "", "", err
	}
	return tracer, guest, nil
}

func compile(src, out string) error {
	code, err := sources.ReadFile(src)
	if err != nil {
		return err
	}
	cc := Compiler()
	args := append(append([]string{}, CFlags...), "-x", "c", "-o", out, "-")
	cmd := exec.Command(cc, args...)
	cmd.Stdin = bytes.NewReader(code)
	var msg bytes.Buffer
	cmd.Stdout = &msg
	cmd.Stderr = &msg
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ctracer: compiling %s with %s: %v\n%s", src, cc, err, msg.Bytes())
	}
	return nil
}

var (
	tracerLine = regexp.MustCompile(`(?m)^ctracer stops=(\d+) wall_ns=(\d+) ns_per_stop=([0-9.]+)$`)
	guestLine  = regexp.MustCompile(`(?m)^guest calls=(\d+) ns_per_call=([0-9.]+)$`)
)

// ParseTracer extracts the summary line ctracer prints to stderr at exit.
func ParseTracer(stderr string) (stops, wallNs uint64, ok bool) {
	m := tracerLine.FindAllStringSubmatch(stderr, -1)
	if len(m) == 0 {
		return 0, 0, false
	}
	last := m[len(m)-1]
	stops, err1 := strconv.ParseUint(last[1], 10, 64)
	wallNs, err2 := strconv.ParseUint(last[2], 10, 64)
	return stops, wallNs, err1 == nil && err2 == nil
}

// ParseGuest extracts the line guest prints to stderr. nsPerCall is measured
// inside the guest around its syscall loop only, so under a tracer it is the
// round-trip cost of one seccomp stop (including the syscall itself).
func ParseGuest(stderr string) (calls int64, nsPerCall float64, ok bool) {
	m := guestLine.FindAllStringSubmatch(stderr, -1)
	if len(m) == 0 {
		return 0, 0, false
	}
	last := m[len(m)-1]
	calls, err1 := strconv.ParseInt(last[1], 10, 64)
	nsPerCall, err2 := strconv.ParseFloat(last[2], 64)
	return calls, nsPerCall, err1 == nil && err2 == nil
}
