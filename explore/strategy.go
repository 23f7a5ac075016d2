package explore

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/schedfuzz/schedfuzz/sched"
)

// Strategies. Each is a sched.Strategy built for one run from the run's
// seed (and, for PCT, a step bound learned from earlier runs); each is
// deterministic given them. Their choices are recorded by the run, so a
// replay never re-derives them.
//
//   - random: a uniform random walk over the runnable threads.
//   - pct[:D]: PCT (Burckhardt et al., ASPLOS 2010): random thread
//     priorities, D-1 priority change points among the run's k decisions
//     (D=3 by default); finds a bug of depth D with probability at least
//     1/(n·k^(D-1)) per run. Decisions are made only where two or more
//     threads can run, so no change point is wasted on a forced step.
//   - pos: POS (Yuan et al., CAV 2018): a random priority per pending
//     event; after an event runs, the events that conflict with it (same
//     futex, fd, path, lock or variable) draw new priorities.
//   - chaos: rr's chaos mode on virtual time: random thread priorities and
//     time slices, starvation intervals (a thread may not run for 1 ms..2 s
//     of virtual time even if nothing else can) and timers that fire early
//     relative to the other threads' progress.
//
// Yields. A pick at a point where the running thread gave up the CPU
// (sched.Request.Yield: a sched_yield, or the watchdog's preemption of a
// spin loop) is a priority drop, as CHESS and Fray treat yields, once the
// thread yields a second time with no other thread having run in
// between (a spin-wait; a single yield, as runtimes make before they
// sleep on a futex, is a point like any other): every strategy then
// picks another thread if one can run. PCT and POS give the yielder a
// priority below every other (the latest yielder lowest), the random walk
// and chaos choose among the others. A spin-wait then lets the thread it
// waits for run within two of its yields, so no strategy livelocks a
// correct program that spins with sched_yield or without any syscall.
//
// PCT's top thread is also preempted as if it yielded after pctSlice
// decisions in a row while another thread could run (a time slice): a
// loop that polls the clock yields nowhere.
//
// Chaos's starvation intervals are bounded by the progress of the
// others: a starved thread becomes eligible again as soon as every thread
// that may run is at a yield (they are all waiting, likely for it), and
// at the latest after a number of scheduling points that grows with the
// interval's length (1000 + 1 per 100µs), so a spin-wait on a starved
// thread ends.
//
// A KindWake decision (which futex waiter wakes) is uniform for every
// strategy; a KindFault decision (Config.Faults) injects a fault with
// probability 1/8.

// Spec names a strategy and its parameter.
type Spec struct {
	Name  string // random, pct, pos, chaos
	Depth int    // pct: the bug depth D
}

// DefaultPortfolio is what runs rotate among when no -strategy is given.
var defaultPortfolio = []Spec{{Name: "random"}, {Name: "pct", Depth: 3}, {Name: "pos"}, {Name: "chaos"}}

// DefaultPortfolio returns the strategies runs rotate among by default.
func DefaultPortfolio() []Spec { return append([]Spec(nil), defaultPortfolio...) }

// ParseSpec parses "random", "pct", "pct:D", "pos" or "chaos".
func ParseSpec(s string) (Spec, error) {
	name, arg, hasArg := strings.Cut(s, ":")
	switch name {
	case "random", "pos", "chaos":
		if hasArg {
			return Spec{}, fmt.Errorf("strategy %s takes no parameter", name)
		}
		return Spec{Name: name}, nil
	case "pct":
		sp := Spec{Name: "pct", Depth: 3}
		if hasArg {
			d, err := strconv.Atoi(arg)
			if err != nil || d < 1 || d > 20 {
				return Spec{}, fmt.Errorf("pct depth %q: want an integer in 1..20", arg)
			}
			sp.Depth = d
		}
		return sp, nil
	}
	return Spec{}, fmt.Errorf("unknown strategy %q (want random, pct[:D], pos or chaos)", s)
}

// ParsePortfolio parses a -strategy value: one spec, a comma-separated
// list to rotate among, or "portfolio" (or "") for the default rotation.
func ParsePortfolio(s string) ([]Spec, error) {
	if s == "" || s == "portfolio" {
		return DefaultPortfolio(), nil
	}
	var out []Spec
	for _, part := range strings.Split(s, ",") {
		sp, err := ParseSpec(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

func (sp Spec) String() string {
	if sp.Name == "pct" {
		return "pct:" + strconv.Itoa(sp.Depth)
	}
	return sp.Name
}

// idle reports whether the strategy uses sched.IdleOption (the scheduler
// must then offer it: sched.Config.IdleChoice).
func (sp Spec) idle() bool { return sp.Name == "chaos" }

// Hint is what a strategy may learn from earlier runs of a session.
type Hint struct {
	// Steps is the number of pick decisions expected in a run (PCT's k);
	// 0 means unknown.
	Steps int
	// Shared are the memory sites earlier runs saw two threads access
	// (-points memory samples them first), sorted.
	Shared []sched.SiteRef
}

// New returns the strategy for one run.
func (sp Spec) New(seed uint64, h Hint) sched.Strategy {
	rng := rand.New(rand.NewPCG(seed, 0x5ced_f022))
	var pick sched.Strategy
	switch sp.Name {
	case "pct":
		pick = newPCT(rng, sp.Depth, h.Steps)
	case "pos":
		pick = &pos{rng: rng, prio: map[int]float64{}, last: -1}
	case "chaos":
		pick = newChaos(rng)
	default:
		pick = &random{rng: rng}
	}
	return &withFaults{pick: pick, rng: rand.New(rand.NewPCG(seed, 0xfa_017)), spinner: -1}
}

// withFaults routes wake and fault decisions away from the pick policy,
// and tells it which yields are spin-waits.
type withFaults struct {
	pick sched.Strategy
	rng  *rand.Rand
	// spinner is the thread that was picked again at its yield, while
	// no other thread has run since (-1: none).
	spinner int
}

func (w *withFaults) Choose(r *sched.Request) int {
	switch r.Kind {
	case sched.KindFault:
		if len(r.Options) < 2 || w.rng.IntN(8) != 0 {
			return r.Options[0] // FaultNone
		}
		return r.Options[1+w.rng.IntN(len(r.Options)-1)]
	case sched.KindWake:
		return r.Options[w.rng.IntN(len(r.Options))]
	}
	var c int
	if r.Yield && w.spinner != r.Thread {
		// A first yield is a point like any other (a runtime yields
		// once before it sleeps on a futex): the pick policy sees no
		// yield. Only a thread that yields again with no other thread
		// having run in between is spinning: that yield is a drop.
		q := *r
		q.Yield = false
		c = w.pick.Choose(&q)
	} else {
		c = w.pick.Choose(r)
	}
	switch {
	case r.Yield && c == r.Thread:
		w.spinner = c
	case c != w.spinner:
		w.spinner = -1
	}
	return c
}

// threads returns the options that are threads (not sched.IdleOption).
func threads(opts []int) []int {
	if len(opts) > 0 && opts[0] == sched.IdleOption {
		return opts[1:]
	}
	return opts
}

// yielder returns the index in ts (sorted thread options) of the thread
// that yields at r, if another thread could run instead; else -1.
func yielder(r *sched.Request, ts []int) int {
	if !r.Yield || len(ts) < 2 {
		return -1
	}
	if i, ok := slices.BinarySearch(ts, r.Thread); ok {
		return i
	}
	return -1
}

type random struct{ rng *rand.Rand }

func (s *random) Choose(r *sched.Request) int {
	ts := threads(r.Options)
	if y := yielder(r, ts); y >= 0 {
		i := s.rng.IntN(len(ts) - 1)
		if i >= y {
			i++ // any thread but the yielder
		}
		return ts[i]
	}
	return ts[s.rng.IntN(len(ts))]
}

// pct is PCT with d-1 change points among k decisions.
type pct struct {
	rng     *rand.Rand
	prio    map[int]float64 // by vtid; initial priorities in (d, d+1)
	changes []int           // decision numbers (1-based) of the change points
	n       int             // decisions so far
	last    int             // the thread picked last
	streak  int             // decisions in a row it was picked while another could run
	d       int
	low     float64 // the priority of the latest yield (0, -1, ...)
}

// pctSlice is how many decisions in a row PCT lets its top thread take
// while another thread could run before it treats it as yielding: a time
// slice (about 4 ms of virtual time at 1 µs a point). A thread that polls
// the clock in a loop makes a syscall point each time, none of them a
// yield: without a slice it would keep the CPU from the thread it waits
// for until -max-steps (a Go test binary's runtime did).
const pctSlice = 4096

func newPCT(rng *rand.Rand, d, k int) *pct {
	if k <= 0 {
		k = 64
	}
	p := &pct{rng: rng, prio: map[int]float64{}, last: -1, d: d, low: 1}
	for i := 0; i < d-1; i++ {
		p.changes = append(p.changes, 1+rng.IntN(k))
	}
	return p
}

func (p *pct) priority(vtid int) float64 {
	v, ok := p.prio[vtid]
	if !ok {
		v = float64(p.d) + p.rng.Float64() // above every lowered priority
		p.prio[vtid] = v
	}
	return v
}

func (p *pct) Choose(r *sched.Request) int {
	p.n++
	for i, c := range p.changes {
		if c == p.n && p.last >= 0 {
			// Change point i+1: the thread that was running drops to
			// priority i+1, below every initial priority.
			p.prio[p.last] = float64(i + 1)
		}
	}
	ts := threads(r.Options)
	if yielder(r, ts) >= 0 {
		// A yield: below every priority, change points' included.
		p.low--
		p.prio[r.Thread] = p.low
	}
	best := p.top(ts)
	if len(ts) > 1 && best == p.last {
		if p.streak++; p.streak >= pctSlice {
			p.low--
			p.prio[best] = p.low
			best = p.top(ts)
		}
	}
	if best != p.last {
		p.streak = 0
	}
	p.last = best
	return best
}

// top returns the thread of ts with the highest priority.
func (p *pct) top(ts []int) int {
	best, bestP := -1, math.Inf(-1)
	for _, v := range ts {
		if pr := p.priority(v); pr > bestP {
			best, bestP = v, pr
		}
	}
	return best
}

// pos is POS: priorities per pending event, re-drawn on conflicts.
type pos struct {
	rng  *rand.Rand
	prio map[int]float64 // by vtid: the priority of its pending event
	last int             // the thread picked last (its event has run)
	ran  sched.Event     // the event it ran
	low  float64         // the priority of the latest yield (-1, -2, ...)
}

func (p *pos) Choose(r *sched.Request) int {
	if p.last >= 0 {
		delete(p.prio, p.last) // it is at a new event now
	}
	ts := threads(r.Options)
	if yielder(r, ts) >= 0 {
		// A yield: below every drawn priority, until it runs.
		p.low--
		p.prio[r.Thread] = p.low
	}
	best, bestP := -1, math.Inf(-1)
	for _, v := range ts {
		pr, ok := p.prio[v]
		if ok && pr >= 0 && p.last >= 0 && p.ran.Obj != 0 {
			if e := r.Event(v); e.Obj == p.ran.Obj {
				ok = false // conflicts with the event that just ran
			}
		}
		if !ok {
			pr = p.rng.Float64()
			p.prio[v] = pr
		}
		if pr > bestP {
			best, bestP = v, pr
		}
	}
	p.last = best
	p.ran = r.Event(best)
	return best
}

// chaos is rr's chaos mode, in virtual time.
type chaos struct {
	rng      *rand.Rand
	high     map[int]bool       // by vtid: high or low priority
	starving map[int]starvation // by vtid
	cur      int                // the thread of the current time slice
	slice    int                // decisions left in it
	ok       []int              // scratch
}

// starvation is an interval in which a thread is not picked: until the
// virtual time end, or the run's step limit, whichever comes first.
type starvation struct {
	end   int64
	steps int
}

func newChaos(rng *rand.Rand) *chaos {
	return &chaos{rng: rng, high: map[int]bool{}, starving: map[int]starvation{}, cur: -1}
}

func (c *chaos) Choose(r *sched.Request) int {
	idle := len(r.Options) > 0 && r.Options[0] == sched.IdleOption
	ts := threads(r.Options)
	// Start a starvation interval now and then: 1 ms..2 s of virtual
	// time, log-uniform, and at most 1000 + d/100µs scheduling points.
	if c.rng.IntN(32) == 0 {
		v := ts[c.rng.IntN(len(ts))]
		d := math.Exp(math.Log(1e6) + c.rng.Float64()*(math.Log(2e9)-math.Log(1e6)))
		c.starving[v] = starvation{end: r.Now + int64(d), steps: r.Step + 1000 + int(d/1e5)}
	}
	ok := c.eligible(r, ts)
	if len(ok) == 0 {
		if idle {
			return sched.IdleOption // let time pass rather than run a starved thread
		}
		ok = ts // nothing else can run and no timer can help
	}
	// A timer fires early relative to the others' progress.
	if idle && c.rng.IntN(8) == 0 {
		return sched.IdleOption
	}
	if y := yielder(r, ok); y >= 0 {
		// A yield ends the yielder's time slice; another thread runs.
		ok = append(ok[:y:y], ok[y+1:]...)
		if c.cur == r.Thread {
			c.slice = 0
		}
	}
	if c.slice > 0 {
		for _, v := range ok {
			if v == c.cur {
				c.slice--
				return v
			}
		}
	}
	var hi []int
	for _, v := range ok {
		h, seen := c.high[v]
		if !seen {
			h = c.rng.IntN(2) == 0
			c.high[v] = h
		}
		if h {
			hi = append(hi, v)
		}
	}
	if len(hi) == 0 {
		hi = ok
	}
	c.cur = hi[c.rng.IntN(len(hi))]
	c.slice = c.rng.IntN(16)
	return c.cur
}

// eligible returns the threads of ts that are not starved. Starvation
// is bounded by the others' progress: it ends when its virtual time or
// its steps are used up, and for every starved thread as soon as all the
// eligible threads are at a yield (spinning or yielding, likely waiting
// for a starved one).
func (c *chaos) eligible(r *sched.Request, ts []int) []int {
	ok := c.ok[:0]
	starved := false
	for _, v := range ts {
		if st, s := c.starving[v]; s {
			if st.end > r.Now && st.steps > r.Step {
				starved = true
				continue
			}
			delete(c.starving, v)
		}
		ok = append(ok, v)
	}
	c.ok = ok
	if !starved || len(ok) == 0 {
		return ok
	}
	for _, v := range ok {
		if !(v == r.Thread && r.Yield) && !r.Event(v).Yields() {
			return ok // someone can make progress
		}
	}
	for _, v := range ts {
		delete(c.starving, v)
	}
	c.ok = append(c.ok[:0], ts...)
	return c.ok
}
