package explore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
)

// Minimization and root cause.
//
// A schedule is seen as the run's non-preemptive default (the thread that
// reached a point runs on if it can) plus a set of items: forced
// preemptions (a pick at thread X's k-th point that chose another thread
// although X could run on, or let time pass) and injected faults. Every
// other decision (who runs when X blocked or exited, which futex waiter
// wakes) is kept as it was, except that picks made when the running
// thread blocked may fall back to the lowest runnable thread. Decisions
// are keyed by (thread, its k-th
// point), not by their index, so that removing an item does not shift
// what the others mean.
//
// Minimize runs ddmin (Zeller) over the removable decisions: it finds a
// 1-minimal set, one from which no single decision can be dropped without
// the failure (same signature) going away. Each candidate is a real run under a guided
// Decider; the result is that run, whose recorded decisions replay it
// exactly like any other.
//
// RootCause then takes each remaining preemption, last first, and moves
// it later, one point of the preempted thread X at a time, until the run
// passes. The last failing and first passing schedules differ in one
// place: whether X's event at that point runs before or after the other
// thread's event. That pair of events is the critical pair (as hermit
// analyze reports it: one adjacent swap between a passing and a failing
// schedule).

// Minimizer shrinks failing schedules of one target.
type Minimizer struct {
	Target *Target
	// Config is the failing run's configuration (Seed, Strategy, Faults,
	// Timeout, CPU...); its Replay and Decider are ignored.
	Config   Config
	Classify Classifier
	// MaxRuns bounds the runs Minimize and RootCause make (default 300),
	// MaxTime their wall-clock time (default 60 s).
	MaxRuns int
	MaxTime time.Duration
	runs    int
	// limits for candidate runs, set from the original run: a guided
	// schedule that takes far longer than the failure it came from
	// (a spinner the non-preemptive default never switches away from)
	// ends early, as a livelock or a hang, and is not a match.
	steps    int
	timeout  time.Duration
	deadline time.Time
}

// Minimized is the result of Minimize.
type Minimized struct {
	Result   *Result // the minimized failing run
	Items    int     // preemptions and faults it forces
	Original int     // in the original run
	Runs     int     // runs made
	kept     []item
	log      []step // of Result's run
}

// Cause is a failure's critical pair of events: the run fails when Second
// runs before First, and passes when First runs before Second, all else
// equal.
type Cause struct {
	First, Second ThreadEvent
	// Failing and Passing are the two runs that differ by the swap.
	Failing, Passing *Result
}

// ThreadEvent is one thread's event at one of its scheduling points.
type ThreadEvent struct {
	Thread int    // vtid
	Point  int    // its k-th scheduling point
	Name   string // the syscall or function
}

func (e ThreadEvent) String() string {
	return fmt.Sprintf("thread %d: %s (its point %d)", e.Thread, e.Name, e.Point)
}

type key struct{ thread, count int }

// item is a decision of the original run at a key: the j-th decision
// made at that key.
type item struct {
	k      key
	j      int
	kind   sched.Kind
	choice int
	forced bool // a preemption or an injected fault: removable
}

// step is what a guided run did at one decision.
type step struct {
	k       key
	kind    sched.Kind
	choice  int
	options []int
	at      string
	// next and nextCount are the pending event of the chosen thread
	// (picks): its name and which of that thread's points it is.
	next      string
	nextCount int
}

// guide is the Decider of a candidate schedule.
type guide struct {
	items map[key][]item
	seen  map[key]int
	log   []step
}

func newGuide(items []item) *guide {
	g := &guide{items: map[key][]item{}, seen: map[key]int{}}
	for _, it := range items {
		g.items[it.k] = append(g.items[it.k], it)
	}
	return g
}

func (g *guide) Choose(r *sched.Request) (int, error) {
	k := key{r.Thread, r.Count}
	j := g.seen[k]
	g.seen[k] = j + 1
	c, ok := 0, false
	for _, it := range g.items[k] {
		if it.j == j && it.kind == r.Kind && slices.Contains(r.Options, it.choice) {
			c, ok = it.choice, true
		}
	}
	if !ok {
		switch {
		case r.Kind == sched.KindPick && slices.Contains(r.Options, r.Thread):
			c = r.Thread // no preemption
		case r.Kind == sched.KindPick:
			c = threads(r.Options)[0]
		default:
			c = r.Options[0] // FIFO wake, no fault
		}
	}
	g.log = append(g.log, newStep(r, c))
	return c, nil
}

// itemsOf turns a guided run's log into items.
func itemsOf(log []step) []item {
	seen := map[key]int{}
	var out []item
	for _, s := range log {
		j := seen[s.k]
		seen[s.k] = j + 1
		it := item{k: s.k, j: j, kind: s.kind, choice: s.choice}
		switch s.kind {
		case sched.KindPick:
			it.forced = slices.Contains(s.options, s.k.thread) && s.choice != s.k.thread
		case sched.KindFault:
			it.forced = s.choice != sched.FaultNone
		}
		out = append(out, it)
	}
	return out
}

func (m *Minimizer) budget() int {
	if m.MaxRuns > 0 {
		return m.MaxRuns
	}
	return 300
}

// exhausted reports whether the run or time budget is used up.
func (m *Minimizer) exhausted() bool {
	return m.runs >= m.budget() || (!m.deadline.IsZero() && time.Now().After(m.deadline))
}

// limit sets the candidate limits from the original run.
func (m *Minimizer) limit(orig *Result) {
	if m.Config.MaxSteps == 0 {
		m.steps = max(4*orig.Outcome.Steps, 2000)
	}
	m.timeout = m.Config.Timeout
	if t := max(20*orig.Wall, 2*time.Second); m.timeout == 0 || t < m.timeout {
		m.timeout = t
	}
	d := m.MaxTime
	if d <= 0 {
		d = time.Minute
	}
	m.deadline = time.Now().Add(d)
}

// try runs a candidate schedule.
func (m *Minimizer) try(ctx context.Context, items []item) (*Result, *guide, error) {
	m.runs++
	g := newGuide(items)
	cfg := m.Config
	cfg.Replay, cfg.Decider = nil, g
	if m.steps > 0 {
		cfg.MaxSteps = m.steps
	}
	if m.timeout > 0 {
		cfg.Timeout = m.timeout
	}
	r, err := Run(ctx, m.Target, cfg)
	return r, g, err
}

func (m *Minimizer) fails(r *Result, sig string) bool {
	return m.Classify.Classify(r) == Fail && Signature(r) == sig
}

// Minimize shrinks the failing run orig (made with m.Config) to a
// 1-minimal set of forced preemptions and faults with the same signature.
func (m *Minimizer) Minimize(ctx context.Context, orig *Result) (*Minimized, error) {
	sig := Signature(orig)
	m.limit(orig)
	// Learn the keys of the original decisions by replaying it.
	cfg := m.Config
	cap := &keyLog{d: replay.NewFollower(orig.Decisions)}
	cfg.Decider = cap
	m.runs++
	base, err := Run(ctx, m.Target, cfg)
	if err != nil {
		return nil, err
	}
	if !m.fails(base, sig) {
		return nil, fmt.Errorf("minimize: the failing run does not replay (%s: %s)", base.Describe(), base.Outcome.Report)
	}
	all := itemsOf(cap.log)
	// Removable: forced items, and the picks made when the running
	// thread blocked (their default is the lowest thread). Fixed: which
	// futex waiters woke.
	var fixed, removable []item
	nForced := 0
	for _, it := range all {
		switch {
		case it.forced:
			nForced++
			removable = append(removable, it)
		case it.kind == sched.KindPick:
			removable = append(removable, it)
		case it.kind == sched.KindWake:
			fixed = append(fixed, it)
		}
	}
	best := &Minimized{Result: base, Items: nForced, Original: nForced, kept: all, log: cap.log}
	test := func(subset []item) bool {
		if m.exhausted() {
			return false
		}
		r, g, err := m.try(ctx, append(append([]item(nil), fixed...), subset...))
		if err != nil || !m.fails(r, sig) {
			return false
		}
		got := itemsOf(g.log)
		n := 0
		for _, it := range got {
			if it.forced {
				n++
			}
		}
		if n <= best.Items {
			best.Result, best.Items, best.kept, best.log = r, n, got, g.log
		}
		return true
	}
	ddmin(removable, test)
	best.Runs = m.runs
	if ctx.Err() != nil {
		return best, ctx.Err()
	}
	return best, nil
}

// ddmin is Zeller's delta debugging: it returns a 1-minimal subset of
// items for which test holds (test(items) is assumed to hold).
func ddmin(items []item, test func([]item) bool) []item {
	if test(nil) {
		return nil
	}
	n := 2
	for len(items) >= 2 {
		chunk := (len(items) + n - 1) / n
		var chunks [][]item
		for start := 0; start < len(items); start += chunk {
			chunks = append(chunks, items[start:min(start+chunk, len(items))])
		}
		reduced := false
		// Reduce to a subset...
		for _, c := range chunks {
			if test(c) {
				items, n, reduced = slices.Clone(c), 2, true
				break
			}
		}
		// ...or to a complement.
		for i := 0; !reduced && i < len(chunks) && n > 2; i++ {
			var complement []item
			for j, c := range chunks {
				if j != i {
					complement = append(complement, c...)
				}
			}
			if test(complement) {
				items, n, reduced = complement, max(n-1, 2), true
			}
		}
		if !reduced {
			if n >= len(items) {
				break
			}
			n = min(2*n, len(items))
		}
	}
	return items
}

// keyLog records the keys of another Decider's decisions.
type keyLog struct {
	d   sched.Decider
	log []step
}

func (c *keyLog) Choose(r *sched.Request) (int, error) {
	v, err := c.d.Choose(r)
	if err == nil {
		c.log = append(c.log, newStep(r, v))
	}
	return v, err
}

// newStep describes the decision r answered with c.
func newStep(r *sched.Request, c int) step {
	st := step{k: key{r.Thread, r.Count}, kind: r.Kind, choice: c, options: append([]int(nil), r.Options...), at: r.At}
	if r.Kind == sched.KindPick && c != sched.IdleOption {
		e := r.Event(c)
		st.next, st.nextCount = e.Name, e.Count
	}
	return st
}

// RootCause localizes a minimized failure to a critical pair of events.
// It returns nil if no preemption could be moved from failing to passing
// within the run budget.
func (m *Minimizer) RootCause(ctx context.Context, min *Minimized) (*Cause, error) {
	sig := Signature(min.Result)
	m.limit(min.Result) // a budget of its own
	kept := min.kept
	for i := len(kept) - 1; i >= 0; i-- {
		p := kept[i]
		if !p.forced || p.kind != sched.KindPick || p.choice == sched.IdleOption {
			continue
		}
		failing, failLog := min.Result, min.log
		for d := 1; d <= 32 && !m.exhausted(); d++ {
			moved := slices.Clone(kept)
			moved[i].k.count = p.k.count + d
			moved[i].j = 0
			r, g, err := m.try(ctx, moved)
			if err != nil {
				return nil, err
			}
			if !applied(g.log, moved[i]) {
				break // the thread has no such point, or the other cannot run then
			}
			if m.fails(r, sig) {
				failing, failLog = r, g.log
				continue
			}
			if m.Classify.Classify(r) != Pass {
				break // another failure: not a clean swap
			}
			// Preempting X at point k+d-1 fails, at k+d passes: X's
			// event at point k+d-1 and the other thread's event are
			// the pair.
			at := key{p.k.thread, p.k.count + d - 1}
			first := ThreadEvent{Thread: at.thread, Point: at.count, Name: eventName(failLog, at)}
			second := nextEvent(failLog, at, p.choice)
			return &Cause{First: first, Second: second, Failing: failing, Passing: r}, nil
		}
	}
	return nil, nil
}

// applied reports whether the guided run made the preemption it.
func applied(log []step, it item) bool {
	for _, s := range log {
		if s.k == it.k && s.kind == it.kind {
			return s.choice == it.choice
		}
	}
	return false
}

// eventName is the name of thread k.thread's point k.count, from the
// decision made there.
func eventName(log []step, k key) string {
	for _, s := range log {
		if s.k == k {
			if _, name, ok := cutAt(s.at); ok {
				return name
			}
		}
	}
	return "?"
}

// nextEvent is the pending event of thread v when it was chosen at k.
func nextEvent(log []step, k key, v int) ThreadEvent {
	for _, s := range log {
		if s.k == k && s.choice == v {
			return ThreadEvent{Thread: v, Point: s.nextCount, Name: s.next}
		}
	}
	return ThreadEvent{Thread: v, Name: "?"}
}

// cutAt splits "t3:write" into 3 and "write".
func cutAt(at string) (int, string, bool) {
	var v int
	var name string
	if n, _ := fmt.Sscanf(at, "t%d:%s", &v, &name); n == 2 {
		return v, name, true
	}
	return 0, "", false
}
