package sched_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched"
	"github.com/schedfuzz/schedfuzz/sched/points"
	"github.com/schedfuzz/schedfuzz/sched/points/memsites"
)

// buildDebug compiles testdata/name.c with -g (memory points are named
// after source lines) and returns the binary and the lines its
// "LINE(name)" comments mark.
func buildDebug(t *testing.T, name string) (string, map[string]int) {
	t.Helper()
	src := filepath.Join("testdata", name+".c")
	out := filepath.Join(t.TempDir(), name)
	if b, err := exec.Command("gcc", "-O1", "-g", "-pthread", "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	text, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]int{}
	re := regexp.MustCompile(`LINE\((\w+)\)`)
	for i, l := range strings.Split(string(text), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			lines[m[1]] = i + 1
		}
	}
	return out, lines
}

// memRun runs path with memory points (every site of the program is
// sampled) and the timeline on, so that every point reached is a span.
func memRun(t *testing.T, path string, seed uint64, mem sched.MemoryConfig, d sched.Decider) *explore.Result {
	t.Helper()
	if mem.Sample == 0 {
		mem.Sample = 100
	}
	r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}},
		explore.Config{Seed: seed, Timeout: 20 * time.Second, Points: points.Memory, Memory: mem,
			Decider: d, Timeline: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() || r.Outcome.Kind != sched.Finished {
		t.Fatalf("seed %d: %s %s\n%s%s", seed, r.Describe(), r.Outcome.Kind, r.Stderr, r.Outcome.Report)
	}
	return r
}

// reached counts the points of the timeline, by name without the thread
// and hit count ("mem@memory.c:11"), and by thread.
func reached(r *explore.Result) (byName map[string]int, byThread map[string]map[int]int) {
	byName, byThread = map[string]int{}, map[string]map[int]int{}
	re := regexp.MustCompile(`^t(\d+):(.*)#(\d+)$`)
	for _, sp := range r.Outcome.Timeline {
		m := re.FindStringSubmatch(sp.Point)
		if sp.Woke >= 0 || m == nil {
			continue
		}
		vt, _ := strconv.Atoi(m[1])
		byName[m[2]]++
		if byThread[m[2]] == nil {
			byThread[m[2]] = map[int]int{}
		}
		byThread[m[2]][vt]++
	}
	return byName, byThread
}

// memSwitcher is a Decider that runs the current thread on, except at the
// points whose names contain at, where it switches to another thread
// (only the first time, if once).
type memSwitcher struct {
	at       string
	once     bool
	switched bool
	events   []sched.Event // the memory events of every pick's options
}

func (s *memSwitcher) Choose(r *sched.Request) (int, error) {
	if r.Kind != sched.KindPick {
		return r.Options[0], nil
	}
	for _, o := range r.Options {
		if e := r.Event(o); e.Point == sched.PointMemory {
			s.events = append(s.events, e)
		}
	}
	cur := slices.Contains(r.Options, r.Thread)
	if cur && (!strings.Contains(r.At, s.at) || s.once && s.switched) {
		return r.Thread, nil
	}
	s.switched = true
	for _, o := range r.Options {
		if o != r.Thread {
			return o, nil
		}
	}
	return r.Options[0], nil
}

// TestMemoryPoints: sampled memory accesses are points before the access,
// named after their source line and counted per thread; a point's event
// names the address about to be accessed (both workers' loads of shared:
// one address; their private loop variables: two others); a site stops
// being a point after 128 hits; the planted sites are reported.
func TestMemoryPoints(t *testing.T) {
	testenv.RequirePtrace(t)
	path, lines := buildDebug(t, "memory")
	load, loop := fmt.Sprintf("mem@memory.c:%d", lines["load"]), fmt.Sprintf("mem@memory.c:%d", lines["loop"])
	d := &memSwitcher{at: load}
	r := memRun(t, path, 1, sched.MemoryConfig{}, d)
	byName, byThread := reached(r)
	if got := byThread[load]; got[1] != 1 || got[2] != 1 {
		t.Errorf("%s reached by threads %v, want once by each worker", load, got)
	}
	// The loop line holds two sites (the load and the store of sink[i]),
	// 300 hits each per worker: 128 points each, then no more.
	if byName[loop] != 2*128 {
		t.Errorf("%s: %d points, want 256 (two sites, 128 hits each)", loop, byName[loop])
	}
	objs := map[string]map[uint64]bool{}
	for _, e := range d.events {
		n, _, _ := strings.Cut(e.Name, "#")
		if objs[n] == nil {
			objs[n] = map[uint64]bool{}
		}
		if e.Obj == 0 {
			t.Errorf("event %+v: no object", e)
		}
		objs[n][e.Obj] = true
	}
	if len(objs[load]) != 1 {
		t.Errorf("%s: the workers' events name %d objects, want 1 (one variable)", load, len(objs[load]))
	}
	for o := range objs[loop] {
		if objs[load][o] {
			t.Errorf("%s and %s name the same object: they access different variables", loop, load)
		}
	}
	var planted []string
	for _, p := range r.Outcome.Points {
		if strings.HasPrefix(p.Name, "mem@") {
			planted = append(planted, p.Name)
		}
	}
	if !slices.Contains(planted, load) || !slices.Contains(planted, loop) {
		t.Errorf("planted points %v lack %s or %s", planted, load, loop)
	}
	t.Logf("%d points reached, planted %v", len(r.Outcome.Timeline), planted)
}

// TestMemoryWatch: a hit arms a watchpoint on the address it is about to
// access; the other worker's conflicting access is then a point right
// after it ("t2:watch:mem@..."), and the site is reported shared. Without
// watch registers, the two workers' hits at one address still mark it.
func TestMemoryWatch(t *testing.T) {
	testenv.RequirePtrace(t)
	path, lines := buildDebug(t, "memory")
	load, store := fmt.Sprintf("mem@memory.c:%d", lines["load"]), fmt.Sprintf("mem@memory.c:%d", lines["store"])
	tab, err := memsites.Scan(path, memsites.ScopeProgram)
	if err != nil {
		t.Fatal(err)
	}
	var refs []sched.SiteRef // the sites of shared
	for i := range tab.Sites {
		if n := tab.Name(&tab.Sites[i]); n == load || n == store {
			refs = append(refs, sched.SiteRef{Object: tab.Key, Vaddr: tab.Sites[i].Vaddr})
		}
	}
	for _, watch := range []int{2, 0} {
		t.Run(fmt.Sprintf("watch=%d", watch), func(t *testing.T) {
			// Worker 1 is stopped before its load; worker 2 runs
			// its load and its store of shared meanwhile.
			r := memRun(t, path, 1, sched.MemoryConfig{Watch: watch}, &memSwitcher{at: load, once: true})
			byName, _ := reached(r)
			trips := byName["watch:"+load] + byName["watch:"+store]
			if watch > 0 && trips == 0 {
				t.Errorf("no watch point: %v", byName)
			}
			if watch == 0 && trips > 0 {
				t.Errorf("%d watch points without watch registers", trips)
			}
			if !slices.ContainsFunc(r.Outcome.SharedSites, func(s sched.SiteRef) bool { return slices.Contains(refs, s) }) {
				t.Errorf("shared sites %v: none of %v", r.Outcome.SharedSites, refs)
			}
		})
	}
}

// TestMemoryReplay: a run with memory points is a function of its seed;
// replaying its decisions with the sites it planted repeats it; a site
// that moved is a divergence that says so; learned shared sites are
// sampled first.
func TestMemoryReplay(t *testing.T) {
	testenv.RequirePtrace(t)
	path, lines := buildDebug(t, "memory")
	cfg := func(seed uint64) explore.Config {
		return explore.Config{Seed: seed, Timeout: 20 * time.Second, Points: points.Memory,
			Memory: sched.MemoryConfig{Sample: 3, Watch: 2}}
	}
	tgt := &explore.Target{Path: path, Args: []string{path}}
	run := func(c explore.Config) *explore.Result {
		r, err := explore.Run(context.Background(), tgt, c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := run(cfg(7)), run(cfg(7))
	if !reflect.DeepEqual(a.Decisions, b.Decisions) || !reflect.DeepEqual(a.Outcome.Points, b.Outcome.Points) {
		t.Fatalf("one seed, two runs: %d and %d decisions, points %v and %v", len(a.Decisions), len(b.Decisions), a.Outcome.Points, b.Outcome.Points)
	}
	plant := map[uint64]string{}
	for _, p := range a.Outcome.Points {
		if strings.HasPrefix(p.Name, "mem@") {
			for _, ad := range p.Addrs {
				plant[ad] = p.Name
			}
		}
	}
	if len(plant) != 3 {
		t.Fatalf("planted %v, want 3 sites", a.Outcome.Points)
	}
	// Another seed samples other sites; the replay plants the recorded
	// ones whatever its seed says.
	rc := cfg(8)
	rc.Seed, rc.Replay, rc.Memory.Plant = 7, a.Decisions, plant
	if r := run(rc); r.Outcome.Kind != sched.Finished || !reflect.DeepEqual(r.Decisions, a.Decisions) {
		t.Fatalf("replay: %s %s", r.Outcome.Kind, r.Outcome.Report)
	}
	moved := map[uint64]string{}
	for ad, n := range plant {
		moved[ad+1] = n
	}
	rc.Memory.Plant = moved
	if r := run(rc); r.Outcome.Kind != sched.Diverged || !strings.Contains(r.Outcome.Report, "sites moved") {
		t.Errorf("replay with moved sites: %s: %s", r.Outcome.Kind, r.Outcome.Report)
	}
	// A learned shared site is sampled first.
	tab, err := memsites.Scan(path, memsites.ScopeProgram)
	if err != nil {
		t.Fatal(err)
	}
	loop := fmt.Sprintf("mem@memory.c:%d", lines["loop"])
	for seed := uint64(1); seed <= 5; seed++ {
		c := cfg(seed)
		c.Memory.Sample = 1
		for i := range tab.Sites {
			if tab.Name(&tab.Sites[i]) == loop {
				c.Hint.Shared = []sched.SiteRef{{Object: tab.Key, Vaddr: tab.Sites[i].Vaddr}}
				break
			}
		}
		r := run(c)
		var got []string
		for _, p := range r.Outcome.Points {
			if strings.HasPrefix(p.Name, "mem@") {
				got = append(got, p.Name)
			}
		}
		if !slices.Equal(got, []string{loop}) {
			t.Errorf("seed %d, sample 1, %s learned shared: planted %v", seed, loop, got)
		}
	}
}
