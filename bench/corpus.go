package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	schedpoints "github.com/schedfuzz/schedfuzz/sched/points"
	"github.com/schedfuzz/schedfuzz/sched/points/memsites"

	"github.com/schedfuzz/schedfuzz/corpus"
	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/sched"
)

// The corpus table: for every program of package corpus, how many runs an
// exploration strategy needs to reach its bug (over several session
// seeds), next to how often the bug shows in plain native runs.

// RunSeed is the CLI's derivation of run i's seed from a session seed,
// so that a row of the table is what `schedfuzz -seed BASE` would do.
func RunSeed(base uint64, i int) uint64 { return explore.RunSeed(base, i) }

// Strategy is one way of exploring a program: a column of the corpus
// table, a strategy and a point set. Run makes run i of a session, with
// the given seed and what the session learned (PCT's hint, shared memory
// sites). To add a column, add an entry to Strategies or AllStrategies.
type Strategy struct {
	Name string
	Run  func(ctx context.Context, p corpus.Program, tgt *explore.Target, i int, seed uint64, h explore.Hint) (*explore.Result, error)
}

// Strategies are the columns of the corpus table, pinned to cpu, with
// timeout as the hang limit of a run: the random walk with syscall points
// and with sync points, then every other strategy with sync points (the
// default). A program's -watch variables are watched in every column.
func Strategies(cpu int, timeout time.Duration) []Strategy {
	return AllStrategies(cpu, timeout)[:5]
}

// MemoryEvery is the CLI's default (-points sync+memory): memory points
// in every 3rd run.
const MemoryEvery = explore.DefaultMemoryEvery

// AllStrategies are Strategies, then the same four strategies with memory
// points, then the CLI's portfolio (run i takes the i-th strategy) with
// sync points, memory points in every run, and memory points in every
// MemoryEvery-th run, without and with the CLI's -lone-after (the CLI's
// defaults are the last column). Memory points use the CLI's defaults (16 sites, 2
// watch registers).
func AllStrategies(cpu int, timeout time.Duration) []Strategy {
	return AllStrategiesMemory(cpu, timeout, sched.DefaultMemorySample, 2)
}

// AllStrategiesMemory is AllStrategies with memory points sampling
// sample sites and arming at most watch watch registers.
func AllStrategiesMemory(cpu int, timeout time.Duration, sample, watch int) []Strategy {
	cache, sites := symbols.NewCache(nil), memsites.NewCache("")
	config := func(p corpus.Program, set schedpoints.Set, seed uint64, spec explore.Spec, h explore.Hint, plan *schedpoints.Plan) explore.Config {
		cfg := explore.Config{Seed: seed, Pin: cpu >= 0, CPU: cpu, Timeout: timeout, Strategy: spec, Hint: h, Points: set,
			Watch: p.Watch, Symbols: cache, Plan: plan}
		if set == schedpoints.Memory {
			cfg.Memory = sched.MemoryConfig{Sites: sites, Sample: sample, Watch: max(0, min(watch, 4-len(p.Watch)))}
		}
		return cfg
	}
	col := func(spec explore.Spec, set schedpoints.Set) Strategy {
		plan := schedpoints.NewPlan(set, nil)
		return Strategy{Name: spec.String() + "/" + set.String(),
			Run: func(ctx context.Context, p corpus.Program, tgt *explore.Target, _ int, seed uint64, h explore.Hint) (*explore.Result, error) {
				return explore.Run(ctx, tgt, config(p, set, seed, spec, h, plan))
			}}
	}
	portfolio := func(name string, set schedpoints.Set, every, lone int) Strategy {
		plan := schedpoints.NewPlan(set, nil)
		specs := explore.DefaultPortfolio()
		return Strategy{Name: name,
			Run: func(ctx context.Context, p corpus.Program, tgt *explore.Target, i int, seed uint64, h explore.Hint) (*explore.Result, error) {
				cfg := config(p, explore.RunPoints(set, every, i), seed, specs[i%len(specs)], h, plan)
				cfg.LoneAfter = lone
				return explore.Run(ctx, tgt, cfg)
			}}
	}
	return []Strategy{
		col(explore.Spec{Name: "random"}, schedpoints.Syscalls),
		col(explore.Spec{Name: "random"}, schedpoints.Sync),
		col(explore.Spec{Name: "pct", Depth: 3}, schedpoints.Sync),
		col(explore.Spec{Name: "pos"}, schedpoints.Sync),
		col(explore.Spec{Name: "chaos"}, schedpoints.Sync),
		col(explore.Spec{Name: "random"}, schedpoints.Memory),
		col(explore.Spec{Name: "pct", Depth: 3}, schedpoints.Memory),
		col(explore.Spec{Name: "pos"}, schedpoints.Memory),
		col(explore.Spec{Name: "chaos"}, schedpoints.Memory),
		portfolio("portfolio/sync", schedpoints.Sync, 0, 0),
		portfolio("portfolio/memory", schedpoints.Memory, 0, 0),
		portfolio(fmt.Sprintf("portfolio/memory-every-%d", MemoryEvery), schedpoints.Memory, MemoryEvery, 0),
		portfolio(fmt.Sprintf("portfolio/memory-every-%d/lone-after-%d", MemoryEvery, explore.DefaultLoneAfter), schedpoints.Memory, MemoryEvery, explore.DefaultLoneAfter),
	}
}

// FirstFailure is one strategy's result on one program: for each session
// seed, the number of runs up to and including the first failing one.
type FirstFailure struct {
	Strategy string
	Bases    []uint64
	// Runs[k] is the 1-based index of the first failing run of session
	// Bases[k], or 0 if none of the first Max runs failed.
	Runs []int
	Max  int
	// Total is the number of runs made; Wall their wall time.
	Total int
	Wall  time.Duration
	// Other counts failures that ended otherwise than the program's
	// documented failure (by Describe), which would be a second bug.
	Other map[string]int
	// BadOutput counts passing runs whose stdout was not the documented
	// correct output.
	BadOutput int
}

// Found is the number of sessions that found the bug.
func (f *FirstFailure) Found() int {
	n := 0
	for _, r := range f.Runs {
		if r > 0 {
			n++
		}
	}
	return n
}

// sorted returns Runs sorted, with not-found sessions as +Inf.
func (f *FirstFailure) sorted() []float64 {
	s := make([]float64, len(f.Runs))
	for i, r := range f.Runs {
		s[i] = float64(r)
		if r == 0 {
			s[i] = math.Inf(1)
		}
	}
	slices.Sort(s)
	return s
}

// Median is the median number of runs to the first failure; sessions that
// did not find the bug count as more than Max (+Inf when they are half or
// more of the sessions).
func (f *FirstFailure) Median() float64 { return Median(f.sorted()) }

// Cell formats the result as a table cell: "median (min–max) found/sessions".
func (f *FirstFailure) Cell() string {
	s := f.sorted()
	if len(s) == 0 {
		return "-"
	}
	num := func(v float64) string {
		if math.IsInf(v, 1) {
			return ">" + strconv.Itoa(f.Max)
		}
		if v == math.Trunc(v) {
			return strconv.FormatFloat(v, 'f', 0, 64)
		}
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return fmt.Sprintf("%s (%s–%s) %d/%d", num(Median(s)), num(s[0]), num(s[len(s)-1]), f.Found(), len(f.Runs))
}

// FindFirst runs prog under strat for every session seed in bases until
// a run fails or max runs were made. A run that the scheduler could not
// handle (unsupported, internal error, divergence) or an error ends it
// with an error: the table would be meaningless.
func FindFirst(ctx context.Context, p corpus.Program, path string, strat Strategy, bases []uint64, max int) (*FirstFailure, error) {
	tgt := &explore.Target{Path: path, Args: append([]string{path}, p.Args...)}
	ff := &FirstFailure{Strategy: strat.Name, Bases: bases, Max: max, Other: map[string]int{}}
	start := time.Now()
	defer func() { ff.Wall = time.Since(start) }()
	for _, base := range bases {
		found := 0
		learn := explore.NewLearner(1) // as a session learns PCT's k
		for i := 0; i < max && found == 0; i++ {
			seed := RunSeed(base, i)
			r, err := strat.Run(ctx, p, tgt, i, seed, learn.Hint(i))
			ff.Total++
			if err != nil {
				return ff, fmt.Errorf("%s, %s, session %d run %d (seed %#x): %w", p.Name, strat.Name, base, i, seed, err)
			}
			switch r.Outcome.Kind {
			case sched.Unsupported, sched.Internal, sched.Diverged:
				return ff, fmt.Errorf("%s, %s, session %d run %d (seed %#x): %s: %s", p.Name, strat.Name, base, i, seed, r.Outcome.Kind, r.Outcome.Report)
			}
			learn.Add(r)
			if !r.Failed() {
				if string(r.Stdout) != p.Stdout {
					ff.BadOutput++
				}
				continue
			}
			if d := r.Describe(); d != p.Failure {
				ff.Other[d]++
			}
			found = i + 1
		}
		ff.Runs = append(ff.Runs, found)
	}
	return ff, nil
}

// NativeStats counts plain native runs of a program.
type NativeStats struct {
	Runs  int
	Fails int            // runs that did not exit 0 with the correct output
	How   map[string]int // failing runs by how they ended ("exit 1", "timeout", "exit 0, wrong output"...)
	Wall  time.Duration
}

// Cell formats the stats as a table cell: "fails/runs".
func (n *NativeStats) Cell() string {
	if n.Runs == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", n.Fails, n.Runs)
}

// NativeRuns runs prog natively runs times, parallel at a time, each with
// the given timeout (a natively deadlocked program hangs: it counts as a
// failure, "timeout"), and checks every run the way corpus's tests do: a
// correct run exits 0 and prints exactly p.Stdout.
func NativeRuns(ctx context.Context, p corpus.Program, path string, runs, parallel int, timeout time.Duration) (*NativeStats, error) {
	ns := &NativeStats{Runs: runs, How: map[string]int{}}
	start := time.Now()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan struct{})
	for range max(parallel, 1) {
		wg.Go(func() {
			for range next {
				how, err := nativeOnce(ctx, path, p.Args, p.Stdout, timeout)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if how != "" {
					ns.Fails++
					ns.How[how]++
				}
				mu.Unlock()
			}
		})
	}
	for range runs {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	ns.Wall = time.Since(start)
	return ns, firstErr
}

// nativeOnce runs the program once. how is "" for a correct run, else how
// it failed. err is set only if the program could not be run at all.
func nativeOnce(ctx context.Context, path string, args []string, want string, timeout time.Duration) (how string, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.WaitDelay = time.Second
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, io.Discard
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return "timeout", nil
	case err == nil && stdout.String() == want:
		return "", nil
	case err == nil:
		return "exit 0, wrong output", nil
	case errors.As(err, &ee) && ee.Exited():
		return "exit " + strconv.Itoa(ee.ExitCode()), nil
	case errors.As(err, &ee):
		return ee.String(), nil
	}
	return "", err
}

// CorpusRow is one line of the corpus table: a program, its native
// failures and one FirstFailure per strategy (in Strategies order).
type CorpusRow struct {
	Program    corpus.Program
	Native     *NativeStats
	Strategies []*FirstFailure
}

// CorpusTable formats rows as a Markdown table, one column per strategy.
func CorpusTable(rows []CorpusRow) string {
	var b strings.Builder
	var names []string
	if len(rows) > 0 {
		for _, f := range rows[0].Strategies {
			names = append(names, f.Strategy)
		}
	}
	b.WriteString("| program | failure | native failures |")
	for _, n := range names {
		fmt.Fprintf(&b, " %s: runs to 1st failure, median (min–max) found/sessions |", n)
	}
	b.WriteString("\n| --- | --- | --- |")
	for range names {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, r := range rows {
		nat := "-"
		if r.Native != nil {
			nat = r.Native.Cell()
		}
		fmt.Fprintf(&b, "| %s | %s | %s |", r.Program.Name, r.Program.Failure, nat)
		for _, f := range r.Strategies {
			b.WriteString(" " + f.Cell() + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}
