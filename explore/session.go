package explore

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/internal/cpuload"
	"github.com/schedfuzz/schedfuzz/sched"
	"github.com/schedfuzz/schedfuzz/sched/points"
)

// Classifier decides whether a finished run found a bug. A run is bad
// when it deadlocks, livelocks, hangs, dies of a signal or exits with a
// status outside ExpectExit; a bad run fails unless Ignore matches its
// output, and, when Failure is set, only if Failure matches (as
// golang.org/x/tools/cmd/stress classifies).
type Classifier struct {
	ExpectExit []int // exit statuses that mean success (nil: just 0)
	Failure    *regexp.Regexp
	Ignore     *regexp.Regexp
}

// Verdict is a classified run.
type Verdict uint8

const (
	Pass Verdict = iota
	Fail
	Ignored // bad, but its output matched Ignore (or not Failure)
)

func (v Verdict) String() string { return [...]string{"pass", "fail", "ignored"}[v] }

// Classify judges r.
func (c *Classifier) Classify(r *Result) Verdict {
	bad := false
	switch {
	case r.Outcome.Kind == sched.Deadlock || r.Outcome.Kind == sched.Livelock || r.Hang:
		bad = true
	case r.Outcome.Kind != sched.Finished:
		return Pass // not the guest's doing; the caller reports it
	case !r.Status.Exited():
		bad = true
	default:
		want := c.ExpectExit
		if want == nil {
			want = []int{0}
		}
		bad = !slices.Contains(want, r.Status.ExitStatus())
	}
	if !bad {
		return Pass
	}
	out := append(append([]byte(nil), r.Stdout...), r.Stderr...)
	if c.Ignore != nil && c.Ignore.Match(out) {
		return Ignored
	}
	if c.Failure != nil && !c.Failure.Match(out) {
		return Ignored
	}
	return Fail
}

// Signature names a failure for deduplication: the outcome and the
// scheduling points where it happened, without thread ids (which a
// different interleaving renumbers). For an exit or a signal these are
// the last two points of the thread that ended the program; for a
// deadlock, livelock or hang, where each live thread waits, sorted: a
// blocked thread's wait point ("futex"), and for a thread that could run
// (a spinner, or the thread running when a hang was cut) the points of
// the loop it went round at the end ("poll|read"), so that where exactly
// in its loop the run was cut does not make another signature. Hit
// counts of function and data points are left out, and so are memory
// points (-points memory) when the ender has others: each run samples
// its own, so which ones a failure passed says nothing about the bug.
func Signature(r *Result) string {
	var pts []string
	o := r.Outcome
	switch {
	case r.Hang || o.Kind == sched.Deadlock || o.Kind == sched.Livelock:
		for _, t := range o.Threads {
			if t.Exited || len(t.Last) == 0 {
				continue
			}
			if t.Waits != "" || o.Kind == sched.Deadlock {
				pts = append(pts, pointName(t.Last[len(t.Last)-1]))
			} else {
				pts = append(pts, loopPoints(t.Last))
			}
		}
		slices.Sort(pts)
	case o.Ender >= 0 && o.Ender < len(o.Threads):
		l := o.Threads[o.Ender].Last
		if kept := slices.DeleteFunc(slices.Clone(l), memoryPoint); len(kept) > 0 {
			l = kept
		}
		for _, p := range l[max(0, len(l)-3):] {
			if p != "exit" { // the point after the end itself
				pts = append(pts, p)
			}
		}
		pts = pts[max(0, len(pts)-2):]
	}
	for i, p := range pts {
		pts[i] = pointName(p)
	}
	return r.Describe() + " @ " + strings.Join(pts, ">")
}

// pointName strips a point's hit count: "pthread_mutex_lock#3" is the
// same place as "pthread_mutex_lock#4".
func pointName(p string) string {
	p, _, _ = strings.Cut(p, "#")
	return p
}

// loopPoints names the points a thread that could still run went round
// at the end: its last point and the points since that point's previous
// occurrence (the loop's body), distinct, sorted, joined by "|". A
// thread whose last point did not recur (a spinner preempted once after
// its start-up) is named by its last point alone.
func loopPoints(last []string) string {
	cur := pointName(last[len(last)-1])
	names := []string{cur}
	for i := len(last) - 2; i >= 0; i-- {
		p := pointName(last[i])
		if p == cur {
			slices.Sort(names)
			return strings.Join(slices.Compact(names), "|")
		}
		names = append(names, p)
	}
	return cur
}

// DefaultMaxSteps is the -max-steps of a session unless told otherwise:
// a run making this many decisions ends as a livelock. It bounds a seed
// file: a decision line takes 26 to 36 bytes (measured on syscall loops,
// the corpus, Python, Go and shell programs), so a seed file stays under
// about 17 MiB. Points where one thread alone can run are not decisions,
// but a correct program's can be many: node with four worker threads
// (realworld's node_workers) makes 110,000 to 165,000 decisions under
// pct:3, as many as 150,000 was a false livelock.
const DefaultMaxSteps = 500_000

// DefaultLoneAfter is the sched.Config.LoneAfter of a session unless told
// otherwise: after this many points in a row where one thread alone can
// run, its function points stop nothing until another can. Each toggle
// writes a byte per planted function point (node plants a few hundred),
// so a stretch must be long enough to pay for it.
const DefaultLoneAfter = 64

// memoryPoint reports a memory point's name in a trace ("mem@x.c:4#2",
// "watch:mem@x.c:4#1").
func memoryPoint(name string) bool {
	return sched.IsMemoryPoint(strings.TrimPrefix(name, "watch:"))
}

// Session runs a target many times, each run under its own seed and a
// strategy from the portfolio, possibly several at once.
//
// Determinism: run i's seed is RunSeed(Seed, i) and its strategy
// Portfolio[i%len]; PCT's step bound for run i is learned only from runs
// 0..i-W (W = max(8, Parallel)), which the session waits for before it
// starts run i; results are reported in run order. So a session with the
// same seed, runs and parallelism makes the same runs and reports the same
// first failure, however the runs' timings interleave.
// A Shard makes the runs of its part of that sequence (shard.go).
type Session struct {
	Target    *Target
	Seed      uint64
	Runs      int           // number of runs (0: until Time is up)
	Time      time.Duration // wall-clock budget (0: none)
	Parallel  int           // runs at once (default 1), each pinned to its own CPU
	Portfolio []Spec        // strategies to rotate among (default: DefaultPortfolio)
	Template  Config        // per-run settings: Timeout, CPUs, Faults, MaxSteps...
	// MemoryEvery, with Template.Points == points.Memory, makes only
	// every MemoryEvery-th run use memory points (runs i with
	// i%MemoryEvery == MemoryEvery-1); the others use points.Sync. 0 or
	// 1: every run.
	MemoryEvery int
	Classify    Classifier
	// Shard, if set, makes only this shard's part of the session's runs
	// (of the first Runs, if Runs > 0); RunReport.Index stays the run's
	// index in the whole session.
	Shard Shard
	// Report receives every run, in run order, on the caller's
	// goroutine; returning true stops the session (runs after it are
	// cancelled and not reported).
	Report func(*RunReport) (stop bool)
	// Progress, if set, is called every ProgressEvery (default 2 s).
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// RunReport is one run of a session.
type RunReport struct {
	Index    int
	Seed     uint64
	Strategy Spec
	Hint     Hint
	Result   *Result
	Verdict  Verdict
	Err      error // the run could not be made (a tool error)
}

// Progress is the state of a session, for progress lines.
type Progress struct {
	Elapsed  time.Duration
	Done     int
	Total    int // 0 if the session is bounded by time (a shard: its own runs)
	Failures int
	Distinct int
}

// DefaultMemoryEvery is the CLI's default MemoryEvery (-points
// sync+memory): prime to the default portfolio's four strategies, so that
// the memory runs rotate through all of them; bench/RESULTS.md has the
// measurement behind it.
const DefaultMemoryEvery = 3

// RunPoints is the point set of run i of a session whose template asks
// for set and whose MemoryEvery is every (see Session.MemoryEvery).
func RunPoints(set points.Set, every, i int) points.Set {
	if set == points.Memory && every > 1 && i%every != every-1 {
		return points.Sync
	}
	return set
}

// RunSeed derives run i's seed from the session seed (SplitMix64).
func RunSeed(base uint64, i int) uint64 {
	z := base + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Learner learns PCT's step bound and the shared memory sites from a
// session's runs as they are reported in order: run i's Hint looks only
// at runs 0..i-Window, which the session waits for before it starts run
// i, so what a run is told does not depend on how the runs' timings
// interleave.
type Learner struct {
	Window   int
	maxPicks []int // prefix maxima of the runs' pick decisions
	// shared lists the distinct shared sites in the order runs found
	// them; nShared[j] how many runs 0..j found.
	shared  []sched.SiteRef
	nShared []int
	known   map[sched.SiteRef]bool
}

// NewLearner returns the learner of a session making parallel runs at
// once: its window is max(8, parallel).
func NewLearner(parallel int) *Learner { return &Learner{Window: max(8, parallel)} }

// Hint is what run i may learn.
func (l *Learner) Hint(i int) Hint {
	if j := i - l.Window; j >= 0 && j < len(l.maxPicks) {
		h := Hint{Steps: l.maxPicks[j]}
		if n := l.nShared[j]; n > 0 {
			h.Shared = slices.Clone(l.shared[:n])
			slices.SortFunc(h.Shared, func(a, b sched.SiteRef) int {
				if a.Object != b.Object {
					return strings.Compare(a.Object, b.Object)
				}
				return cmpUint64(a.Vaddr, b.Vaddr)
			})
		}
		return h
	}
	return Hint{}
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Add records the next run in order (r nil: it made no decisions).
func (l *Learner) Add(r *Result) {
	n := 0
	if r != nil {
		for _, d := range r.Decisions {
			if d.Kind == sched.KindPick {
				n++
			}
		}
	}
	if m := len(l.maxPicks); m > 0 {
		n = max(n, l.maxPicks[m-1])
	}
	l.maxPicks = append(l.maxPicks, n)
	if r != nil {
		for _, site := range r.Outcome.SharedSites {
			if !l.known[site] {
				if l.known == nil {
					l.known = map[sched.SiteRef]bool{}
				}
				l.known[site] = true
				l.shared = append(l.shared, site)
			}
		}
	}
	l.nShared = append(l.nShared, len(l.shared))
}

// Summary is what a session did.
type Summary struct {
	Runs     int // runs reported
	Failures int
	Ignored  int
	Distinct int // distinct failure signatures
	Elapsed  time.Duration
	Stopped  bool // Report asked to stop
}

type runDone struct {
	k   int // the run's place in this session's (or shard's) sequence
	rep *RunReport
	cpu int
}

// Run runs the session (or its Shard) until its runs or time are used
// up, Report asks to stop, or ctx is cancelled (then it returns
// ctx.Err()). Below, k counts the runs this session makes and i =
// Shard.Run(k) is a run's index in the whole session: seeds, strategies
// and point sets follow i, learning and reporting order follow k.
func (s *Session) Run(ctx context.Context) (Summary, error) {
	runs := s.Shard.Runs(s.Runs)
	if s.Runs > 0 && runs == 0 {
		return Summary{}, ctx.Err() // a shard past the session's runs
	}
	par := max(1, s.Parallel)
	portfolio := s.Portfolio
	if len(portfolio) == 0 {
		portfolio = DefaultPortfolio()
	}
	learn := NewLearner(par)
	window := learn.Window
	tsc := s.Template.TSCLearned
	if tsc == nil {
		tsc = new(atomic.Bool) // what one run learns, the later runs know
	}
	// Each run is pinned to a CPU of its own while there are enough;
	// with fewer runs at once than CPUs, to the free CPU other processes
	// used least lately (internal/cpuload).
	cpus := allowedCPUs()
	free := make([]int, 0, max(par, len(cpus)))
	if par >= len(cpus) {
		for w := par - 1; w >= 0; w-- {
			free = append(free, cpus[w%len(cpus)])
		}
	} else {
		free = append(free, cpus...)
	}
	picker := cpuload.New()
	plans := sessionPlans{}
	start := time.Now()
	var deadline <-chan time.Time
	if s.Time > 0 {
		t := time.NewTimer(s.Time)
		defer t.Stop()
		deadline = t.C
	}
	every := s.ProgressEvery
	if every <= 0 {
		every = 2 * time.Second
	}
	var tick <-chan time.Time
	if s.Progress != nil {
		tk := time.NewTicker(every)
		defer tk.Stop()
		tick = tk.C
	}
	runCtx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	cancels := map[int]context.CancelFunc{}
	done := make(chan runDone)
	var (
		sum       Summary
		next      int // next run to start (its k)
		reported  int // runs reported (a prefix of the k)
		pending   = map[int]*RunReport{}
		launching = true
		sigs      = map[string]bool{}
	)
	for {
		for launching && len(free) > 0 && len(cancels) < par && (runs == 0 || next < runs) && next-window < reported {
			if ctx.Err() != nil {
				launching = false
				break
			}
			k := next
			next++
			i := s.Shard.Run(k)
			c := picker.Pick(free)
			cpu := free[c]
			free = slices.Delete(free, c, c+1)
			rc, cancel := context.WithCancel(runCtx)
			cancels[k] = cancel
			rep := &RunReport{Index: i, Seed: RunSeed(s.Seed, i), Strategy: portfolio[i%len(portfolio)], Hint: learn.Hint(k)}
			cfg := s.Template
			cfg.Seed, cfg.Strategy, cfg.Hint, cfg.Pin, cfg.CPU, cfg.Replay = rep.Seed, rep.Strategy, rep.Hint, true, cpu, nil
			cfg.TSCLearned = tsc
			cfg.Points = RunPoints(cfg.Points, s.MemoryEvery, i)
			if cfg.Plan == nil {
				cfg.Plan = plans.get(cfg.Points, cfg.YieldAt)
			}
			go func() {
				rep.Result, rep.Err = Run(rc, s.Target, cfg)
				done <- runDone{k, rep, cpu}
			}()
		}
		if len(cancels) == 0 {
			break
		}
		select {
		case d := <-done:
			cancels[d.k]()
			delete(cancels, d.k)
			free = append(free, d.cpu)
			if r := d.rep.Result; r != nil {
				picker.Done(d.cpu, r.CPUWait, r.Wall)
			} else {
				picker.Done(d.cpu, 0, 0)
			}
			pending[d.k] = d.rep
		case <-deadline:
			launching = false
			deadline = nil
			continue
		case <-tick:
			s.Progress(Progress{Elapsed: time.Since(start), Done: reported, Total: runs, Failures: sum.Failures, Distinct: len(sigs)})
			continue
		}
		for rep := pending[reported]; rep != nil; rep = pending[reported] {
			delete(pending, reported)
			k := reported
			reported++
			if ctx.Err() != nil {
				continue // cancelled runs are not results
			}
			if rep.Result != nil {
				rep.Verdict = s.Classify.Classify(rep.Result)
			}
			learn.Add(rep.Result)
			if sum.Stopped {
				continue
			}
			sum.Runs++
			switch rep.Verdict {
			case Fail:
				sum.Failures++
				sigs[Signature(rep.Result)] = true
			case Ignored:
				sum.Ignored++
			}
			if s.Report != nil && s.Report(rep) {
				sum.Stopped = true
				launching = false
				for j, c := range cancels {
					if j > k {
						c()
					}
				}
			}
		}
	}
	sum.Distinct = len(sigs)
	sum.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	return sum, nil
}

// sessionPlans are the points.Plans a session's runs share when its
// Template has none, one per point set: a plan memoizes each object's
// points and rdtsc sites, which a run would otherwise resolve and decode
// again (libc's rdtsc sites cost several ms of CPU a run).
type sessionPlans map[points.Set]*points.Plan

func (m sessionPlans) get(set points.Set, yield []points.Spec) *points.Plan {
	p := m[set]
	if p == nil {
		p = points.NewPlan(set, yield)
		m[set] = p
	}
	return p
}

// allowedCPUs lists the CPUs this process may run on.
func allowedCPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil {
		var cpus []int
		for c := 0; c < runtime.NumCPU()*4 && c < 1024; c++ {
			if set.IsSet(c) {
				cpus = append(cpus, c)
			}
		}
		if len(cpus) > 0 {
			return cpus
		}
	}
	return []int{0}
}

// String describes a verdict's run for a line of output.
func (r *RunReport) String() string {
	if r.Err != nil {
		return fmt.Sprintf("run %d seed %#016x (%s): error: %v", r.Index, r.Seed, r.Strategy, r.Err)
	}
	return fmt.Sprintf("run %d seed %#016x (%s): %s, %d points, %d decisions, %v", r.Index, r.Seed, r.Strategy,
		r.Result.Describe(), r.Result.Outcome.Steps, len(r.Result.Decisions), r.Result.Wall.Round(time.Microsecond))
}
