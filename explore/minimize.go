package explore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
)

// Minimization and root cause.
//
// A schedule is seen as the run's non-preemptive default plus a set of
// items. The default: at a thread's point the thread runs on if it can;
// where it yields (sched.Request.Yield) or cannot run, the next runnable
// thread after it in vtid order runs (round robin, so spinners waiting
// for each other all get their turn); a wake wakes the first waiter; no
// fault. The items are the run's decisions, keyed by (thread, its k-th
// point), not by their index, so that removing one does not shift what
// the others mean. Removable items are the forced ones: preemptions (a
// pick at a thread's point that chose another thread, or let time pass,
// although the thread could run on without yielding) and injected
// faults. Every other decision (who ran when the thread blocked or
// yielded, which futex waiter woke) is kept as it was wherever it still
// applies.
//
// Minimize runs ddmin (Zeller) over the forced items: it finds a
// 1-minimal set, one from which no single item can be dropped without
// the failure (same signature) going away. Each candidate is a real run
// under a guided Decider; the result is that run, whose recorded
// decisions replay it exactly like any other.
//
// Cost. The work grows with the number of preemptions, not of
// decisions, and is bounded: MaxRuns runs and MaxTime of wall time for
// Minimize and RootCause together, bookkeeping included (a candidate
// still running when the time is up is cancelled; ddmin checks the budget
// before it builds each candidate). A candidate is cut when it runs
// longer than the failure it came from: past the original's steps (twice
// them plus 1000 for a run that ended by itself) or its time. A hang or
// livelock is minimized within its own length: a candidate that reaches
// the original's steps without ending reproduces it (it counts as a
// hang), instead of running to the timeout.
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
	// MaxRuns bounds the runs Minimize and RootCause make together
	// (default 300), MaxTime their wall-clock time, bookkeeping included
	// (default 60 s). Minimize stops at three quarters of MaxTime, so
	// that RootCause has time too.
	MaxRuns int
	MaxTime time.Duration
	runs    int
	// limits for candidate runs, set from the original run.
	steps   int
	timeout time.Duration
	hang    bool // the original hung: a candidate cut at its steps is a hang too
	// start is when the first of Minimize and RootCause began; phase
	// ends the current one.
	start     time.Time
	phase     time.Time
	phaseRuns int
}

// Minimized is the result of Minimize.
type Minimized struct {
	Result   *Result // the minimized failing run
	Items    int     // preemptions and faults it forces
	Original int     // in the original run
	Runs     int     // runs made
	// Exhausted reports that the run or time budget ended the search
	// before the result was 1-minimal.
	Exhausted bool
	kept      []item
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

// key names a thread's k-th point (int32s: a million-decision run keeps
// a million of them).
type key struct{ thread, count int32 }

func keyAt(thread, count int) key { return key{int32(thread), int32(count)} }

// decisionKey is where a decision was made: its key, and whether it was
// forced (a preemption or a fault: removable by the minimizer).
type decisionKey struct {
	k      key
	forced bool
}

// keyOf describes the decision r answered with c.
func keyOf(r *sched.Request, c int) decisionKey {
	dk := decisionKey{k: keyAt(r.Thread, r.Count)}
	switch r.Kind {
	case sched.KindPick:
		_, canRun := slices.BinarySearch(threads(r.Options), r.Thread)
		dk.forced = canRun && !r.Yield && c != r.Thread
	case sched.KindFault:
		dk.forced = c != sched.FaultNone
	}
	return dk
}

// defaultChoice is the non-preemptive default's answer to r.
func defaultChoice(r *sched.Request) int {
	if r.Kind != sched.KindPick {
		return r.Options[0] // the first waiter; no fault
	}
	ts := threads(r.Options)
	i, found := slices.BinarySearch(ts, r.Thread)
	switch {
	case found && !r.Yield:
		return r.Thread
	case found:
		i++ // the next one after the yielder
	}
	return ts[i%len(ts)]
}

// item is a decision at a key: the j-th of a streak of decisions made at
// that key.
type item struct {
	k      key
	j      int32
	choice int32
	kind   sched.Kind
	forced bool
}

// itemsOf returns r's decisions as items (nil if r has no keys).
func itemsOf(r *Result) []item {
	if len(r.keys) != len(r.Decisions) {
		return nil
	}
	out := make([]item, len(r.keys))
	var s streak
	for i, dk := range r.keys {
		d := r.Decisions[i]
		out[i] = item{k: dk.k, j: s.next(dk.k), kind: d.Kind, choice: int32(d.Choice), forced: dk.forced}
	}
	return out
}

// streak numbers consecutive decisions made at the same key (a fault,
// then the pick, at one syscall): the j-th of the streak.
type streak struct {
	last key
	j    int32
	any  bool
}

func (s *streak) next(k key) int32 {
	if s.any && k == s.last {
		s.j++
	} else {
		s.last, s.j, s.any = k, 0, true
	}
	return s.j
}

// guide is the Decider of a candidate schedule: the items it is given
// where they apply (same key, same kind, the choice still offered), the
// non-preemptive default elsewhere.
type guide struct {
	fixed, chosen cursors
	s             streak
	// events, if non-nil, collects the pending event of the thread each
	// pick chose (RootCause's runs).
	events *[]pickEvent
}

// pickEvent is what the thread chosen at a pick was about to do, and
// the object the pick's own thread (the one at k) was about to touch.
type pickEvent struct {
	k      key
	choice int
	ev     ThreadEvent
	obj    uint64 // ev's object (Event.Obj; 0: unknown)
	kObj   uint64 // the object of the event of thread k.thread at the pick
}

// schedule is a set of items indexed for a guided run: by thread, each
// thread's sorted by its point count. A thread's points only count up
// during a run, so a guide looks items up with a cursor per thread: no
// map of a million keys per candidate.
type schedule [][]item

func newSchedule(items []item) schedule {
	var n []int // items per thread
	for _, it := range items {
		t := int(max(it.k.thread, 0)) // no thread's point (none today): thread 0's list
		for len(n) <= t {
			n = append(n, 0)
		}
		n[t]++
	}
	s := make(schedule, len(n))
	for t := range s {
		s[t] = make([]item, 0, n[t])
	}
	for _, it := range items {
		t := int(max(it.k.thread, 0))
		s[t] = append(s[t], it)
	}
	byCount := func(a, b item) int {
		if a.k.count != b.k.count {
			return int(a.k.count - b.k.count)
		}
		return int(a.j - b.j)
	}
	for _, l := range s {
		if !slices.IsSortedFunc(l, byCount) { // a moved preemption (RootCause)
			slices.SortStableFunc(l, byCount)
		}
	}
	return s
}

// cursors walks a schedule during one run.
type cursors struct {
	s   schedule
	pos []int
}

func newCursors(s schedule) cursors { return cursors{s: s, pos: make([]int, len(s))} }

// lookup returns the choice of the item at (k, j) if r can take it.
func (c *cursors) lookup(k key, j int32, r *sched.Request) (int, bool) {
	t := int(max(k.thread, 0))
	if t >= len(c.s) {
		return 0, false
	}
	l, i := c.s[t], c.pos[t]
	for i < len(l) && l[i].k.count < k.count {
		i++
	}
	c.pos[t] = i
	for ; i < len(l) && l[i].k == k; i++ {
		if it := l[i]; it.j == j && it.kind == r.Kind && slices.Contains(r.Options, int(it.choice)) {
			return int(it.choice), true
		}
	}
	return 0, false
}

func (g *guide) Choose(r *sched.Request) (int, error) {
	k := keyAt(r.Thread, r.Count)
	j := g.s.next(k)
	c, ok := g.chosen.lookup(k, j, r)
	if !ok {
		c, ok = g.fixed.lookup(k, j, r)
	}
	if !ok {
		c = defaultChoice(r)
	}
	if g.events != nil && r.Kind == sched.KindPick && c != sched.IdleOption {
		e := r.Event(c)
		pe := pickEvent{k: k, choice: c, ev: ThreadEvent{Thread: c, Point: e.Count, Name: e.Name}, obj: e.Obj}
		if slices.Contains(r.Options, r.Thread) {
			pe.kObj = r.Event(r.Thread).Obj
		}
		*g.events = append(*g.events, pe)
	}
	return c, nil
}

// DefaultMinimizeTime is a Minimizer's time budget unless MaxTime says
// otherwise.
const DefaultMinimizeTime = time.Minute

func (m *Minimizer) budget() int {
	if m.MaxRuns > 0 {
		return m.MaxRuns
	}
	return 300
}

// begin starts a phase: Minimize ends at 3/4 of the run and time
// budgets, RootCause at their end, both counted from the first phase's
// start.
func (m *Minimizer) begin(share float64) {
	d := m.MaxTime
	if d <= 0 {
		d = DefaultMinimizeTime
	}
	if m.start.IsZero() {
		m.start = time.Now()
	}
	m.phase = m.start.Add(time.Duration(float64(d) * share))
	m.phaseRuns = max(1, int(float64(m.budget())*share))
}

// exhausted reports whether the phase's run or time budget is used up,
// or the caller gave up.
func (m *Minimizer) exhausted(ctx context.Context) bool {
	return ctx.Err() != nil || m.runs >= m.phaseRuns || !time.Now().Before(m.phase)
}

// limit sets the candidate limits from the original run.
func (m *Minimizer) limit(orig *Result) {
	m.hang = orig.Hang
	m.timeout = m.Config.Timeout
	switch {
	case orig.Hang || orig.Outcome.Kind == sched.Livelock:
		// Within the original's own length: its decisions, its
		// timeout.
		m.steps = max(len(orig.Decisions), 1)
	default:
		m.steps = 2*len(orig.Decisions) + 1000
		if t := max(20*orig.Wall, 2*time.Second); m.timeout == 0 || t < m.timeout {
			m.timeout = t
		}
	}
	if m.Config.MaxSteps > 0 && m.Config.MaxSteps < m.steps {
		m.steps = m.Config.MaxSteps
	}
}

// errBudget is try's answer when the time budget ran out during the run.
var errBudget = errors.New("minimization budget used up")

// try runs a candidate schedule: the fixed items, and chosen.
func (m *Minimizer) try(ctx context.Context, fixed schedule, chosen []item, events *[]pickEvent) (*Result, error) {
	m.runs++
	g := &guide{fixed: newCursors(fixed), chosen: newCursors(newSchedule(chosen)), events: events}
	cfg := m.Config
	cfg.Replay, cfg.Decider = nil, g
	cfg.MaxSteps, cfg.Timeout = m.steps, m.timeout
	runCtx, cancel := context.WithDeadline(ctx, m.phase)
	defer cancel()
	r, err := Run(runCtx, m.Target, cfg)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if runCtx.Err() != nil {
		return nil, errBudget // cut by the budget, not by the program
	}
	if err != nil {
		return nil, err
	}
	if m.hang && r.Outcome.Kind == sched.Livelock && len(r.Decisions) >= m.steps {
		// As long as the hang it came from without ending: that hang.
		r.Hang, r.Outcome.Kind, r.cut = true, sched.Finished, m.steps
	}
	return r, nil
}

func (m *Minimizer) fails(r *Result, sig string) bool {
	return m.Classify.Classify(r) == Fail && Signature(r) == sig
}

// split divides items into the fixed ones and the forced ones.
func split(items []item) (fixed, forced []item) {
	n := countForced(items)
	fixed, forced = make([]item, 0, len(items)-n), make([]item, 0, n)
	for _, it := range items {
		if it.forced {
			forced = append(forced, it)
		} else {
			fixed = append(fixed, it)
		}
	}
	return fixed, forced
}

func countForced(items []item) int {
	n := 0
	for _, it := range items {
		if it.forced {
			n++
		}
	}
	return n
}

// Minimize shrinks the failing run orig (made with m.Config) to a
// 1-minimal set of forced preemptions and faults with the same signature,
// within the budget. It returns ctx's error, with the best run found so
// far, if ctx is cancelled.
func (m *Minimizer) Minimize(ctx context.Context, orig *Result) (*Minimized, error) {
	m.begin(0.75)
	sig := Signature(orig)
	m.limit(orig)
	all := itemsOf(orig)
	best := &Minimized{Result: orig}
	if all == nil {
		// A result without keys (not made by Run): learn them by
		// replaying it.
		r, err := m.replayKeys(ctx, orig)
		if err != nil {
			return nil, err
		}
		if !m.fails(r, sig) {
			return nil, fmt.Errorf("minimize: the failing run does not replay (%s: %s)", r.Describe(), r.Outcome.Report)
		}
		best.Result, all = r, itemsOf(r)
	}
	fixed, removable := split(all)
	fixedIdx := newSchedule(fixed)
	best.Items, best.Original, best.kept = len(removable), len(removable), all
	var stop error
	test := func(subset []item) bool {
		r, err := m.try(ctx, fixedIdx, subset, nil)
		if err != nil {
			stop = err
			return false
		}
		if !m.fails(r, sig) {
			return false
		}
		got := itemsOf(r)
		if n := countForced(got); n <= best.Items {
			best.Result, best.Items, best.kept = r, n, got
		}
		return true
	}
	ddmin(removable, test, func() bool { return stop != nil || m.exhausted(ctx) })
	best.Runs = m.runs
	best.Exhausted = stop != nil || m.exhausted(ctx)
	if ctx.Err() != nil {
		return best, ctx.Err()
	}
	if stop != nil && stop != errBudget {
		return best, stop
	}
	return best, nil
}

// replayKeys replays orig's decisions to learn where each was made.
func (m *Minimizer) replayKeys(ctx context.Context, orig *Result) (*Result, error) {
	m.runs++
	cfg := m.Config
	cfg.Replay, cfg.Decider = nil, replay.NewFollower(orig.Decisions)
	return Run(ctx, m.Target, cfg)
}

// ddmin is Zeller's delta debugging: it returns a 1-minimal subset of
// items for which test holds (test(items) is assumed to hold), or the
// smallest found when stop says the budget is used up. stop is checked
// before each candidate is built, so the bookkeeping ends with the
// budget too.
func ddmin(items []item, test func([]item) bool, stop func() bool) []item {
	if stop() || test(nil) {
		return nil
	}
	n := 2
	for len(items) >= 2 && !stop() {
		chunk := (len(items) + n - 1) / n
		reduced := false
		// Reduce to a subset...
		for start := 0; start < len(items) && !stop(); start += chunk {
			if c := items[start:min(start+chunk, len(items))]; test(c) {
				items, n, reduced = slices.Clone(c), 2, true
				break
			}
		}
		// ...or to a complement.
		for start := 0; !reduced && n > 2 && start < len(items) && !stop(); start += chunk {
			complement := make([]item, 0, len(items)-chunk)
			complement = append(append(complement, items[:start]...), items[min(start+chunk, len(items)):]...)
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

// RootCause localizes a minimized failure to a critical pair of events.
// It returns nil if no preemption could be moved from failing to passing
// within the budget (what Minimize left of it).
func (m *Minimizer) RootCause(ctx context.Context, min *Minimized) (*Cause, error) {
	m.begin(1)
	sig := Signature(min.Result)
	m.limit(min.Result)
	kept := min.kept
	fixed, _ := split(kept)
	fixedIdx := newSchedule(fixed)
	forcedOf := func(its []item) []item {
		_, forced := split(its)
		return forced
	}
	for i := len(kept) - 1; i >= 0; i-- {
		p := kept[i]
		if !p.forced || p.kind != sched.KindPick || p.choice == sched.IdleOption {
			continue
		}
		failing := min.Result
		var failEvents []pickEvent // nil: not collected for failing
		for d := 1; d <= 32 && !m.exhausted(ctx); d++ {
			moved := slices.Clone(kept)
			moved[i].k.count = p.k.count + int32(d)
			moved[i].j = 0
			var evs []pickEvent
			r, err := m.try(ctx, fixedIdx, forcedOf(moved), &evs)
			if err != nil {
				return nil, budgetErr(err)
			}
			if !applied(r, moved[i]) {
				break // the thread has no such point, or the other cannot run then
			}
			if m.fails(r, sig) {
				failing, failEvents = r, evs
				continue
			}
			if m.Classify.Classify(r) != Pass {
				break // another failure: not a clean swap
			}
			// Preempting X at point k+d-1 fails, at k+d passes: X's
			// event at point k+d-1 and the other thread's event are
			// the pair.
			at := key{p.k.thread, p.k.count + int32(d) - 1}
			if failEvents == nil {
				// The failing run is the minimized one: run it
				// again to see what the chosen thread was about to do.
				var evs []pickEvent
				fr, err := m.try(ctx, fixedIdx, forcedOf(kept), &evs)
				if err != nil {
					return nil, budgetErr(err)
				}
				if m.fails(fr, sig) {
					failing, failEvents = fr, evs
				}
			}
			first := ThreadEvent{Thread: int(at.thread), Point: int(at.count), Name: eventName(failing, at)}
			second := nextEvent(failEvents, at, int(p.choice))
			return &Cause{First: first, Second: second, Failing: failing, Passing: r}, nil
		}
	}
	return nil, budgetErr(ctx.Err())
}

// budgetErr turns running out of budget into "no answer" (nil).
func budgetErr(err error) error {
	if err == errBudget {
		return nil
	}
	return err
}

// applied reports whether run r made the preemption it.
func applied(r *Result, it item) bool {
	for i, dk := range r.keys {
		if dk.k == it.k && r.Decisions[i].Kind == it.kind {
			return r.Decisions[i].Choice == int(it.choice)
		}
	}
	return false
}

// eventName is the name of thread k.thread's point k.count, from the
// decision r made there.
func eventName(r *Result, k key) string {
	for i, dk := range r.keys {
		if dk.k == k {
			if _, name, ok := cutAt(r.Decisions[i].At); ok {
				return name
			}
		}
	}
	return "?"
}

// nextEvent is the other side of the critical pair when thread k.thread
// was preempted at its point k in favour of thread v: the first event
// that ran before k.thread ran again and touches the same object as
// k.thread's event (the same variable, lock, futex word or file: the
// access it races with), or, when no object is known or none matches,
// the pending event of v when it was chosen.
func nextEvent(evs []pickEvent, k key, v int) ThreadEvent {
	at := slices.IndexFunc(evs, func(e pickEvent) bool { return e.k == k && e.choice == v })
	if at < 0 {
		return ThreadEvent{Thread: v, Name: "?"}
	}
	if obj := evs[at].kObj; obj != 0 {
		for _, e := range evs[at:] {
			if e.choice == int(k.thread) {
				break // the preempted thread runs again
			}
			if e.obj == obj {
				return e.ev
			}
		}
	}
	return evs[at].ev
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
