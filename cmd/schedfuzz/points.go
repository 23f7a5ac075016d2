package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
	"github.com/schedfuzz/schedfuzz/sched/points"
	"github.com/schedfuzz/schedfuzz/sched/points/memsites"
)

// defaultPoints is the -points default; bench/RESULTS.md and the README
// give the measurement behind it.
const defaultPoints = mixedPoints

// mixedPoints is the session-level set: sync points in every run, memory
// points too in every explore.DefaultMemoryEvery-th run.
const mixedPoints = "sync+memory"

// pointFlags are -points, -yield-at, -watch and the memory points'
// -memory-sites and -memory-in.
type pointFlags struct {
	setName, yieldAt, watch string
	memSites                int
	memIn                   string

	set     points.Set
	every   int // explore.Session.MemoryEvery (sync+memory)
	yield   []points.Spec
	watches []points.Watch
	libs    []string
	plan    *points.Plan      // shared by the runs of a session
	sites   *memsites.Cache   // site tables, shared by the runs of a session
	plant   map[uint64]string // a replay's recorded memory sites (nil: sample)
}

// memoryWatch is how many debug registers memory points may arm
// watchpoints in (what -watch variables leave of the four).
const memoryWatch = 2

func (p *pointFlags) register(fs *flag.FlagSet, def string) {
	fs.StringVar(&p.setName, "points", def, "scheduling points: syscalls; sync (syscalls plus pthread, C11 and Go sync and channel functions); memory (sync plus a sample of the program's memory accesses); sync+memory (sync, and memory in every 3rd run)")
	fs.StringVar(&p.yieldAt, "yield-at", "", "more points: functions or file.c:LINE, comma-separated")
	fs.StringVar(&p.watch, "watch", "", "data points: global variables SYMBOL[:len], comma-separated (at most 4)")
	fs.IntVar(&p.memSites, "memory-sites", sched.DefaultMemorySample, "-points memory: memory accesses sampled as points per run (in each scanned object)")
	fs.StringVar(&p.memIn, "memory-in", "", "-points memory: libraries whose code is sampled too (file names or prefixes: libfoo.so.1,libbar), comma-separated")
}

// parse checks the flags; errors are usage errors.
func (p *pointFlags) parse() error {
	var err error
	p.every = 0
	if strings.TrimSpace(p.setName) == mixedPoints {
		p.set, p.every = points.Memory, explore.DefaultMemoryEvery
	} else if p.set, err = points.ParseSet(p.setName); err != nil {
		return usageErr("-points %q: unknown set (want syscalls, sync, memory or %s)", p.setName, mixedPoints)
	}
	if p.yieldAt != "" {
		if p.yield, err = points.ParseYieldAt(p.yieldAt); err != nil {
			return usageErr("%v", err)
		}
	}
	if p.watch != "" {
		if p.watches, err = points.ParseWatch(p.watch); err != nil {
			return usageErr("%v", err)
		}
	}
	if p.memSites <= 0 {
		return usageErr("-memory-sites must be positive")
	}
	p.libs = nil
	for _, l := range strings.Split(p.memIn, ",") {
		if l = strings.TrimSpace(l); l != "" {
			p.libs = append(p.libs, l)
		}
	}
	return nil
}

// apply puts the points in a run's configuration.
func (p *pointFlags) apply(cfg *explore.Config) {
	if p.plan == nil {
		p.plan = points.NewPlan(p.set, p.yield)
	}
	cfg.Points, cfg.YieldAt, cfg.Watch, cfg.Plan = p.set, p.yield, p.watches, p.plan
	if p.set == points.Memory {
		if p.sites == nil {
			p.sites = memsites.NewCache(memsites.DefaultDir())
		}
		cfg.Memory = sched.MemoryConfig{Sites: p.sites, Sample: p.memSites, Libraries: p.libs,
			Watch: max(0, min(memoryWatch, intercept.NumWatchSlots-len(p.watches))), Plant: p.plant}
	}
}

// applyRun makes cfg, for a run derived from r (its minimization, its
// trace), use the points r used: its set and the memory sites it planted.
func (p *pointFlags) applyRun(cfg *explore.Config, r *explore.Result) {
	p.apply(cfg)
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

// record describes the point set of a run (which used set) for its seed
// file: the set's name, then the user's specs ("yield-at worker", "watch
// flag:4"), the catalog functions planted and the memory sites, each with
// where it resolved. A run with syscall points only records nothing (as
// seed files always did).
func (p *pointFlags) record(set points.Set, o *sched.Outcome) replay.PointSet {
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

// recordedPoints rebuilds the point flags of a recorded run; a run with
// memory points plants exactly the sites it recorded.
func recordedPoints(ps replay.PointSet) (*pointFlags, error) {
	p := &pointFlags{setName: ps.Name, memSites: sched.DefaultMemorySample}
	if p.setName == "" {
		p.setName = "syscalls"
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
	p.yieldAt, p.watch = strings.Join(ys, ","), strings.Join(ws, ",")
	if err := p.parse(); err != nil {
		return nil, fmt.Errorf("recorded points: %v", err)
	}
	if p.set == points.Memory {
		p.plant = plant
	}
	return p, nil
}

// same reports whether two configurations ask for the same points.
func (p *pointFlags) same(q *pointFlags) bool {
	return p.set == q.set && p.every == q.every && fmt.Sprint(p.yield) == fmt.Sprint(q.yield) && fmt.Sprint(p.watches) == fmt.Sprint(q.watches)
}

func (p *pointFlags) String() string {
	s := "-points " + p.set.String()
	if p.every > 1 {
		s = "-points " + mixedPoints
	}
	if len(p.yield) > 0 {
		s += " -yield-at " + p.yieldAt
	}
	if len(p.watches) > 0 {
		s += " -watch " + p.watch
	}
	return s
}
