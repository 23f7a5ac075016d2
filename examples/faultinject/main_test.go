package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "faultinject")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), o.String(), e.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, o.String(), e.String()
}

// TestFailEveryCall: rm whose unlinkat always fails with EACCES reports
// the error and leaves the file.
func TestFailEveryCall(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	bin := build(t, dir)
	file := filepath.Join(dir, "victim")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, bin, "-rate", "1", "-errno", "EACCES", "-calls", "unlinkat,unlink", "rm", file)
	if code != 1 || !strings.Contains(stderr, "Permission denied") || !strings.Contains(stderr, "unlinkat = -EACCES (injected)") {
		t.Errorf("rm under faultinject: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("the file was removed: %v", err)
	}
}

// TestSeededRate: a single-threaded program fails the same calls for the
// same seed, about as often as asked, and other calls for another seed.
func TestSeededRate(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	bin := build(t, dir)
	sh := `for i in $(seq 40); do mkdir d$i 2>/dev/null && echo $i; done`
	failures := func(seed string) string {
		work := t.TempDir()
		_, stdout, stderr := run(t, bin, "-seed", seed, "-rate", "0.5", "-errno", "ENOSPC", "-calls", "mkdir", "sh", "-c", "cd "+work+" && "+sh)
		m := regexp.MustCompile(`(\d+) calls failed with ENOSPC`).FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("no summary line:\n%s", stderr)
		}
		if n := strings.Count(stdout, "\n"); n < 5 || n > 35 {
			t.Errorf("seed %s: %d of 40 mkdirs succeeded at rate 0.5", seed, n)
		}
		return stdout
	}
	a, b, c := failures("7"), failures("7"), failures("8")
	if a != b {
		t.Errorf("seed 7 twice: different calls failed:\n%s---\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 failed the same calls:\n%s", a)
	}
}
