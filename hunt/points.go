package hunt

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
	"github.com/schedfuzz/schedfuzz/sched/points"
	"github.com/schedfuzz/schedfuzz/sched/points/memsites"
)

// MixedPoints is the session-level point set: sync points in every run,
// memory points too in every explore.DefaultMemoryEvery-th run.
const MixedPoints = "sync+memory"

// DefaultPoints is the point set a hunt uses unless told otherwise;
// bench/RESULTS.md and the README give the measurement behind it.
const DefaultPoints = MixedPoints

// memoryWatch is how many debug registers memory points may arm
// watchpoints in (what watched variables leave of the four).
const memoryWatch = 2

// Points are the scheduling points of a hunt, as the user spells them
// (the CLI's -points, -yield-at, -watch, -memory-sites and -memory-in),
// and what Parse makes of them. Set the spelled fields, call Parse, then
// Apply to each run's configuration. A Points is shared by the runs of a
// session (its plan and memory-site tables are built once); it is not
// changed by Apply and may be used from several goroutines after Parse.
type Points struct {
	Set         string // syscalls, sync, memory or MixedPoints ("": syscalls)
	YieldAt     string // functions or file.c:LINE, comma-separated
	Watch       string // global variables SYMBOL[:len], comma-separated
	MemorySites int    // memory accesses sampled per run (0: sched.DefaultMemorySample)
	MemoryIn    string // libraries whose code is sampled too, comma-separated

	set     points.Set
	every   int // explore.Session.MemoryEvery (MixedPoints)
	yield   []points.Spec
	watches []points.Watch
	libs    []string
	plan    *points.Plan
	sites   *memsites.Cache
	plant   map[uint64]string // a replay's recorded memory sites (nil: sample)
}

// Parse checks the spelled fields and builds what runs share. Its errors
// name the flag (-points, -yield-at...): they are the user's.
func (p *Points) Parse() error {
	var err error
	p.every = 0
	name := p.Set
	if name == "" {
		name = "syscalls"
	}
	if strings.TrimSpace(name) == MixedPoints {
		p.set, p.every = points.Memory, explore.DefaultMemoryEvery
	} else if p.set, err = points.ParseSet(name); err != nil {
		return fmt.Errorf("-points %q: unknown set (want syscalls, sync, memory or %s)", p.Set, MixedPoints)
	}
	p.yield, p.watches = nil, nil
	if p.YieldAt != "" {
		if p.yield, err = points.ParseYieldAt(p.YieldAt); err != nil {
			return err
		}
	}
	if p.Watch != "" {
		if p.watches, err = points.ParseWatch(p.Watch); err != nil {
			return err
		}
	}
	if p.MemorySites < 0 {
		return fmt.Errorf("-memory-sites must be positive")
	}
	if p.MemorySites == 0 {
		p.MemorySites = sched.DefaultMemorySample
	}
	p.libs = nil
	for _, l := range strings.Split(p.MemoryIn, ",") {
		if l = strings.TrimSpace(l); l != "" {
			p.libs = append(p.libs, l)
		}
	}
	p.plan = points.NewPlan(p.set, p.yield)
	p.plan.CacheTSC(CacheDir("tsc"))
	p.plan.KeepResolutions(CacheDir("points"))
	if p.set == points.Memory {
		p.sites = memsites.NewCache(memsites.DefaultDir())
	}
	return nil
}

// MemoryEvery is explore.Session.MemoryEvery for these points: how often
// a run uses memory points (0: as Set says, every run).
func (p *Points) MemoryEvery() int { return p.every }

// Apply puts the points in a run's configuration.
func (p *Points) Apply(cfg *explore.Config) {
	cfg.Points, cfg.YieldAt, cfg.Watch, cfg.Plan = p.set, p.yield, p.watches, p.plan
	if p.set == points.Memory {
		cfg.Memory = sched.MemoryConfig{Sites: p.sites, Sample: p.MemorySites, Libraries: p.libs,
			Watch: max(0, min(memoryWatch, intercept.NumWatchSlots-len(p.watches))), Plant: p.plant}
	}
}

// ApplyRun makes cfg, for a run derived from r (its minimization, its
// trace, its replay), use the points r used: its set and the memory sites
// it planted.
func (p *Points) ApplyRun(cfg *explore.Config, r *explore.Result) {
	p.Apply(cfg)
	cfg.Points = r.Points
	if r.Points == points.Memory {
		cfg.Memory.Plant = plantOf(r.Outcome.Points)
	}
}

// plantOf collects the memory sites among a run's planted points.
func plantOf(pts []sched.ResolvedPoint) map[uint64]string {
	plant := map[uint64]string{}
	for _, rp := range pts {
		if sched.IsMemoryPoint(rp.Name) {
			for _, a := range rp.Addrs {
				plant[a] = rp.Name
			}
		}
	}
	return plant
}

// Record describes the point set of a run (which used set) for its seed
// file: the set's name, then the user's specs ("yield-at worker", "watch
// flag:4"), the catalog functions planted and the memory sites, each with
// where it resolved. A run with syscall points only records nothing (as
// seed files always did).
func (p *Points) Record(set points.Set, o *sched.Outcome) replay.PointSet {
	if set == points.Syscalls && len(p.yield) == 0 && len(p.watches) == 0 {
		return replay.PointSet{}
	}
	where := map[string][]uint64{}
	for _, rp := range o.Points {
		where[rp.Name] = rp.Addrs
	}
	ps := replay.PointSet{Name: set.String()}
	user := map[string]bool{}
	for _, sp := range p.yield {
		user[sp.String()] = true
		ps.Points = append(ps.Points, replay.Point{Spec: "yield-at " + sp.String(), Addrs: where[sp.String()]})
	}
	for _, w := range p.watches {
		name := "watch:" + w.Symbol
		user[name] = true
		ps.Points = append(ps.Points, replay.Point{Spec: "watch " + w.String(), Addrs: where[name]})
	}
	for _, rp := range o.Points {
		if !user[rp.Name] {
			ps.Points = append(ps.Points, replay.Point{Spec: rp.Name, Addrs: rp.Addrs})
		}
	}
	return ps
}

// RecordedPoints rebuilds the points of a recorded run (the inverse of
// Record); a run with memory points plants exactly the sites it
// recorded.
func RecordedPoints(ps replay.PointSet) (*Points, error) {
	p := &Points{Set: ps.Name}
	if p.Set == "" {
		p.Set = "syscalls"
	}
	var ys, ws []string
	plant := map[uint64]string{}
	for _, pt := range ps.Points {
		if v, ok := strings.CutPrefix(pt.Spec, "yield-at "); ok {
			ys = append(ys, v)
		} else if v, ok := strings.CutPrefix(pt.Spec, "watch "); ok {
			ws = append(ws, v)
		} else if sched.IsMemoryPoint(pt.Spec) {
			for _, a := range pt.Addrs {
				plant[a] = pt.Spec
			}
		}
	}
	p.YieldAt, p.Watch = strings.Join(ys, ","), strings.Join(ws, ",")
	if err := p.Parse(); err != nil {
		return nil, fmt.Errorf("recorded points: %v", err)
	}
	if p.set == points.Memory {
		p.plant = plant
	}
	return p, nil
}

// Same reports whether two parsed Points ask for the same points.
func (p *Points) Same(q *Points) bool {
	return p.set == q.set && p.every == q.every && fmt.Sprint(p.yield) == fmt.Sprint(q.yield) && fmt.Sprint(p.watches) == fmt.Sprint(q.watches)
}

// String spells the parsed points as flags ("-points sync -yield-at f").
func (p *Points) String() string {
	s := "-points " + p.set.String()
	if p.every > 1 {
		s = "-points " + MixedPoints
	}
	if len(p.yield) > 0 {
		s += " -yield-at " + p.YieldAt
	}
	if len(p.watches) > 0 {
		s += " -watch " + p.Watch
	}
	return s
}

// CacheDir is where schedfuzz keeps what it learns of binaries by build ID
// (rdtsc sites, symbol tables): schedfuzz/NAME under the user's cache
// directory, or "" (nothing kept) if there is none.
func CacheDir(name string) string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "schedfuzz", name)
}
