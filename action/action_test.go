// Package action_test checks the GitHub action (action.yml at the
// repository root) by running its body, run.sh, as the action does.
package action_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

type env map[string]string

func runAction(t *testing.T, dir string, e env) (code int, out string) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(mustAbs(t, "."), "run.sh"))
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GITHUB_") { // the test's own CI's
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range e {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(b)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(b)
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func read(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAction: on a racy program the action finds the failure, writes the
// JUnit report, keeps the seeds, annotates and summarizes, and fails; run
// again, its replay of the corpus fails too; on a correct program it
// passes.
func TestAction(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	sf := filepath.Join(dir, "schedfuzz")
	if b, err := exec.Command("go", "build", "-o", sf, "../cmd/schedfuzz").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	prog := filepath.Join(dir, "lost_update")
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", prog, mustAbs(t, "../corpus/examples/lost_update.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	e := env{"SF_BIN": sf, "SF_PROGRAM": prog, "SF_RUNS": "1000", "SF_FLAGS": "-seed 5 -p 1",
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"), "GITHUB_OUTPUT": filepath.Join(dir, "output")}
	code, out := runAction(t, dir, e)
	if code != 1 {
		t.Fatalf("action on a racy program: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "::error title=schedfuzz::a concurrency failure was found") {
		t.Errorf("no error annotation:\n%s", out)
	}
	seeds, _ := filepath.Glob(filepath.Join(dir, "testdata", "schedfuzz", "*", "*.seed"))
	if len(seeds) == 0 {
		t.Errorf("no seed file kept in the corpus")
	}
	if junit := read(t, filepath.Join(dir, "schedfuzz-junit.xml")); !strings.Contains(junit, "<failure") {
		t.Errorf("JUnit report has no failure:\n%s", junit)
	}
	if s := read(t, e["GITHUB_STEP_SUMMARY"]); !strings.Contains(s, "a failure was found") {
		t.Errorf("summary: %q", s)
	}
	if o := read(t, e["GITHUB_OUTPUT"]); o != "artifact=schedfuzz-seeds\nfailed=true\n" {
		t.Errorf("output: %q", o)
	}

	// The next CI run replays the corpus first: still failing.
	e["SF_RUNS"] = "1"
	code, out = runAction(t, dir, e)
	if code != 1 || !strings.Contains(out, "still fails") {
		t.Errorf("second run: exit %d, want 1 with the corpus still failing\n%s", code, out)
	}

	// A correct program passes.
	clean := t.TempDir()
	e = env{"SF_BIN": sf, "SF_PROGRAM": "/bin/true", "SF_RUNS": "5", "GITHUB_OUTPUT": filepath.Join(clean, "output")}
	if code, out := runAction(t, clean, e); code != 0 {
		t.Errorf("action on /bin/true: exit %d\n%s", code, out)
	}
	if o := read(t, e["GITHUB_OUTPUT"]); o != "artifact=schedfuzz-seeds\nfailed=false\n" {
		t.Errorf("output: %q", o)
	}
}

// TestActionYAML: action.yml hands run.sh every input it reads, and every
// input it declares is used.
func TestActionYAML(t *testing.T) {
	yml := read(t, "../action.yml")
	script := read(t, "run.sh")
	for _, v := range regexp.MustCompile(`\$\{?(SF_[A-Z]+)`).FindAllStringSubmatch(script, -1) {
		if !strings.Contains(yml, v[1]+":") {
			t.Errorf("run.sh reads %s, which action.yml does not set", v[1])
		}
	}
	block, _, _ := strings.Cut(yml, "\noutputs:")
	inputs := regexp.MustCompile(`(?m)^  ([a-z]+):\n    description:`).FindAllStringSubmatch(block, -1)
	if len(inputs) < 8 {
		t.Fatalf("found %d inputs in action.yml", len(inputs))
	}
	for _, in := range inputs {
		if !strings.Contains(yml, "inputs."+in[1]) {
			t.Errorf("input %s is declared but not used", in[1])
		}
	}
	if !strings.Contains(yml, `run: bash "${{ github.action_path }}/action/run.sh"`) {
		t.Error("action.yml does not run action/run.sh")
	}
}

// TestActionShard: with shard 2/2 the action explores the session's odd
// runs under the workflow run's id as the session seed, names its seed
// artifact after the shard, and without any seed fails with schedfuzz's
// usage error.
func TestActionShard(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	sf := filepath.Join(dir, "schedfuzz")
	if b, err := exec.Command("go", "build", "-o", sf, "../cmd/schedfuzz").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	prog := filepath.Join(dir, "lost_update")
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", prog, mustAbs(t, "../corpus/examples/lost_update.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	e := env{"SF_BIN": sf, "SF_PROGRAM": prog, "SF_RUNS": "1000", "SF_SHARD": "2/2", "SF_FLAGS": "-p 1 -minimize=false",
		"GITHUB_RUN_ID": "5", "GITHUB_OUTPUT": filepath.Join(dir, "output")}
	code, out := runAction(t, dir, e)
	if code != 1 || !strings.Contains(out, "schedfuzz: seed 0x0000000000000005, 1000 runs (shard 2/2: 500 of them)") {
		t.Fatalf("sharded action on a racy program: exit %d, want 1 with shard 2/2 of seed 5\n%s", code, out)
	}
	m := regexp.MustCompile(`failure in run (\d+) `).FindStringSubmatch(out)
	if m == nil || (m[1][len(m[1])-1]-'0')%2 != 1 {
		t.Errorf("shard 2/2 reported a failure in run %v, want an odd run", m)
	}
	if o := read(t, e["GITHUB_OUTPUT"]); o != "artifact=schedfuzz-seeds-2-of-2\nfailed=true\n" {
		t.Errorf("output: %q", o)
	}
	delete(e, "GITHUB_RUN_ID")
	clean := t.TempDir()
	e["GITHUB_OUTPUT"] = filepath.Join(clean, "output")
	if code, out := runAction(t, clean, e); code != 2 || !strings.Contains(out, "-shard 2/2 needs the session seed") {
		t.Errorf("shard without a seed: exit %d, want 2\n%s", code, out)
	}
}
