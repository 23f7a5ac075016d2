package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// TestYieldAtQualifiedNames: -yield-at takes C++ and Rust names as their
// languages write them. A lost update between a getter and a setter (no
// syscall, no lock in the window) is not found with syscall points alone
// and is found, and replays, with a point at the setter.
func TestYieldAtQualifiedNames(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	src := filepath.Join("..", "..", "intercept", "symbols", "testdata")
	type prog struct{ compiler, file, point string }
	progs := []prog{{"g++", "names.cpp", "bank::Account::set"}}
	if _, err := exec.LookPath("rustc"); err == nil {
		progs = append(progs, prog{"rustc", "names.rs", "names::bank::store"})
	} else {
		t.Log("rustc not installed: Rust names not checked")
	}
	for _, p := range progs {
		bin := filepath.Join(dir, strings.ReplaceAll(p.file, ".", "_"))
		args := []string{"-O", "-o", bin, filepath.Join(src, p.file)}
		if p.compiler == "g++" {
			args = append(args, "-pthread")
		}
		if out, err := exec.Command(p.compiler, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", p.compiler, err, out)
		}
		run := []string{"-points", "syscalls", "-runs", "300", "-seed", "1", "-minimize=false", "-timeout", "60s"}
		if code, _, stderr := sf(t, dir, append(run, bin)...); code != 0 {
			t.Fatalf("%s with syscall points: exit %d, want no failure\n%s", p.file, code, stderr)
		}
		code, _, stderr := sf(t, dir, append(run, "-yield-at", p.point, bin)...)
		if code != 1 || !strings.Contains(stderr, "lost update") {
			t.Fatalf("%s with -yield-at %s: exit %d, want the lost update\n%s", p.file, p.point, code, stderr)
		}
		seed := replayLine.FindStringSubmatch(stderr)[1]
		if !strings.Contains(string(mustRead(t, filepath.Join(dir, seed))), `point: "yield-at `+p.point+`"`) {
			t.Errorf("%s: the seed file does not record the point %s", p.file, p.point)
		}
		if code, _, stderr := sf(t, dir, "replay", "-timeout", "60s", seed); code != 1 {
			t.Errorf("%s: replay exit %d, want 1\n%s", p.file, code, stderr)
		}
	}
}
