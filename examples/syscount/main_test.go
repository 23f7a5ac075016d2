package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// TestSyscount: a shell pipeline's calls are counted per thread, per
// process and in all, and the three levels add up.
func TestSyscount(t *testing.T) {
	testenv.RequirePtrace(t)
	bin := filepath.Join(t.TempDir(), "syscount")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-top", "2", "sh", "-c", "echo hi | cat; exit 3")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("syscount: %v, want exit 3 (the program's)\n%s", err, stderr.String())
	}
	if stdout.String() != "hi\n" {
		t.Errorf("the program's output = %q", stdout.String())
	}
	procRE := regexp.MustCompile(`(?m)^process \d+: (\d+) calls`)
	threadRE := regexp.MustCompile(`(?m)^  thread \d+: (\d+) calls`)
	allRE := regexp.MustCompile(`(?m)^all: (\d+) calls in (\d+) processes: (\w+) \d+`)
	sum := func(re *regexp.Regexp) (n, lines int) {
		for _, m := range re.FindAllStringSubmatch(stderr.String(), -1) {
			v, _ := strconv.Atoi(m[1])
			n += v
			lines++
		}
		return n, lines
	}
	procs, nprocs := sum(procRE)
	threads, _ := sum(threadRE)
	all := allRE.FindStringSubmatch(stderr.String())
	if all == nil {
		t.Fatalf("no totals line:\n%s", stderr.String())
	}
	total, _ := strconv.Atoi(all[1])
	// sh forks at least echo's and cat's sides of the pipe.
	if nprocs < 3 || all[2] != strconv.Itoa(nprocs) || procs != total || threads != total || total < 50 {
		t.Errorf("counts do not add up: processes %d (%d lines), threads %d, all %s\n%s", procs, nprocs, threads, all[0], stderr.String())
	}
}
