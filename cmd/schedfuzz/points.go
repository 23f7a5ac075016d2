package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
	"github.com/schedfuzz/schedfuzz/sched/points"
)

// defaultPoints is the -points default; bench/RESULTS.md and the README
// give the measurement behind it.
const defaultPoints = "sync"

// pointFlags are -points, -yield-at and -watch.
type pointFlags struct {
	setName, yieldAt, watch string

	set     points.Set
	yield   []points.Spec
	watches []points.Watch
	plan    *points.Plan // shared by the runs of a session
}

func (p *pointFlags) register(fs *flag.FlagSet, def string) {
	fs.StringVar(&p.setName, "points", def, "scheduling points: syscalls, or sync (syscalls plus pthread, C11 and Go sync and channel functions)")
	fs.StringVar(&p.yieldAt, "yield-at", "", "more points: functions or file.c:LINE, comma-separated")
	fs.StringVar(&p.watch, "watch", "", "data points: global variables SYMBOL[:len], comma-separated (at most 4)")
}

// parse checks the flags; errors are usage errors.
func (p *pointFlags) parse() error {
	var err error
	if p.set, err = points.ParseSet(p.setName); err != nil {
		return usageErr("%v", err)
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
	return nil
}

// apply puts the points in a run's configuration.
func (p *pointFlags) apply(cfg *explore.Config) {
	if p.plan == nil {
		p.plan = points.NewPlan(p.set, p.yield)
	}
	cfg.Points, cfg.YieldAt, cfg.Watch, cfg.Plan = p.set, p.yield, p.watches, p.plan
}

// record describes the point set of a run for its seed file: the set's
// name, then the user's specs ("yield-at worker", "watch flag:4") and the
// catalog functions planted, each with where it resolved. A run with
// syscall points only records nothing (as seed files always did).
func (p *pointFlags) record(o *sched.Outcome) replay.PointSet {
	if p.set == points.Syscalls && len(p.yield) == 0 && len(p.watches) == 0 {
		return replay.PointSet{}
	}
	where := map[string][]uint64{}
	for _, rp := range o.Points {
		where[rp.Name] = rp.Addrs
	}
	ps := replay.PointSet{Name: p.set.String()}
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

// recordedPoints rebuilds the point flags of a recorded run.
func recordedPoints(ps replay.PointSet) (*pointFlags, error) {
	p := &pointFlags{setName: ps.Name}
	if p.setName == "" {
		p.setName = "syscalls"
	}
	var ys, ws []string
	for _, pt := range ps.Points {
		if v, ok := strings.CutPrefix(pt.Spec, "yield-at "); ok {
			ys = append(ys, v)
		} else if v, ok := strings.CutPrefix(pt.Spec, "watch "); ok {
			ws = append(ws, v)
		}
	}
	p.yieldAt, p.watch = strings.Join(ys, ","), strings.Join(ws, ",")
	if err := p.parse(); err != nil {
		return nil, fmt.Errorf("recorded points: %v", err)
	}
	return p, nil
}

// same reports whether two configurations ask for the same points.
func (p *pointFlags) same(q *pointFlags) bool {
	return p.set == q.set && fmt.Sprint(p.yield) == fmt.Sprint(q.yield) && fmt.Sprint(p.watches) == fmt.Sprint(q.watches)
}

func (p *pointFlags) String() string {
	s := "-points " + p.set.String()
	if len(p.yield) > 0 {
		s += " -yield-at " + p.yieldAt
	}
	if len(p.watches) > 0 {
		s += " -watch " + p.watch
	}
	return s
}
