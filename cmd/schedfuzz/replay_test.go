package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/hunt"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/replay"
)

var replayLine = regexp.MustCompile(`replay: schedfuzz replay (\S+)`)

// find runs schedfuzz on prog with session seeds from..from+9 until it
// reports a failure recorded without timing-based preemption (a seed with
// one is documented as possibly not replaying), and returns the seed
// file's path (relative to dir) and the run's stderr.
func find(t *testing.T, dir, prog, corpus string, from int) (string, string) {
	t.Helper()
	for s := from; s < from+10; s++ {
		code, _, stderr := sf(t, dir, "-runs", "1000", "-minimize=false", "-seed", strconv.Itoa(s), "-corpus", corpus, prog)
		if code != 1 {
			t.Fatalf("run -seed %d: exit %d, want 1\n%s", s, code, stderr)
		}
		m := replayLine.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("no replay line:\n%s", stderr)
		}
		if strings.Contains(stderr, "timing-based preemption") {
			t.Logf("-seed %d found a failure with a timing-based preemption; trying the next session seed", s)
			os.Remove(filepath.Join(dir, m[1]))
			continue
		}
		return m[1], stderr
	}
	t.Fatalf("no failure without timing-based preemption in 10 sessions")
	return "", ""
}

// sfEnv runs the schedfuzz binary in dir with the test's environment,
// minus SF_* variables, plus env.
func sfEnv(t *testing.T, dir string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var vars []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SF_") {
			vars = append(vars, kv)
		}
	}
	return sfWith(t, dir, append(vars, env...), args...)
}

// TestCorpusNewKnown: a found failure is saved under its signature's
// directory and marked new; the same failure found again is known and not
// written twice.
func TestCorpusNewKnown(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildExample(t, dir, "lost_update")
	file, stderr := find(t, dir, prog, "corpus", 5)
	sig := regexp.MustCompile(`(?m)^signature: (.+) \((new|known) in corpus\)$`).FindStringSubmatch(stderr)
	if sig == nil || sig[2] != "new" {
		t.Fatalf("first find not reported new:\n%s", stderr)
	}
	if !strings.HasPrefix(file, "corpus/exit-1-") || strings.Count(file, "/") != 2 {
		t.Errorf("seed file %s not in a signature directory", file)
	}
	seed, err := replay.Load(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	if seed.Signature != sig[1] || seed.Digest != replay.Digest(seed.Decisions) || seed.Dir != dir || len(seed.Env) == 0 {
		t.Errorf("seed file: signature %q (printed %q), digest %s, dir %q, %d env vars", seed.Signature, sig[1], seed.Digest, seed.Dir, len(seed.Env))
	}
	// The same session again finds the same run: known, same file.
	s := regexp.MustCompile(`seed (0x[0-9a-f]+), \d+ runs`).FindStringSubmatch(stderr)[1]
	code, _, stderr2 := sf(t, dir, "-runs", "1000", "-minimize=false", "-seed", s, "-corpus", "corpus", prog)
	if code != 1 || !strings.Contains(stderr2, "(known in corpus)") || replayLine.FindStringSubmatch(stderr2)[1] != file {
		t.Fatalf("second find: exit %d\n%s", code, stderr2)
	}
	paths, err := replay.Store{Dir: filepath.Join(dir, "corpus")}.Paths()
	if err != nil || len(paths) != 1 {
		t.Fatalf("corpus holds %q (%v), want one seed file", paths, err)
	}
}

// TestReplayDir: replay DIR classifies every seed and exits by the
// documented precedence: 1 if any still fails, else 125 if any diverged,
// else 0.
func TestReplayDir(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildExample(t, dir, "lost_update")
	failing, _ := find(t, dir, prog, "corpus", 5)

	// Fixed: the same binary, following a schedule it still follows, now
	// passes. The file is the failing one (outcome "exit 1", its digest)
	// with its decisions replaced by those of a passing run of the same
	// program, environment, directory and CPU count.
	rec, err := replay.Load(filepath.Join(dir, failing))
	if err != nil {
		t.Fatal(err)
	}
	pts, err := hunt.RecordedPoints(rec.Points)
	if err != nil {
		t.Fatal(err)
	}
	var pass *explore.Result
	for s := uint64(1); s < 50 && pass == nil; s++ {
		cfg := explore.Config{Seed: s, Timeout: 20 * time.Second, CPU: 0, CPUs: rec.CPUs}
		pts.Apply(&cfg)
		r, err := explore.Run(context.Background(), &explore.Target{Path: prog, Args: []string{prog}, Env: os.Environ(), Dir: dir}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Failed() && len(r.Outcome.Nondeterministic) == 0 && len(r.Decisions) > 5 {
			pass = r
		}
	}
	if pass == nil {
		t.Fatal("no passing run in 50 seeds")
	}
	edited := *rec
	edited.Seed, edited.Decisions = pass.Seed, pass.Decisions
	data, err := edited.Encode()
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "corpus", "hand-edited"), 0o755)
	fixedFile := filepath.Join("corpus", "hand-edited", "fixed.seed")
	if err := os.WriteFile(filepath.Join(dir, fixedFile), data, 0o644); err != nil {
		t.Fatal(err)
	}

	// Diverged: a seed of a program rebuilt since (its SHA-256 changed).
	prog2 := filepath.Join(dir, "lost_update_v2")
	if err := os.WriteFile(prog2, mustRead(t, prog), 0o755); err != nil {
		t.Fatal(err)
	}
	rebuilt, _ := find(t, dir, prog2, "corpus", 5)
	if err := os.WriteFile(prog2, append(mustRead(t, prog2), 0), 0o755); err != nil {
		t.Fatal(err)
	}

	check := func(wantCode int, wantLines []string, summary string) {
		t.Helper()
		code, stdout, stderr := sf(t, dir, "replay", "corpus")
		if code != wantCode {
			t.Fatalf("replay corpus: exit %d, want %d\n%s%s", code, wantCode, stdout, stderr)
		}
		for _, l := range wantLines {
			if !regexp.MustCompile(`(?m)^` + l).MatchString(stdout) {
				t.Errorf("replay corpus output lacks %q:\n%s", l, stdout)
			}
		}
		if lines := strings.Count(stdout, "\n"); lines != len(wantLines)+1 {
			t.Errorf("%d output lines, want one per seed and a summary:\n%s", lines, stdout)
		}
		if !strings.Contains(stdout, summary) {
			t.Errorf("summary %q missing:\n%s", summary, stdout)
		}
		if strings.Contains(stderr, "panic") {
			t.Errorf("stderr:\n%s", stderr)
		}
	}
	q := regexp.QuoteMeta
	stillLine := q(failing) + `: still failing: exit 1$`
	fixedLine := q(fixedFile) + `: fixed: now passes \(recorded: exit 1\)$`
	divLine := q(rebuilt) + `: diverged: .*lost_update_v2 changed since the seed was recorded`
	check(1, []string{stillLine, fixedLine, divLine}, "schedfuzz: 3 seeds: 1 still failing, 1 fixed, 1 diverged")

	// The fixed seed on its own: exit 0, with a note that its decisions
	// are not the recorded ones.
	code, _, stderr := sf(t, dir, "replay", fixedFile)
	if code != 0 || !strings.Contains(stderr, "now passes (recorded: exit 1)") || !strings.Contains(stderr, "differ from the recorded digest") {
		t.Fatalf("replay %s: exit %d\n%s", fixedFile, code, stderr)
	}

	os.Remove(filepath.Join(dir, failing))
	check(125, []string{fixedLine, divLine}, "schedfuzz: 2 seeds: 0 still failing, 1 fixed, 1 diverged")
	os.Remove(filepath.Join(dir, rebuilt))
	check(0, []string{fixedLine}, "schedfuzz: 1 seed: 0 still failing, 1 fixed, 0 diverged")

	// A seed whose trace the program no longer follows, next to the fixed
	// one: diverged, saying at which decision and what differed.
	bad := regexp.MustCompile(`(?m)^(pick \d+ of [\d,]+)`).ReplaceAll(data, []byte("${1},97"))
	os.WriteFile(filepath.Join(dir, "corpus", "hand-edited", "other.seed"), bad, 0o644)
	check(125, []string{fixedLine, q("corpus/hand-edited/other.seed") + `: diverged: at decision 0: expected pick of [\d,]+,97 @\S+, got pick of [\d,]+ @\S+ \(options differ\)`},
		"2 seeds: 0 still failing, 1 fixed, 1 diverged")

	// A corrupt seed file anywhere in the corpus: one line, exit 2, and
	// nothing is run.
	os.WriteFile(filepath.Join(dir, "corpus", "broken.seed"), []byte("schedfuzz seed v1\nseed: 12\ndecisions: x\n"), 0o644)
	code, stdout, stderr := sf(t, dir, "replay", "corpus")
	if code != 2 || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 ||
		!strings.Contains(stderr, "corpus/broken.seed: seed file line 3: bad decision count") {
		t.Fatalf("corrupt corpus: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
	// An empty directory is a usage error.
	os.Mkdir(filepath.Join(dir, "empty"), 0o755)
	if code, _, stderr := sf(t, dir, "replay", "empty"); code != 2 || !strings.Contains(stderr, "no *.seed files") {
		t.Fatalf("empty corpus: exit %d\n%s", code, stderr)
	}
}

// TestReplayEnvironment: the guest sees the recorded environment on
// replay, not the replaying one, except for redacted variables, which come
// from the replaying environment (with a note when missing).
func TestReplayEnvironment(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "envcheck")
	// Fails (so it is saved) and prints what it saw.
	os.WriteFile(script, []byte("#!/bin/sh\necho \"color=$SF_COLOR token=$SF_API_TOKEN\"\nexit 3\n"), 0o755)
	run := func(env []string, args ...string) (int, string, string) {
		t.Helper()
		return sfEnv(t, dir, env, args...)
	}
	code, out, stderr := run([]string{"SF_COLOR=blue", "SF_API_TOKEN=hunter2"}, "-runs", "1", "-corpus", "c", script)
	if code != 1 {
		t.Fatalf("run: exit %d\n%s%s", code, out, stderr)
	}
	file := replayLine.FindStringSubmatch(stderr)[1]
	text := string(mustRead(t, filepath.Join(dir, file)))
	if strings.Contains(text, "hunter2") || !strings.Contains(text, "\nenv-redacted: SF_API_TOKEN\n") || !strings.Contains(text, "\nenv: \"SF_COLOR=blue\"\n") {
		t.Fatalf("seed file env:\n%s", text)
	}
	code, out, stderr = run([]string{"SF_COLOR=red", "SF_API_TOKEN=now"}, "replay", file)
	if code != 1 || out != "color=blue token=now\n" {
		t.Fatalf("replay: exit %d, stdout %q\n%s", code, out, stderr)
	}
	code, out, stderr = run(nil, "replay", file)
	if code != 1 || out != "color=blue token=\n" || !strings.Contains(stderr, "note: SF_API_TOKEN was set when the seed was recorded") {
		t.Fatalf("replay without the token: exit %d, stdout %q\n%s", code, out, stderr)
	}
}

// TestClockNotBehindFiles: the guest's virtual realtime clock is not
// behind the files it sees and makes (make warns of clock skew and
// rebuilds otherwise), and a seed file records where it started.
func TestClockNotBehindFiles(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "clock")
	buildC(t, filepath.Join("testdata", "clock.c"), prog)
	if code, stdout, stderr := sf(t, dir, "-runs", "4", "-p", "1", prog); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr := sf(t, dir, "-runs", "1", "-expect-exit", "1", prog)
	if code != 1 {
		t.Fatalf("-expect-exit 1: exit %d\n%s", code, stderr)
	}
	file := replayLine.FindStringSubmatch(stderr)[1]
	if seed := string(mustRead(t, filepath.Join(dir, file))); !regexp.MustCompile(`(?m)^epoch: \d{10}$`).MatchString(seed) {
		t.Errorf("the seed file records no epoch:\n%s", seed)
	}
}
