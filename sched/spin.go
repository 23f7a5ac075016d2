package sched

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
)

// Spin sites: deterministic preemption of threads that run without
// reaching a scheduling point.
//
// The watchdog notices a thread that used a quantum of CPU time without a
// point (a spin-wait, a long computation). Where and at which iteration it
// notices depends on timing, so a preemption there would make the run
// depend on the machine's load. Instead the watchdog's catch only
// discovers a spin site, and preemptions happen at counted hits of it:
//
//   - Canonical site. The caught thread is single-stepped (at most
//     maxCanonSteps instructions) until an address repeats; the site is
//     the lowest address of that cycle, the head of the innermost loop
//     the thread was in, wherever in the loop it was caught. It is kept
//     as (file, link-time address), like a function point.
//   - Re-run. A run that discovers a new site ends (Outcome.Kind Rerun,
//     Outcome.Spins the sites known so far) and explore runs it again
//     from the start with the sites planted from the beginning (at most
//     maxSpinSites per run). The run that is kept and saved never depended
//     on when the watchdog fired; the seed file records the sites and a
//     replay plants them.
//   - Counted preemptions. A site is an int3 like a function point, but
//     not every hit is a point: a thread's hits of a site are counted from
//     its release, and the 2^k-th hit is a point ("spin"), where k is the
//     number of spin points the thread made at that site since its last
//     other point. After maxSpinStreak such points in a row, or
//     maxSpinTotal at one site in the run, the thread runs on at that site
//     without stopping (its breakpoints are lifted while it runs) and is
//     spinning: it is picked only when no other thread can run, and the
//     watchdog leaves it alone until its next other point. A spin-wait
//     thus yields at growing intervals while others can make progress,
//     and a long computation costs at most 2^maxSpinStreak stops.
//
// A site that cannot be found (no cycle within maxCanonSteps, code outside
// any ELF file, such as a JIT's) or more than maxSpinSites, or a catch in
// a replay or a guided run (which cannot restart), falls back to a
// timing-based preemption where the thread was caught, noted in
// Outcome.Nondeterministic. A loop that runs for about one quantum may be
// discovered in one run and not in another: only loops well past it are
// discovered reliably.

// SpinSite is a loop head where a thread was found spinning: the
// instruction at link-time address Vaddr of the ELF file Path (as
// /proc/PID/maps names it).
type SpinSite struct {
	Path  string
	Vaddr uint64
}

func (s SpinSite) String() string { return fmt.Sprintf("%s:%#x", s.Path, s.Vaddr) }

// Limits of spin sites.
const (
	maxCanonSteps = 1 << 14
	maxSpinSites  = 8
	maxSpinStreak = 8
	maxSpinTotal  = 64
)

// spinState is a thread's progress at the spin sites, by site index.
type spinState struct {
	hits     []int // hits since the thread's release
	streak   []int // spin points since its last other point
	total    []int // spin points in the run
	spinning bool  // it ran out of spin points: picked last, never preempted
}

func (g *gthread) spinAt(n int) *spinState {
	if g.spin == nil {
		g.spin = &spinState{}
	}
	st := g.spin
	for len(st.hits) < n {
		st.hits, st.streak, st.total = append(st.hits, 0), append(st.streak, 0), append(st.total, 0)
	}
	return st
}

// armed reports whether site k stops g.
func (st *spinState) armed(k int) bool {
	if st == nil || k >= len(st.hits) {
		return true
	}
	return !st.spinning && st.streak[k] < maxSpinStreak && st.total[k] < maxSpinTotal
}

// spinReset is called at every point of g other than a spin point.
func (g *gthread) spinReset() {
	if st := g.spin; st != nil {
		clear(st.streak)
		st.spinning = false
	}
}

// plantSpins records the spin sites of an image newly mapped in p and
// plants them.
func (s *Scheduler) plantSpins(p *intercept.Process, pp *pointProc, im *symbols.Image) {
	for k, site := range s.cfg.Spins {
		if site.Path != im.Path {
			continue
		}
		addr := im.Addr(site.Vaddr)
		if !im.Contains(addr) {
			continue
		}
		if _, ok := pp.names[addr]; ok {
			continue // a function point stops there anyway
		}
		if _, ok := pp.tsc[addr]; ok {
			s.needTSCTrap(fmt.Sprintf("spin site %v is an rdtsc", site))
			continue
		}
		if err := p.SetBreakpoint(addr); err != nil {
			s.pts.warn(fmt.Sprintf("spin site %v: %v", site, err))
			continue
		}
		if pp.spins == nil {
			pp.spins = map[uint64]int{}
			pp.spinOn = map[uint64]bool{}
		}
		pp.spins[addr] = k
		pp.spinOn[addr] = true
	}
}

// armSpins plants or lifts the spin sites of g's process as g, about to
// run, needs them: planted where g still makes spin points.
func (s *Scheduler) armSpins(g *gthread) {
	if s.pts == nil || len(s.cfg.Spins) == 0 {
		return
	}
	pp := s.pts.procs[g.pid]
	if pp == nil || len(pp.spins) == 0 {
		return
	}
	if g.spin != nil {
		clear(g.spin.hits)
	}
	p := g.t.Proc
	for addr, k := range pp.spins {
		want := g.spin.armed(k)
		if pp.spinOn[addr] == want {
			continue
		}
		var err error
		if want {
			err = p.SetBreakpoint(addr)
		} else {
			err = p.ClearBreakpoint(addr)
		}
		if err == nil {
			pp.spinOn[addr] = want
		}
	}
}

// spinHit handles a hit of spin site k by g: a spin point at the 2^streak-th
// hit since g's release, else nothing.
func (s *Scheduler) spinHit(g *gthread, k int) intercept.Action {
	if g != s.running {
		return s.stray(g)
	}
	st := g.spinAt(len(s.cfg.Spins))
	st.hits[k]++
	if !st.armed(k) || st.hits[k] < 1<<st.streak[k] {
		return intercept.Continue()
	}
	st.streak[k]++
	st.total[k]++
	quiet := releasedInUserCode(g.pk)
	s.setPoint(g, PointSpin, "spin", 0)
	st.spinning = !st.armed(k)
	s.from, s.waker = g, g
	s.quiet = quiet
	s.yield(g)
	return intercept.Hold()
}

// CPUTick implements intercept.Tool: the running thread is caught at its
// first CPU tick after it used a quantum of CPU time since its release
// (see watchdog).
func (s *Scheduler) CPUTick(t *intercept.Thread) {
	g := s.g(t)
	if g == nil || g != s.running || s.ended {
		return
	}
	if used, ok := s.dog.used(); ok && used >= s.cfg.Preempt {
		s.caught(g)
	}
}

// caught handles the watchdog's catch of the running thread g (stopped
// at a CPU tick or by the timer's SIGSTOP): g is left alone if it is
// spinning at a known site, else its spin site is found and the run re-run
// with it, or, where that cannot be done, g is preempted where it is.
func (s *Scheduler) caught(g *gthread) {
	if g.spin != nil && g.spin.spinning {
		return
	}
	if s.inLoader(g) {
		// The dynamic loader computes (relocations, symbol lookups)
		// but never waits for another thread: a catch there only
		// says the machine was slow, and a site there would make the
		// run depend on it. The next tick looks again.
		return
	}
	s.dog.handling(true)
	site, err := s.spinSite(g)
	if errors.Is(err, intercept.ErrStepStopped) {
		// Another stop came first (a signal for the guest, a point, its
		// death), handled as usual once this callback returns. If g
		// runs on without a point, its next CPU tick (or the timer)
		// catches it again: a catch is never lost.
		s.dog.handling(false)
		return
	}
	known := err == nil && slices.Contains(s.cfg.Spins, site)
	if err == nil && !known && s.cfg.SpinRerun && len(s.cfg.Spins) < maxSpinSites {
		s.out.Spins = append(slices.Clone(s.cfg.Spins), site)
		s.end(Rerun, fmt.Sprintf("thread %d spins at %v: run again with it as a spin site", g.vtid, site))
		return
	}
	why := "timing-based preemption (a thread ran without a scheduling point for over " + s.cfg.Preempt.String()
	switch {
	case err != nil:
		why += ": " + err.Error() + ")"
	case known:
		why += " past its spin points)"
	default:
		why += ")"
	}
	s.note(why)
	if known {
		g.spinAt(len(s.cfg.Spins)).spinning = true
	}
	quiet := releasedInUserCode(g.pk)
	s.setPoint(g, PointPreempt, "preempt", 0)
	s.quiet = quiet
	s.yield(g)
}

// spinSite single-steps g to the head of the loop it runs (loopHead) and
// names it as a site.
func (s *Scheduler) spinSite(g *gthread) (SpinSite, error) {
	regs, err := g.t.Regs()
	if err != nil {
		return SpinSite{}, err
	}
	step := g.t.Step
	if s.stepHook != nil {
		step = func() (uint64, error) {
			s.stepHook(g)
			return g.t.Step()
		}
	}
	head, err := loopHead(regs.Rip, step)
	if errors.Is(err, intercept.ErrAtBreakpoint) {
		return SpinSite{}, errors.New("the loop holds a breakpoint")
	}
	if err != nil {
		return SpinSite{}, err
	}
	return s.siteOf(g, head)
}

// loopHead finds the head of the innermost loop a thread runs, from rip
// start, where it was caught; step executes one instruction of the thread
// and returns the next rip. It steps until an address r repeats: the
// addresses from r back to r are a turn of the loop, and its lowest
// address is the head (where the loop's back edge jumps, wherever in the
// loop the thread was caught). The head counts only if the next two turns
// (from r back to r) have the same lowest address: a turn that is not
// whole (a step that ran no instruction or two, a first turn taken on the
// way into the loop) shows as a difference, and the search starts again
// from where the thread is. A loop whose turns differ (branches inside)
// still has one lowest address, its head, if its blocks follow the head
// as compilers lay them out. At most maxCanonSteps steps.
func loopHead(start uint64, step func() (uint64, error)) (uint64, error) {
	n, at := 0, start // at: where the thread is
	next := func() (uint64, error) {
		if n++; n > maxCanonSteps {
			return 0, fmt.Errorf("no loop within %d instructions", maxCanonSteps)
		}
		rip, err := step()
		at = rip
		return rip, err
	}
	for {
		seen := map[uint64]int{at: 0}
		trail := []uint64{at}
		for {
			rip, err := next()
			if err != nil {
				return 0, err
			}
			if i, ok := seen[rip]; ok {
				trail = trail[i:]
				break
			}
			seen[rip] = len(trail)
			trail = append(trail, rip)
		}
		head, r := slices.Min(trail), at
		same := true
		for range 2 {
			low, whole, err := turn(r, next, 4*len(trail)+64)
			if err != nil {
				return 0, err
			}
			if !whole || low != head {
				same = false
				break
			}
		}
		if same {
			return head, nil
		}
		// Not a loop yet, or not one turn: look again from here.
	}
}

// turn steps from r until r comes back (at most limit steps: whole is
// false past them) and returns the lowest address on the way.
func turn(r uint64, next func() (uint64, error), limit int) (low uint64, whole bool, err error) {
	low = r
	for range limit {
		rip, err := next()
		if err != nil {
			return 0, false, err
		}
		if rip == r {
			return low, true, nil
		}
		low = min(low, rip)
	}
	return low, false, nil
}

// siteOf names address addr of g's process by its file.
func (s *Scheduler) siteOf(g *gthread, addr uint64) (SpinSite, error) {
	var im *symbols.Image
	if s.pts != nil && s.pts.procs[g.pid] != nil {
		im = s.pts.procs[g.pid].objs.ImageAt(addr)
	} else {
		objs := symbols.NewObjects(s.symbols(), g.pid)
		if _, err := objs.Refresh(); err == nil {
			im = objs.ImageAt(addr)
		}
	}
	if im == nil {
		return SpinSite{}, fmt.Errorf("the loop at %#x is in no ELF file", addr)
	}
	return SpinSite{Path: im.Path, Vaddr: im.Vaddr(addr)}, nil
}

// inLoader reports whether g was caught in the dynamic loader.
func (s *Scheduler) inLoader(g *gthread) bool {
	regs, err := g.t.Regs()
	if err != nil {
		return false
	}
	site, err := s.siteOf(g, regs.Rip)
	if err != nil {
		return false
	}
	base := filepath.Base(site.Path)
	return strings.HasPrefix(base, "ld-linux") || strings.HasPrefix(base, "ld-musl") || base == "ld.so"
}

// symbols is the run's ELF cache.
func (s *Scheduler) symbols() *symbols.Cache {
	if s.cfg.Symbols == nil {
		s.cfg.Symbols = symbols.NewCache(nil)
	}
	return s.cfg.Symbols
}

// spinOptions leaves out of runnable the spinning threads when another
// thread can run.
func (s *Scheduler) spinOptions(runnable []int) []int {
	n := 0
	for _, v := range runnable {
		if st := s.threads[v].spin; st == nil || !st.spinning {
			n++
		}
	}
	if n == 0 || n == len(runnable) {
		return runnable
	}
	out := runnable[:0]
	for _, v := range runnable {
		if st := s.threads[v].spin; st == nil || !st.spinning {
			out = append(out, v)
		}
	}
	return out
}

// onlySpinning reports whether every runnable thread is spinning.
func (s *Scheduler) onlySpinning(runnable []int) bool {
	for _, v := range runnable {
		if st := s.threads[v].spin; st == nil || !st.spinning {
			return false
		}
	}
	return true
}
