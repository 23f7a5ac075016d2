package sched

import "github.com/schedfuzz/schedfuzz/intercept"

// Observer watches a run's system calls without changing them: what a
// run's behaviour was, in the program's terms (package explore records it
// to explain a replay's divergence and to list the files a run changed).
// Its methods run on the tracer thread, in the order of the calls.
type Observer interface {
	// Syscall is called at thread vtid's point-th scheduling point, the
	// entry of c, once the scheduler has modelled the call (c.Args may
	// have been changed: c.OrigArgs are the guest's). It returns whether
	// it wants the call's result: for a call that runs, that costs one
	// more stop (its exit); a call the scheduler answers itself costs
	// nothing; a call that blocks first is not reported.
	Syscall(vtid, point int, t *intercept.Thread, c *intercept.Syscall) (wantResult bool)
	// Result gives the raw result (a negative errno on failure) of a call
	// whose result Syscall wanted.
	Result(vtid, point int, t *intercept.Thread, c *intercept.Syscall, ret int64)
}

type obsState uint8

const (
	obsNone obsState = iota
	obsAlso          // the scheduler traces the exit too
	obsOnly          // only the observer asked for the exit
)

// observe tells the Observer about g's syscall point c.
func (s *Scheduler) observe(g *gthread, c *intercept.Syscall) {
	o := s.cfg.Observer
	if !o.Syscall(g.vtid, g.points, g.t, c) || g.state != stRunnable || s.ended {
		return
	}
	if r, ok := g.resume.Emulated(); ok {
		o.Result(g.vtid, g.points, g.t, c, r)
		return
	}
	if !g.resume.Runs() {
		return
	}
	g.observed, g.obsPoint = obsAlso, g.points
	if g.resume != intercept.TraceExit() {
		g.resume = intercept.TraceExit()
		g.observed = obsOnly
	}
}

// observedExit reports a result the Observer wanted; it returns true if
// the scheduler had not asked for the exit itself (nothing more to do).
func (s *Scheduler) observedExit(g *gthread, c *intercept.Syscall, ret int64) bool {
	only := g.observed == obsOnly
	g.observed = obsNone
	s.cfg.Observer.Result(g.vtid, g.obsPoint, g.t, c, ret)
	return only
}
