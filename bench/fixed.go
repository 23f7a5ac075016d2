package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// Case is one configuration of an interleaved measurement: a guest run a
// given way.
type Case struct {
	Name string
	Kind RunKind
	Argv []string
	// Opts, if set, edits the intercept options of the intercept and
	// sched kinds.
	Opts func(*intercept.Options)
}

// Samples are the runs of one Case.
type Samples struct {
	Case  Case
	Runs  []RunStats
	walls []float64 // ms, sorted (filled by Summarize)
}

// Interleave runs every case once per repetition, reps times, starting one
// case further along the list each repetition so that drift and order
// effects hit every case alike. each is called after every repetition
// (for progress and load reports); it may be nil.
func (st *SchedTools) Interleave(ctx context.Context, cases []Case, reps, cpu int, each func(rep int)) ([]*Samples, error) {
	out := make([]*Samples, len(cases))
	for i, c := range cases {
		out[i] = &Samples{Case: c}
	}
	for r := 0; r < reps; r++ {
		for k := range cases {
			i := (k + r) % len(cases)
			rs, err := st.runOnce(ctx, cases[i].Kind, cases[i].Argv, cpu, uint64(r+1), cases[i].Opts)
			if err != nil {
				return nil, err
			}
			out[i].Runs = append(out[i].Runs, rs)
		}
		if each != nil {
			each(r)
		}
	}
	return out, nil
}

// Walls returns the wall times of the runs in ms, sorted.
func (s *Samples) Walls() []float64 {
	if s.walls == nil {
		for _, r := range s.Runs {
			s.walls = append(s.walls, float64(r.Wall)/float64(time.Millisecond))
		}
		slices.Sort(s.walls)
	}
	return s.walls
}

// CPUMs returns the CPU times of the runs in ms, sorted.
func (s *Samples) CPUMs() []float64 {
	var c []float64
	for _, r := range s.Runs {
		c = append(c, float64(r.CPU)/float64(time.Millisecond))
	}
	slices.Sort(c)
	return c
}

// MedianSwitches is the median number of context switches per run.
func (s *Samples) MedianSwitches() float64 {
	var c []float64
	for _, r := range s.Runs {
		c = append(c, float64(r.Switches))
	}
	slices.Sort(c)
	return Median(c)
}

// MedianMs and MinMs summarize the wall time per run.
func (s *Samples) MedianMs() float64 { return Median(s.Walls()) }
func (s *Samples) MinMs() float64 {
	if w := s.Walls(); len(w) > 0 {
		return w[0]
	}
	return 0
}

// StopRange returns the smallest and largest stop count over the runs
// (-1, -1 if unknown), and the same for scheduling points.
func (s *Samples) StopRange() (lo, hi, plo, phi int64) {
	lo, hi, plo, phi = -1, -1, -1, -1
	for i, r := range s.Runs {
		if i == 0 {
			lo, hi, plo, phi = r.Stops, r.Stops, r.Points, r.Points
			continue
		}
		lo, hi = min(lo, r.Stops), max(hi, r.Stops)
		plo, phi = min(plo, r.Points), max(phi, r.Points)
	}
	return
}

// FixedCases are the configurations of the fixed-cost table: the tiny
// program (dynamic and static) natively, under intercept subscribing
// nothing, everything, everything with the scheduler's options, under the
// scheduler, and through explore.Run.
func (st *SchedTools) FixedCases() []Case {
	var cs []Case
	for _, prog := range []struct{ tag, path string }{{"dynamic", st.TinyDynamic}, {"static", st.TinyStatic}} {
		for _, k := range []RunKind{RunNative, RunInterceptNothing, RunInterceptAll, RunInterceptAllSchedOpts, RunSched, RunExplore, RunExploreSyncTrap, RunExploreSync, RunExploreSyncSandbox, RunExploreSyncSandboxHostNet, RunExploreSyncBehavior, RunExploreSyncCLI} {
			cs = append(cs, Case{Name: prog.tag + "/" + k.String(), Kind: k, Argv: []string{prog.path}})
		}
	}
	return cs
}

// OptionCases split the cost of the scheduler's intercept options: the
// program under intercept.Run subscribing everything, with each option of
// sched.TracerOptions alone.
func (st *SchedTools) OptionCases(path string) []Case {
	argv := []string{path}
	cs := []Case{{Name: "native", Kind: RunNative, Argv: argv}, {Name: "all", Kind: RunInterceptAll, Argv: argv}}
	var r [16]byte
	for _, o := range []struct {
		name string
		edit func(*intercept.Options)
	}{
		{"all+DisableASLR", func(o *intercept.Options) { o.DisableASLR = true }},
		{"all+DisableVDSO", func(o *intercept.Options) { o.DisableVDSO = true }},
		{"all+TrapRDTSC", func(o *intercept.Options) { o.TrapRDTSC = true }},
		{"all+AtRandom", func(o *intercept.Options) { o.AtRandom = &r }},
		{"all+KillOnRootExit", func(o *intercept.Options) { o.KillOnRootExit = true }},
	} {
		cs = append(cs, Case{Name: o.name, Kind: RunInterceptAll, Argv: argv, Opts: o.edit})
	}
	return append(cs, Case{Name: "all+schedopts", Kind: RunInterceptAllSchedOpts, Argv: argv},
		Case{Name: "model+schedopts (estimate)", Kind: RunInterceptModelSchedOpts, Argv: argv})
}

// PointCase is one configuration of the cost-per-point table: the points
// guest with T threads run one way, at two call counts.
type PointCase struct {
	Name    string
	Kind    RunKind
	Threads int
	Static  bool // run points-static (for ctracer -t: no rdtsc in it)
}

// PointCases are the configurations of the cost-per-point table.
func PointCases() []PointCase {
	return []PointCase{
		{"1 thread/native", RunNative, 1, false},
		{"1 thread/ctracer", RunCTracer, 1, false},
		{"1 thread/ctracer -t (static guest)", RunCTracerTSC, 1, true},
		{"1 thread/intercept-getppid", RunInterceptGetppid, 1, false},
		{"1 thread/intercept-all+schedopts", RunInterceptAllSchedOpts, 1, false},
		{"1 thread/sched", RunSched, 1, false},
		{"1 thread/sched-sync-trap", RunSchedSyncTrap, 1, false},
		{"1 thread/sched-sync", RunSchedSync, 1, false},
		{"2 threads/native", RunNative, 2, false},
		{"2 threads/ctracer", RunCTracer, 2, false},
		{"2 threads/ctracer -t (static guest)", RunCTracerTSC, 2, true},
		{"2 threads/intercept-getppid", RunInterceptGetppid, 2, false},
		{"2 threads/sched (random)", RunSched, 2, false},
		{"2 threads/sched-alternate", RunSchedAlternate, 2, false},
		{"2 threads/sched-sync-trap (random)", RunSchedSyncTrap, 2, false},
		{"2 threads/sched-sync (random)", RunSchedSync, 2, false},
	}
}

// PointResult is the cost of one point of a PointCase: the differences
// between the runs with hi and lo calls per thread, repetition by
// repetition.
type PointResult struct {
	Case PointCase
	// UsPerPoint holds (wall(hi)-wall(lo)) / (points(hi)-points(lo)) of
	// every repetition, in µs, sorted.
	UsPerPoint []float64
	// Points is points(hi)-points(lo) of the last repetition: scheduling
	// points (sched), stops (intercept, ctracer) or calls (native).
	Points int64
	// Lo and Hi are the two runs of the last repetition.
	Lo, Hi RunStats
}

// points returns the number of points of a run: scheduling points for the
// scheduler, tracer stops for intercept and ctracer, and the calls made for
// native runs.
func points(k RunKind, rs RunStats, n, threads int) int64 {
	switch k {
	case RunNative:
		return int64(n * threads)
	case RunSched, RunSchedAlternate, RunSchedSync, RunSchedSyncTrap, RunExplore, RunExploreSyncTrap, RunExploreSync, RunExploreSyncSandbox, RunExploreSyncSandboxHostNet, RunExploreSyncBehavior, RunExploreSyncCLI:
		return rs.Points
	}
	return rs.Stops
}

// PointCost measures every case with lo and hi calls per thread, reps
// times, interleaved (each repetition runs every case at lo then hi,
// starting one case further along each time).
func (st *SchedTools) PointCost(ctx context.Context, cases []PointCase, lo, hi, reps, cpu int, each func(rep int)) ([]*PointResult, error) {
	out := make([]*PointResult, len(cases))
	for i, c := range cases {
		out[i] = &PointResult{Case: c}
	}
	for r := 0; r < reps; r++ {
		for k := range cases {
			i := (k + r) % len(cases)
			c := cases[i]
			var rs [2]RunStats
			for j, n := range []int{lo, hi} {
				prog := st.Points
				if c.Static {
					prog = st.PointsStatic
				}
				argv := []string{prog, strconv.Itoa(n), strconv.Itoa(c.Threads)}
				var err error
				if rs[j], err = st.RunOnce(ctx, c.Kind, argv, cpu, uint64(r+1)); err != nil {
					return nil, err
				}
			}
			dp := points(c.Kind, rs[1], hi, c.Threads) - points(c.Kind, rs[0], lo, c.Threads)
			if dp <= 0 {
				return nil, fmt.Errorf("%s: %d points more with %d calls than with %d", c.Name, dp, hi, lo)
			}
			us := float64(rs[1].Wall-rs[0].Wall) / float64(time.Microsecond) / float64(dp)
			out[i].UsPerPoint = append(out[i].UsPerPoint, us)
			out[i].Points, out[i].Lo, out[i].Hi = dp, rs[0], rs[1]
		}
		if each != nil {
			each(r)
		}
	}
	for _, p := range out {
		slices.Sort(p.UsPerPoint)
	}
	return out, nil
}
