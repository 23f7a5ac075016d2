package main

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// TestStrategyFlag: each strategy finds the lost update and says so in
// the seed file; a bad one is a usage error.
func TestStrategyFlag(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildExample(t, dir, "lost_update")
	for _, st := range []string{"random", "pct:2", "pos", "chaos", "pct,pos"} {
		code, _, stderr := sf(t, dir, "-strategy", st, "-runs", "500", "-seed", "3", "-minimize=false", prog)
		if code != 1 {
			t.Fatalf("-strategy %s: exit %d\n%s", st, code, stderr)
		}
		seed := string(mustRead(t, filepath.Join(dir, replayLine.FindStringSubmatch(stderr)[1])))
		want := strings.Split(strings.Replace(st, "pct,", "pct:3,", 1), ",")
		ok := false
		for _, w := range want {
			ok = ok || strings.Contains(seed, "\nstrategy: "+w+"\n")
		}
		if !ok {
			t.Errorf("-strategy %s: seed file records another strategy:\n%s", st, seed)
		}
	}
	if code, _, stderr := sf(t, dir, "-strategy", "dfs", prog); code != 2 || !strings.Contains(stderr, "unknown strategy") {
		t.Errorf("-strategy dfs: exit %d\n%s", code, stderr)
	}
}

// TestClassificationFlags: -expect-exit, -failure and -ignore decide what
// a failure is; -max-steps turns a livelock into one.
func TestClassificationFlags(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildExample(t, dir, "lost_update")
	run := func(args ...string) (int, string) {
		code, _, stderr := sf(t, dir, append(append([]string{"-runs", "200", "-seed", "4", "-minimize=false"}, args...), prog)...)
		return code, stderr
	}
	if code, stderr := run("-expect-exit", "0,1"); code != 0 {
		t.Errorf("-expect-exit 0,1: exit %d\n%s", code, stderr)
	}
	if code, stderr := run("-ignore", `counter=[0-5]\b`); code != 0 || !strings.Contains(stderr, "failing runs ignored") {
		t.Errorf("-ignore: exit %d\n%s", code, stderr)
	}
	if code, stderr := run("-failure", `no such text`); code != 0 {
		t.Errorf("-failure not matching: exit %d\n%s", code, stderr)
	}
	if code, stderr := run("-failure", `counter=[0-5]\b`); code != 1 {
		t.Errorf("-failure matching: exit %d\n%s", code, stderr)
	}
	for _, bad := range [][]string{{"-expect-exit", "x"}, {"-failure", "("}, {"-ignore", "["}, {"-max-steps", "-1"}, {"-p", "0"}} {
		if code, stderr := run(bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", bad, code, stderr)
		}
	}
	spin := filepath.Join(dir, "spin_yield")
	buildC(t, filepath.Join("..", "..", "explore", "testdata", "spin_yield.c"), spin)
	// Only -max-steps can end the run (a count of scheduling points): its
	// -timeout is far beyond what 300 points take however loaded the
	// machine.
	code, _, stderr := sf(t, dir, "-runs", "1", "-p", "1", "-max-steps", "300", "-timeout", "10m", "-minimize=false", spin)
	if code != 1 || !strings.Contains(stderr, "WARNING: SCHEDFUZZ: livelock") {
		t.Errorf("-max-steps: exit %d\n%s", code, stderr)
	}
}

// TestKeepGoingAndReports: -keep-going collects every distinct failure,
// -json prints go-test-shaped events, -junit writes a test case per
// signature, -trace a Perfetto trace, -v progress lines; -time bounds it.
func TestKeepGoingAndReports(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildExample(t, dir, "abba")
	junit := filepath.Join(dir, "out.xml")
	trace := filepath.Join(dir, "trace.json")
	code, stdout, stderr := sf(t, dir, "-keep-going", "-runs", "120", "-p", "2", "-seed", "8", "-json", "-junit", junit, "-trace", trace, "-v", prog)
	if code != 1 || !regexp.MustCompile(`failures in 120 runs, \d+ distinct`).MatchString(stderr) {
		t.Fatalf("-keep-going: exit %d\n%s", code, stderr)
	}
	actions := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("-json line %q: %v", sc.Text(), err)
		}
		actions[ev["Action"].(string)]++
	}
	if actions["start"] != 1 || actions["run"] != 120 || actions["fail"] < 1 || actions["done"] != 1 || actions["minimized"] < 1 {
		t.Errorf("-json actions %v", actions)
	}
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(mustRead(t, junit), &doc); err != nil || doc.Suites[0].Failures != actions["fail"] {
		t.Errorf("-junit: %v %+v, %d fail events", err, doc, actions["fail"])
	}
	var tr struct {
		TraceEvents []map[string]any `json:"traceEvents"`
	}
	if err := json.Unmarshal(mustRead(t, trace), &tr); err != nil || len(tr.TraceEvents) < 10 {
		t.Errorf("-trace: %v, %d events", err, len(tr.TraceEvents))
	}
	if !regexp.MustCompile(`(?m)^run 119 seed 0x[0-9a-f]+ \(\w+(:\d)?\): `).MatchString(stderr) {
		t.Errorf("-v: no per-run lines:\n%s", stderr)
	}
	// -time bounds the session (without it, -runs 0 would never end); -v
	// prints a progress line every 2 s.
	code, _, stderr = sf(t, dir, "-time", "3s", "-runs", "0", "-v", "-ignore", "deadlock|ab", prog)
	if code != 0 || !regexp.MustCompile(`no failure in [1-9]\d* runs`).MatchString(stderr) {
		t.Errorf("-time 3s: exit %d\n%s", code, stderr)
	}
	if !regexp.MustCompile(`(?m)^schedfuzz: \d+s: \d+/\? runs, [\d.]+ runs/s, \d+ failures, \d+ distinct$`).MatchString(stderr) {
		t.Errorf("-time 3s -v: no progress line:\n%s", stderr)
	}
	_ = os.Remove(trace)
}

// TestFaultsFlag: -faults finds a program that assumes whole pipe
// transfers, which plain runs never break; the seed records it and replays.
func TestFaultsFlag(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "short_io")
	buildC(t, filepath.Join("..", "..", "explore", "testdata", "short_io.c"), prog)
	if code, _, stderr := sf(t, dir, "-runs", "50", "-seed", "1", prog); code != 0 {
		t.Fatalf("without -faults: exit %d\n%s", code, stderr)
	}
	code, _, stderr := sf(t, dir, "-faults", "-runs", "300", "-seed", "1", "-minimize=false", prog)
	if code != 1 {
		t.Fatalf("-faults: exit %d\n%s", code, stderr)
	}
	file := replayLine.FindStringSubmatch(stderr)[1]
	seed := string(mustRead(t, filepath.Join(dir, file)))
	if !strings.Contains(seed, "\nfaults: on\n") || !regexp.MustCompile(`(?m)^fault [1-4] of `).MatchString(seed) {
		t.Errorf("seed file lacks the faults:\n%s", seed)
	}
	if code, _, stderr := sf(t, dir, "replay", file); code != 1 {
		t.Errorf("replay of a fault: exit %d\n%s", code, stderr)
	}
}
