package explore_test

import (
	"context"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched"
)

func exited(code int) *explore.Result {
	return &explore.Result{Status: unix.WaitStatus(code << 8), Stdout: []byte("counter=5\n"), Outcome: sched.Outcome{Ender: -1}}
}

func TestClassifier(t *testing.T) {
	var c explore.Classifier
	if c.Classify(exited(0)) != explore.Pass || c.Classify(exited(1)) != explore.Fail {
		t.Fatal("default: exit 0 passes, exit 1 fails")
	}
	c.ExpectExit = []int{0, 1}
	if c.Classify(exited(1)) != explore.Pass || c.Classify(exited(2)) != explore.Fail {
		t.Fatal("-expect-exit 0,1")
	}
	c = explore.Classifier{Ignore: regexp.MustCompile(`counter=5`)}
	if c.Classify(exited(1)) != explore.Ignored {
		t.Fatal("-ignore matching output")
	}
	c = explore.Classifier{Failure: regexp.MustCompile(`counter=[0-4]\b`)}
	if c.Classify(exited(1)) != explore.Ignored {
		t.Fatal("-failure not matching output")
	}
	c = explore.Classifier{Failure: regexp.MustCompile(`counter=5`)}
	if c.Classify(exited(1)) != explore.Fail || c.Classify(exited(0)) != explore.Pass {
		t.Fatal("-failure matching output fails only bad runs")
	}
	dl := &explore.Result{Outcome: sched.Outcome{Kind: sched.Deadlock}}
	if c := (explore.Classifier{ExpectExit: []int{0}}); c.Classify(dl) != explore.Fail {
		t.Fatal("a deadlock fails")
	}
}

type sessionLog struct {
	first *explore.RunReport
	order []int
	fails int
	sigs  map[string]int
}

func runSession(t *testing.T, s *explore.Session, stopAtFirst bool) (*sessionLog, explore.Summary) {
	t.Helper()
	log := &sessionLog{sigs: map[string]int{}}
	s.Report = func(r *explore.RunReport) bool {
		if r.Err != nil {
			t.Fatalf("run %d: %v", r.Index, r.Err)
		}
		log.order = append(log.order, r.Index)
		if r.Verdict == explore.Fail {
			log.fails++
			log.sigs[explore.Signature(r.Result)]++
			if log.first == nil {
				log.first = r
			}
			return stopAtFirst
		}
		return false
	}
	sum, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return log, sum
}

// TestSessionDeterministic: the first failure of a session is the same run
// with the same decisions whether runs go one or two at a time; runs are
// reported in order.
func TestSessionDeterministic(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildExample(t, "lost_update")
	tgt := &explore.Target{Path: path, Args: []string{path}}
	session := func(seed uint64, par int) *explore.Session {
		// Lose at least three updates: rarer than one.
		return &explore.Session{Target: tgt, Seed: seed, Runs: 300, Parallel: par,
			Template: explore.Config{Timeout: 20 * time.Second},
			Classify: explore.Classifier{Failure: regexp.MustCompile(`counter=[0-3]\b`)}}
	}
	// A session seed whose first failure is not among the first runs, so
	// that parallel runs could overtake it.
	var seed uint64
	for seed = 1; ; seed++ {
		log, _ := runSession(t, session(seed, 1), true)
		if log.first != nil && log.first.Index >= 4 {
			break
		}
		if seed == 20 {
			t.Fatal("no session seed in 1..20 has its first failure after run 3")
		}
	}
	var firsts []*explore.RunReport
	for _, par := range []int{1, 2, 1} {
		log, sum := runSession(t, session(seed, par), true)
		if log.first == nil {
			t.Fatalf("-p %d: no failure in 300 runs", par)
		}
		for i, idx := range log.order {
			if idx != i {
				t.Fatalf("-p %d: runs reported out of order: %v", par, log.order)
			}
		}
		if !sum.Stopped || sum.Runs != log.first.Index+1 {
			t.Fatalf("-p %d: summary %+v, first failure at %d", par, sum, log.first.Index)
		}
		firsts = append(firsts, log.first)
	}
	for _, f := range firsts[1:] {
		if f.Index != firsts[0].Index || f.Seed != firsts[0].Seed || f.Strategy != firsts[0].Strategy ||
			!reflect.DeepEqual(f.Result.Decisions, firsts[0].Result.Decisions) {
			t.Fatalf("first failures differ: run %d (%s) vs run %d (%s)", f.Index, f.Strategy, firsts[0].Index, firsts[0].Strategy)
		}
	}
	t.Logf("session seed %d: first failure at run %d, %s, %s", seed, firsts[0].Index, firsts[0].Strategy, explore.Signature(firsts[0].Result))
}

// TestSessionKeepGoing: without stopping, a session counts every failure
// and dedups them by signature; -time bounds it.
func TestSessionKeepGoing(t *testing.T) {
	testenv.RequirePtrace(t)
	tgt := &explore.Target{Path: buildExample(t, "abba"), Args: []string{"abba"}}
	log, sum := runSession(t, &explore.Session{Target: tgt, Seed: 5, Runs: 80, Parallel: 2,
		Template: explore.Config{Timeout: 20 * time.Second}}, false)
	if sum.Runs != 80 || sum.Failures != log.fails || sum.Failures == 0 || sum.Distinct != len(log.sigs) {
		t.Fatalf("summary %+v, log %d failures, %d signatures", sum, log.fails, len(log.sigs))
	}
	for sig := range log.sigs {
		if !strings.HasPrefix(sig, "deadlock @ ") || !strings.Contains(sig, "futex") {
			t.Fatalf("signature %q: want a deadlock on futexes", sig)
		}
	}
	// A session without a run count ends at its time (a -time that did
	// not would hang the test).
	_, sum = runSession(t, &explore.Session{Target: tgt, Seed: 5, Time: 300 * time.Millisecond,
		Template: explore.Config{Timeout: 20 * time.Second}}, false)
	if sum.Runs == 0 {
		t.Fatalf("-time 300ms: no run")
	}
}
