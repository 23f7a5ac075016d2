package hunt_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/hunt"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
)

// lostUpdate is a racy C program: two threads increment a counter with a
// read-modify-write whose window holds a write(2). Built with -DFIXED,
// the window is under a mutex.
const lostUpdate = `#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static int counter;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 3; i++) {
#ifdef FIXED
    pthread_mutex_lock(&mu);
#endif
    int tmp = counter;
    write(STDOUT_FILENO, ".", 1);
    counter = tmp + 1;
#ifdef FIXED
    pthread_mutex_unlock(&mu);
#endif
  }
  return NULL;
}
int main(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, worker, NULL);
  pthread_create(&b, NULL, worker, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  printf("\ncounter=%d\n", counter);
  return counter == 6 ? 0 : 1;
}
`

// build compiles lostUpdate into dir/name with extra gcc flags.
func build(t *testing.T, dir, name string, flags ...string) string {
	t.Helper()
	src := filepath.Join(dir, "lost_update.c")
	if err := os.WriteFile(src, []byte(lostUpdate), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	args := append([]string{"-O1", "-pthread", "-o", out, src}, flags...)
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

// newHunt is a hunt in prog with syscall points and its corpus in dir.
func newHunt(t *testing.T, prog, dir string) *hunt.Hunt {
	t.Helper()
	p, err := hunt.NewProgram(prog, []string{prog}, os.Environ(), "")
	if err != nil {
		t.Fatal(err)
	}
	pts := &hunt.Points{Set: "syscalls"}
	if err := pts.Parse(); err != nil {
		t.Fatal(err)
	}
	return &hunt.Hunt{Program: p, Tool: "hunt test", Store: replay.Store{Dir: filepath.Join(dir, "corpus")},
		Classify: explore.Classifier{ExpectExit: []int{0}}, Points: pts, Timeout: 20 * time.Second, CPUs: 2, MaxSteps: explore.DefaultMaxSteps}
}

// find explores until the first failure and runs it through the
// pipeline.
func find(t *testing.T, ctx context.Context, h *hunt.Hunt) *hunt.Found {
	t.Helper()
	var found *hunt.Found
	var ferr error
	s := &explore.Session{Target: h.Program.Target(), Seed: 1, Runs: 500, Parallel: 1,
		Template: h.Config(explore.Config{}), Classify: h.Classify,
		Report: func(rep *explore.RunReport) bool {
			if err := hunt.RunError(rep); err != nil {
				ferr = err
				return true
			}
			if rep.Verdict != explore.Fail {
				return false
			}
			found, ferr = h.Failure(ctx, rep)
			return true
		}}
	if _, err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatal(ferr)
	}
	if found == nil {
		t.Fatal("no failure in 500 runs of the lost update")
	}
	return found
}

// TestFailureAndReplay: a failing run goes through save, minimize and
// root cause; the report names its seeds and critical pair; every hook
// sees its step; the seed and the minimized seed replay as reproduced,
// and as fixed in the fixed program (a changed binary, followed as far
// as the trace applies), or diverged when the caller does not allow a
// changed program.
func TestFailureAndReplay(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := build(t, dir, "lost_update")
	h := newHunt(t, prog, dir)
	h.Minimize, h.Verbose, h.MinimizeTime = true, true, 30*time.Second
	var mu sync.Mutex
	var logs []string
	var saved []string
	guarded := 0
	h.Hooks = hunt.Hooks{
		Guard: func(save func()) { guarded++; save() },
		Saved: func(rep *explore.RunReport, file string, known bool, err error) {
			if err != nil || known {
				t.Errorf("saved: %q known %v err %v", file, known, err)
			}
			saved = append(saved, file)
		},
		Logf: func(format string, a ...any) {
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, format)
		},
	}
	fd := find(t, context.Background(), h)
	if len(saved) != 1 || fd.File != saved[0] || fd.Known || fd.SaveErr != nil {
		t.Fatalf("found %+v, saved %v", fd, saved)
	}
	if !fd.Minimized || fd.Report.Cause == nil {
		t.Fatalf("minimized %v (%d of %d), cause %v; log %q", fd.Minimized, fd.Report.Minimized, fd.Report.Original, fd.Report.Cause, logs)
	}
	if want := 1 + btoi(fd.Report.MinSeed != ""); guarded != want {
		t.Errorf("%d guarded saves, want %d", guarded, want)
	}
	var text strings.Builder
	fd.Text(&text)
	if !strings.Contains(text.String(), fd.File) || !strings.Contains(text.String(), "counter=") {
		t.Errorf("report does not name the seed or show the output:\n%s", text.String())
	}
	t.Logf("report:\n%s", text.String())

	seeds := []string{fd.File}
	if fd.Report.MinSeed != "" {
		seeds = append(seeds, fd.Report.MinSeed)
	}
	fixed := build(t, dir, "lost_update_fixed", "-DFIXED")
	for _, file := range seeds {
		sf, err := hunt.LoadSeed(file)
		if err != nil {
			t.Fatal(err)
		}
		if sf.Target != prog || sf.SHA256 != h.Program.SHA256 || sf.Signature != fd.Signature || len(sf.Decisions) == 0 {
			t.Fatalf("%s: target %q sha %s signature %q, %d decisions", file, sf.Target, sf.SHA256, sf.Signature, len(sf.Decisions))
		}
		for i := 0; i < 3; i++ {
			res, err := hunt.Replay(context.Background(), sf, hunt.ReplayOptions{Timeout: 20 * time.Second})
			if err != nil || res.Verdict != hunt.Reproduced || res.Run.Describe() != sf.Outcome {
				t.Fatalf("%s replay %d: %v %+v", file, i, err, res)
			}
		}
		res, err := hunt.Replay(context.Background(), sf, hunt.ReplayOptions{Timeout: 20 * time.Second, Path: fixed})
		if err != nil || res.Verdict != hunt.Diverged || res.Run != nil || !strings.Contains(res.Why, "changed since the seed was recorded") {
			t.Fatalf("%s in the fixed program, strict: %v %+v", file, err, res)
		}
		res, err = hunt.Replay(context.Background(), sf, hunt.ReplayOptions{Timeout: 20 * time.Second, Path: fixed, Changed: hunt.FollowPrefix})
		if err != nil || res.Verdict != hunt.Fixed || res.Run == nil || !strings.Contains(string(res.Run.Stdout), "counter=6") {
			t.Fatalf("%s in the fixed program, following the prefix: %v %+v", file, err, res)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestFailureCancelled: with its context cancelled, the pipeline still
// saves the seed (a found failure is never lost) and skips minimization.
func TestFailureCancelled(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	h := newHunt(t, build(t, dir, "lost_update"), dir)
	h.Minimize = true
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fd := find(t, ctx, h)
	if fd.File == "" || fd.Minimized || fd.Report.Cause != nil {
		t.Fatalf("cancelled: file %q minimized %v cause %v", fd.File, fd.Minimized, fd.Report.Cause)
	}
	if _, err := os.Stat(fd.File); err != nil {
		t.Fatal(err)
	}
}

// TestLoadSeedErrors: a seed file naming an unknown strategy or point
// set is an InputError naming its line; a missing program is one with
// the shell's status.
func TestLoadSeedErrors(t *testing.T) {
	dir := t.TempDir()
	sum := strings.Repeat("0", 64)
	for _, c := range []struct{ body, want string }{
		{"strategy: nosuch\n", "line 5"},
		{"points: nosuch\n", "line 5"},
	} {
		path := filepath.Join(dir, "x.seed")
		data := "schedfuzz seed v1\ntarget: \"/bin/true\"\nsha256: " + sum + "\nseed: 1\n" + c.body + "decisions: 0\nend\n"
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := hunt.LoadSeed(path)
		var ie *hunt.InputError
		if !errors.As(err, &ie) || ie.Code != hunt.ExitUsage || !strings.Contains(ie.Msg, c.want) {
			t.Errorf("%q: %v, want an InputError naming %s", c.body, err, c.want)
		}
	}
	_, err := hunt.NewProgram(filepath.Join(dir, "nosuch"), nil, nil, "")
	var ie *hunt.InputError
	if !errors.As(err, &ie) || ie.Code != hunt.ExitNotFound {
		t.Errorf("missing program: %v", err)
	}
}

// TestPointsRoundTrip: the points a seed file records parse back to the
// same points, and the spelling names them.
func TestPointsRoundTrip(t *testing.T) {
	for _, c := range []struct{ set, yield, watch, str string }{
		{"syscalls", "", "", "-points syscalls"},
		{"sync", "", "", "-points sync"},
		{"sync+memory", "", "", "-points sync+memory"},
		{"sync", "worker,main.c:12", "counter:4", "-points sync -yield-at worker,main.c:12 -watch counter:4"},
	} {
		p := &hunt.Points{Set: c.set, YieldAt: c.yield, Watch: c.watch}
		if err := p.Parse(); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if p.String() != c.str {
			t.Errorf("%+v: String %q, want %q", c, p.String(), c.str)
		}
		var cfg explore.Config
		p.Apply(&cfg)
		rec := p.Record(cfg.Points, &sched.Outcome{})
		back, err := hunt.RecordedPoints(rec)
		if err != nil {
			t.Fatalf("%+v: recorded %+v: %v", c, rec, err)
		}
		// A mixed set is recorded as the set each run used.
		if c.set != hunt.MixedPoints && !back.Same(p) {
			t.Errorf("%+v: recorded %+v parses back as %s", c, rec, back)
		}
	}
	if err := (&hunt.Points{Set: "nosuch"}).Parse(); err == nil || !strings.Contains(err.Error(), "-points") {
		t.Errorf("unknown set: %v", err)
	}
}
