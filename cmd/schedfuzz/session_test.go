package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
)

// TestChaosSeedSaved: a failure found by chaos, whose schedule lets
// virtual time pass (pick -1), is saved, parses back, and replays 10 times
// out of 10 (the seed encoder once refused the -1 and the failure was lost
// with exit 125).
func TestChaosSeedSaved(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	for s := 1; s <= 10; s++ {
		corpus := filepath.Join(dir, "seeds"+strconv.Itoa(s))
		code, _, stderr := sf(t, dir, "-strategy", "chaos", "-runs", "5", "-seed", strconv.Itoa(s), "-corpus", corpus,
			"--", "sh", "-c", "sleep 0.01 & sleep 0.02; exit 1")
		if code != 1 {
			t.Fatalf("-seed %d: exit %d, want 1\n%s", s, code, stderr)
		}
		m := replayLine.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("no replay line:\n%s", stderr)
		}
		file := m[1]
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sf0, err := replay.Parse(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatalf("the saved seed does not parse: %v", err)
		}
		idle := slices.ContainsFunc(sf0.Decisions, func(d sched.Decision) bool { return d.Choice == sched.IdleOption })
		if !idle {
			t.Logf("-seed %d: the failing run never let time pass; trying the next session seed", s)
			continue
		}
		for i := 0; i < 10; i++ {
			code, _, stderr := sf(t, dir, "replay", file)
			if code != 1 || !strings.Contains(stderr, "reproduced: exit 1") {
				t.Fatalf("replay %d of %s: exit %d\n%s", i, file, code, stderr)
			}
		}
		// The minimized seed (if any) replays too.
		if code, out, stderr := sf(t, dir, "replay", corpus); code != 1 || strings.Contains(out, ": diverged") {
			t.Fatalf("replay %s: exit %d\n%s%s", corpus, code, out, stderr)
		}
		return
	}
	t.Fatal("no chaos failure that lets time pass in 10 sessions")
}

// TestInterruptDuringMinimization: SIGINT while a failure is being
// minimized ends schedfuzz promptly with exit 1, the failure's seed file
// on disk, and no guest process left.
func TestInterruptDuringMinimization(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "long_run")
	buildC(t, filepath.Join("..", "..", "explore", "testdata", "long_run.c"), prog)
	corpus := filepath.Join(dir, "seeds")
	// 20000 rounds: each minimization candidate is a run of about 40 000
	// decisions, so minimizing takes many seconds.
	cmd := exec.Command(sfBinary, "-v", "-strategy", "random", "-runs", "20", "-seed", "1", "-p", "1", "-corpus", corpus, "--", prog, "20000")
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	var all strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitFor := func(prefix string) {
		t.Helper()
		for l := range lines {
			all.WriteString(l + "\n")
			if strings.HasPrefix(l, prefix) {
				return
			}
		}
		cmd.Wait()
		t.Fatalf("schedfuzz ended without printing %q:\n%s", prefix, all.String())
	}
	waitFor("schedfuzz: minimizing the failure")
	time.Sleep(time.Second) // well into it
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	done := make(chan error, 1)
	go func() {
		for l := range lines {
			all.WriteString(l + "\n")
		}
		done <- cmd.Wait()
	}()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		// Generous: the bound checked here is "it ends", not a time.
		cmd.Process.Kill()
		t.Fatalf("schedfuzz still running a minute after SIGINT:\n%s", all.String())
	}
	t.Logf("exited %v after SIGINT", time.Since(sent).Round(time.Millisecond))
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d (%v), want 1:\n%s", code, err, all.String())
	}
	m := replayLine.FindStringSubmatch(all.String())
	if m == nil || !strings.Contains(all.String(), "interrupted") {
		t.Fatalf("no replay line or interrupt message:\n%s", all.String())
	}
	if _, err := os.Stat(m[1]); err != nil {
		t.Fatalf("the seed file is not on disk: %v", err)
	}
	if pids := processesOf(prog); len(pids) > 0 {
		t.Fatalf("guest processes survive: %v", pids)
	}
}

// processesOf lists the processes whose executable is path.
func processesOf(path string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && exe == path {
			pids = append(pids, pid)
		}
	}
	return pids
}
