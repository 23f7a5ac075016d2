package schedtest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/schedtest"
)

// counterTest is a test file with a lost update: every access to the
// counter holds the sync.Mutex, but inc reads and writes in two critical
// sections (no data race: the race detector is silent). FIX holds the
// lock across both.
const counterTest = `package counter

import (
	"os"
	"sync"
	"testing"

	"github.com/schedfuzz/schedfuzz/schedtest"
)

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *counter) set(v int) {
	c.mu.Lock()
	c.n = v
	c.mu.Unlock()
}

func (c *counter) inc() {
	//BUG
}

func TestCounter(t *testing.T) {
	schedtest.Run(t, func(t *testing.T) {
		var c counter
		var wg sync.WaitGroup
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 3; j++ {
					c.inc()
				}
			}()
		}
		wg.Wait()
		if n := c.get(); n != 6 {
			t.Fatalf("lost update: counter=%d, want 6", n)
		}
	})
}

// TestSub's subtest runs in its child alone (-test.run ^TestSub$/^a_b$).
func TestSub(t *testing.T) {
	t.Run("a b", func(t *testing.T) {
		schedtest.Run(t, func(t *testing.T) {
			var mu sync.Mutex
			mu.Lock()
			mu.Unlock()
		})
	})
	t.Run("other", func(t *testing.T) {
		if os.Getenv(schedtest.ChildEnv) != "" {
			t.Fatal("the child ran a subtest it was not asked for")
		}
	})
}

// TestNotRun's child exits 0 without running it (TestMain): schedtest
// must call that an error, not a pass.
func TestNotRun(t *testing.T) {
	schedtest.Run(t, func(t *testing.T) {})
}

func TestMain(m *testing.M) {
	if os.Getenv(schedtest.ChildEnv) == "TestNotRun" {
		os.Exit(0)
	}
	os.Exit(m.Run())
}
`

const (
	buggyInc = "v := c.get()\n\tc.set(v + 1)"
	fixedInc = "c.mu.Lock()\n\tc.n++\n\tc.mu.Unlock()"
)

// module writes the counter module into a new directory: its go.mod
// requires this module through a replace, and builds offline from the
// module cache.
func module(t *testing.T, inc string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	dir := t.TempDir()
	gomod := "module example.com/counter\n\ngo 1.26\n\nrequire github.com/schedfuzz/schedfuzz v0.0.0\n\nreplace github.com/schedfuzz/schedfuzz => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.mod"), gomod)
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	write(t, filepath.Join(dir, "counter_test.go"), strings.Replace(counterTest, "//BUG", inc, 1))
	return dir
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goTest runs go test in dir, offline.
func goTest(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(goBin(t), append([]string{"test", "-count=1", "-v"}, args...)...)
	cmd.Dir = dir
	// The test binaries schedtest keeps go to a cache of the test's
	// own; go's build cache stays where it is.
	gocache, err := exec.Command(goBin(t), "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off",
		"GOCACHE="+strings.TrimSpace(string(gocache)), "XDG_CACHE_HOME="+filepath.Join(dir, ".cache"))
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("go test: %v\n%s", err, out)
		}
		code = ee.ExitCode()
	}
	return code, string(out)
}

// goBin is the go command.
func goBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command: %v", err)
	}
	return p
}

// seeds lists the seed files of a test in the module at dir.
func seeds(t *testing.T, dir, test string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(filepath.Join(dir, "testdata", "schedfuzz", test), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".seed") {
			files = append(files, p)
		}
		return nil
	})
	return files
}

// TestModule: a Go test wrapped in schedtest.Run with a lost update (a)
// fails with a saved seed under testdata/schedfuzz/TestCounter/, (b)
// fails again on the next go test through the replay of that seed, and
// (c) passes once the bug is fixed, the seed replaying as fixed. A child
// that does not run its test is an error.
func TestModule(t *testing.T) {
	testenv.RequirePtrace(t)
	t.Parallel() // with TestModuleRace: most of their time is go's
	dir := module(t, buggyInc)
	code, out := goTest(t, dir, "-run", "^TestCounter$", "-schedtest.runs=20", ".")
	if code != 1 || !strings.Contains(out, "has no symbol table and no DWARF") || !strings.Contains(out, schedtest.LinkFlags) {
		t.Fatalf("without DWARF: exit %d, want 1 and how to keep DWARF:\n%s", code, out)
	}
	run := []string{schedtest.LinkFlags, "-run", "^TestCounter$", "-schedtest.runs=20", "."}

	code, out = goTest(t, dir, run...)
	files := seeds(t, dir, "TestCounter")
	if code != 1 || len(files) == 0 || !strings.Contains(out, "schedtest: TestCounter fails in run") ||
		!strings.Contains(out, "lost update: counter=") || !strings.Contains(out, "go test -run '^TestCounter$'") ||
		!strings.Contains(out, "schedfuzz replay testdata/schedfuzz/TestCounter/") {
		t.Fatalf("(a) exit %d, seeds %v, want exit 1, a seed, the report and the replay commands:\n%s", code, files, out)
	}
	t.Logf("(a) exit 1, %d seeds:\n%s", len(files), out)

	// The seed replays with schedfuzz replay too (the test binary is kept).
	sf := filepath.Join(t.TempDir(), "schedfuzz")
	if b, err := exec.Command(goBin(t), "build", "-o", sf, "github.com/schedfuzz/schedfuzz/cmd/schedfuzz").CombinedOutput(); err != nil {
		t.Fatalf("go build schedfuzz: %v\n%s", err, b)
	}
	rel, _ := filepath.Rel(dir, files[0])
	cmd := exec.Command(sf, "replay", rel)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(b), "schedfuzz: reproduced: exit 1") {
		t.Fatalf("schedfuzz replay %s: %v, want exit 1 and reproduced:\n%s", rel, err, b)
	}

	code, out = goTest(t, dir, run...)
	if code != 1 || !regexp.MustCompile(`schedtest: seed testdata/schedfuzz/TestCounter/\S+ still fails \(replayed: exit 1\)`).MatchString(out) ||
		strings.Contains(out, "fails in run") {
		t.Fatalf("(b) exit %d, want 1 through the replay of the seed (no new exploration):\n%s", code, out)
	}
	t.Logf("(b) exit 1:\n%s", out)

	write(t, filepath.Join(dir, "counter_test.go"), strings.Replace(counterTest, "//BUG", fixedInc, 1))
	code, out = goTest(t, dir, run...)
	if code != 0 || !strings.Contains(out, ": fixed: the test now passes on its schedule") || !strings.Contains(out, "schedtest: no failure in 20 runs") {
		t.Fatalf("(c) exit %d, want 0 with the seed replayed as fixed and no failure explored:\n%s", code, out)
	}
	t.Logf("(c) exit 0:\n%s", out)

	code, out = goTest(t, dir, schedtest.LinkFlags, "-run", "^TestSub$", "-schedtest.runs=3", ".")
	if code != 0 || !strings.Contains(out, "schedtest: no failure in 3 runs") || !strings.Contains(out, "--- PASS: TestSub/other") {
		t.Fatalf("a subtest: exit %d, want 0 with 3 runs of TestSub/a_b alone:\n%s", code, out)
	}

	code, out = goTest(t, dir, schedtest.LinkFlags, "-run", "^TestNotRun$", "-schedtest.runs=2", ".")
	if code != 1 || !strings.Contains(out, "exited 0 without running TestNotRun") {
		t.Fatalf("a child that does not run its test: exit %d, want 1 and why:\n%s", code, out)
	}
}

// TestModuleRace: the same lost update in a -race build: schedfuzz finds
// it (the race detector cannot: every access holds the mutex).
func TestModuleRace(t *testing.T) {
	testenv.RequirePtrace(t)
	if testing.Short() {
		t.Skip("-race builds the module's dependencies again (-short)")
	}
	t.Parallel()
	dir := module(t, buggyInc)
	code, out := goTest(t, dir, "-race", schedtest.LinkFlags, "-run", "^TestCounter$", "-schedtest.runs=20", ".")
	if code != 1 || len(seeds(t, dir, "TestCounter")) == 0 || !strings.Contains(out, "lost update: counter=") {
		t.Fatalf("-race: exit %d, want 1 with a seed and the lost update:\n%s", code, out)
	}
	if strings.Contains(out, "WARNING: DATA RACE") {
		t.Errorf("the race detector reported a race in a program without a data race:\n%s", out)
	}
	t.Logf("-race:\n%s", out)
}

func TestRunPattern(t *testing.T) {
	for name, want := range map[string]string{
		"TestX":           "^TestX$",
		"TestX/sub":       "^TestX$/^sub$",
		"TestX/a+b/c.d#1": `^TestX$/^a\+b$/^c\.d#1$`,
	} {
		if got := schedtest.RunPattern(name); got != want {
			t.Errorf("RunPattern(%q) = %q, want %q", name, got, want)
		}
	}
}
