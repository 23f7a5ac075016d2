package sched

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/sched/points/memsites"
)

// Memory-level points (-points memory): DataCollider's sampling made a
// deterministic part of the schedule.
//
// Sites are the instructions package memsites finds in the program's own
// code (and in the libraries named in MemoryConfig.Libraries). When an
// image is mapped, the run samples MemoryConfig.Sample of its sites from
// its seed, preferring sites earlier runs saw shared (MemoryConfig.Shared:
// up to half the sample), and plants an int3 at each, or plants exactly
// MemoryConfig.Plant (a replay). A hit is a point before the access, like
// a function point: the thread is held and the strategy picks who runs
// next; its name is the site's source line, counted per thread
// ("t1:mem@lf_stack.c:42#3"), and its Event.Obj the address the
// instruction is about to access, computed from the registers and the
// decoded operand, so POS sees two accesses to one address conflict. A
// site's breakpoint is removed after 128 hits in a run (a hot loop
// would make every iteration a point; MemoryConfig.HitCap).
//
// Watching (DataCollider's trick): on a thread's first hit of a memory
// point (a source line: a hot loop does not re-arm at every turn), if one
// of the MemoryConfig.Watch debug registers is free, a watchpoint is
// armed on the address the instruction is about to access (a read
// watches for writes, a write for any access) for memWatchSpan
// scheduling points. Another thread's
// conflicting access then traps right after it: a point for that thread
// ("t2:watch:mem@lf_stack.c:42#1"), where the strategy can run the first
// thread's access before the second thread goes on. The owner's own
// accesses are not points (its first is the access it was stopped
// before; at its second the watch is dropped); another thread's hit of a
// site at the watched address leaves the watch to its owner. Watches are
// dropped when their span has passed, checked at the next memory event.
//
// Sharing: a site whose address a watch saw another thread access, or
// whose address two threads' hits touched with at least one write, is
// reported in Outcome.SharedSites; package explore feeds those back to
// later runs. Every choice here (the sample, when to arm, expiry) depends
// only on the seed, the configuration and the order of events, which the
// schedule fixes: a replay with the recorded sites repeats it.

// DefaultMemoryHitCap is MemoryConfig.HitCap's default.
const DefaultMemoryHitCap = 128

const (
	// memWatchSpan is how many scheduling points a watch stays armed.
	memWatchSpan = 32
	// memWatchTrips is how many other-thread accesses a watch reports
	// before it is dropped.
	memWatchTrips = 4
)

// MemoryConfig configures memory-level points (Config.Memory, with
// Config.Points == points.Memory).
type MemoryConfig struct {
	// Sites caches site tables across runs (nil: one cache per run,
	// without a disk cache).
	Sites *memsites.Cache
	// Sample is how many sites of each scanned image a run plants
	// (0: DefaultMemorySample).
	Sample int
	// Libraries are the shared objects scanned too, by file name or a
	// prefix of it ("libfoo.so.1", "libfoo"): all their code.
	Libraries []string
	// Shared are sites earlier runs saw shared: sampled first.
	Shared []SiteRef
	// Plant, if not nil, replaces sampling: the runtime addresses of the
	// sites a recorded run planted, by address, with the point name each
	// had (a replay plants exactly these).
	Plant map[uint64]string
	// Watch is how many debug registers hits may arm watchpoints in
	// (0..4; what -watch variables leave).
	Watch int
	// HitCap is how many hits of one site a run makes points of
	// (0: DefaultMemoryHitCap).
	HitCap int
}

// DefaultMemorySample is MemoryConfig.Sample's default.
const DefaultMemorySample = 16

// IsMemoryPoint reports whether a planted point's name (Outcome.Points)
// is a memory site's: "mem@file.c:42", "mem@func+0x1a".
func IsMemoryPoint(name string) bool { return strings.HasPrefix(name, "mem@") }

// SiteRef names a site independently of where its object is loaded: the
// object's site-table key (its build ID and scope, else its path) and the
// site's link-time address.
type SiteRef struct {
	Object string
	Vaddr  uint64
}

func (r SiteRef) String() string { return fmt.Sprintf("%s+%#x", r.Object, r.Vaddr) }

func compareSiteRefs(a, b SiteRef) int {
	if c := cmp.Compare(a.Object, b.Object); c != 0 {
		return c
	}
	return cmp.Compare(a.Vaddr, b.Vaddr)
}

// memState is a run's memory points.
type memState struct {
	cfg    MemoryConfig
	seed   uint64
	shared map[SiteRef]bool // learned: sample first
	plant  map[uint64]string
	// seen are the sites found shared in this run (Outcome.SharedSites).
	seen map[SiteRef]bool
	// touched: the first access of each address by a hit, per process.
	touched map[memAddr]memTouch
}

// memProc is one process's memory points (pointProc.mem).
type memProc struct {
	sites   map[uint64]*memSite // by runtime address
	watches map[int]*memWatch   // by debug-register slot
}

// memSite is a planted site.
type memSite struct {
	site *memsites.Site
	name string
	ref  SiteRef
	bias uint64
	hits int // in this run, all threads
}

// memWatch is an armed watch.
type memWatch struct {
	site       *memSite
	addr       uint64 // the access's address (Event.Obj)
	kind       intercept.WatchKind
	owner      int // vtid
	armed      int // s.out.Steps when armed
	ownerTrips int
	trips      int
}

type memAddr struct {
	pid  int
	addr uint64
}

type memTouch struct {
	vtid  int
	ref   SiteRef
	write bool
}

func newMemState(cfg MemoryConfig, seed uint64) *memState {
	if cfg.Sites == nil {
		cfg.Sites = memsites.NewCache("")
	}
	if cfg.Sample <= 0 {
		cfg.Sample = DefaultMemorySample
	}
	if cfg.HitCap <= 0 {
		cfg.HitCap = DefaultMemoryHitCap
	}
	m := &memState{cfg: cfg, seed: seed, shared: map[SiteRef]bool{}, plant: cfg.Plant,
		seen: map[SiteRef]bool{}, touched: map[memAddr]memTouch{}}
	for _, r := range cfg.Shared {
		m.shared[r] = true
	}
	return m
}

func newMemProc() *memProc {
	return &memProc{sites: map[uint64]*memSite{}, watches: map[int]*memWatch{}}
}

// memImages samples and plants the sites of newly mapped images, and
// forgets those of unmapped ones. Called from refreshImages after the
// function points are planted (an address with one keeps it).
func (s *Scheduler) memImages(p *intercept.Process, pp *pointProc, ch symbols.Changes) {
	m := s.mem
	if m == nil {
		return
	}
	if pp.mem == nil {
		pp.mem = newMemProc()
	}
	for _, im := range ch.Removed {
		for a := range pp.mem.sites {
			if im.Contains(a) {
				p.ClearBreakpoint(a) // unmapped: only forget it
				delete(pp.mem.sites, a)
			}
		}
	}
	for _, im := range ch.Added {
		scope, ok := m.scope(pp, im)
		if !ok {
			continue
		}
		tab, err := m.cfg.Sites.Table(im.Object.Path, scope)
		if err != nil {
			s.pts.warn(fmt.Sprintf("memory points: %s: %v; running without its sites", filepath.Base(im.Path), err))
			continue
		}
		if s.plantSites(p, pp, im, tab) != nil {
			return
		}
	}
}

// scope says whether an image's sites are candidates and in which scope:
// the program (its own code), a library named in Libraries (all of it),
// or, in a replay, any image holding a recorded address.
func (m *memState) scope(pp *pointProc, im *symbols.Image) (memsites.Scope, bool) {
	lib := pp.library(im)
	if m.plant != nil {
		for a := range m.plant {
			if im.Contains(a) {
				if lib {
					return memsites.ScopeAll, true
				}
				return memsites.ScopeProgram, true
			}
		}
		return memsites.ScopeProgram, false
	}
	if !lib {
		return memsites.ScopeProgram, true
	}
	base := filepath.Base(im.Path)
	for _, l := range m.cfg.Libraries {
		if base == l || strings.HasPrefix(base, l) {
			return memsites.ScopeAll, true
		}
	}
	return memsites.ScopeAll, false
}

// plantSites plants an image's sample (or its recorded sites), after the
// image's function points and spin sites (refreshImages). A
// recorded site that is not a site of the image now ends the run as a
// divergence (the non-nil error).
func (s *Scheduler) plantSites(p *intercept.Process, pp *pointProc, im *symbols.Image, tab *memsites.Table) error {
	m := s.mem
	obj := tab.Key
	if obj == "" {
		obj = "path:" + im.Object.Path
	}
	var chosen []*memsites.Site
	if m.plant != nil {
		for _, a := range sortedKeys(m.plant) {
			if !im.Contains(a) {
				continue
			}
			st, ok := tab.Lookup(im.Vaddr(a))
			if !ok || tab.Name(st) != m.plant[a] {
				now := "no memory access there"
				if ok {
					now = tab.Name(st)
				}
				err := fmt.Errorf("replay diverged before the first decision: the recorded memory point %s at %#x in %s is %s now (the binary was rebuilt and its sites moved)",
					m.plant[a], a, filepath.Base(im.Path), now)
				s.end(Diverged, err.Error())
				return err
			}
			chosen = append(chosen, st)
		}
	} else {
		chosen = m.sample(tab, obj, func(st *memsites.Site) bool { return !pp.taken(im.Addr(st.Vaddr)) })
	}
	for _, st := range chosen {
		a := im.Addr(st.Vaddr)
		if pp.taken(a) {
			continue // a function point or a spin site is already there
		}
		name := tab.Name(st)
		if err := p.SetBreakpoint(a); err != nil {
			s.pts.warn(fmt.Sprintf("memory points: %s at %#x in %s: %v", name, a, filepath.Base(im.Path), err))
			continue
		}
		pp.mem.sites[a] = &memSite{site: st, name: name, ref: SiteRef{obj, st.Vaddr}, bias: im.Bias}
		if !slices.Contains(s.pts.planted[name], a) {
			s.pts.planted[name] = append(s.pts.planted[name], a)
		}
	}
	return nil
}

// taken reports whether a function point or a spin site has the
// breakpoint at addr: a memory site there would change when it stops (a
// spin site is a point only at some hits, and lifted while its thread
// spins), so it is left out.
func (pp *pointProc) taken(addr uint64) bool {
	_, fn := pp.names[addr]
	_, spin := pp.spins[addr]
	return fn || spin
}

// sample picks up to Sample sites of a table that free accepts: first,
// in seeded order, up to half the sample among the sites earlier runs saw
// shared, then the rest uniformly among all.
func (m *memState) sample(tab *memsites.Table, obj string, free func(*memsites.Site) bool) []*memsites.Site {
	h := fnv.New64a()
	h.Write([]byte(obj))
	rng := rand.New(rand.NewPCG(m.seed, h.Sum64()^0x6d656d5f73697465))
	var out []*memsites.Site
	taken := map[int]bool{}
	var shared []int
	for i := range tab.Sites {
		if m.shared[SiteRef{obj, tab.Sites[i].Vaddr}] {
			shared = append(shared, i)
		}
	}
	pick := func(idx []int, limit int) {
		for _, j := range rng.Perm(len(idx)) {
			if len(out) >= limit {
				return
			}
			i := idx[j]
			if taken[i] || !free(&tab.Sites[i]) {
				continue
			}
			taken[i] = true
			out = append(out, &tab.Sites[i])
		}
	}
	pick(shared, (m.cfg.Sample+1)/2)
	all := make([]int, len(tab.Sites))
	for i := range all {
		all[i] = i
	}
	pick(all, m.cfg.Sample)
	slices.SortFunc(out, func(a, b *memsites.Site) int { return cmp.Compare(a.Vaddr, b.Vaddr) })
	return out
}

// memFork gives a fork child its parent's memory points: the text and
// the debug registers are inherited.
func (s *Scheduler) memFork(child, parent *pointProc) {
	if parent.mem == nil {
		return
	}
	c := newMemProc()
	for a, ms := range parent.mem.sites {
		c.sites[a] = ms
	}
	for slot, w := range parent.mem.watches {
		cw := *w
		c.watches[slot] = &cw
	}
	child.mem = c
}

// memBreakpoint handles a hit of a planted site (ok false: not one).
func (s *Scheduler) memBreakpoint(g *gthread, pp *pointProc, addr uint64) (intercept.Action, bool) {
	if pp.mem == nil {
		return intercept.Action{}, false
	}
	ms := pp.mem.sites[addr]
	if ms == nil {
		return intercept.Action{}, false
	}
	if g != s.running {
		return s.stray(g), true
	}
	ms.hits++
	limit := s.mem.cfg.HitCap
	if ms.hits > limit {
		// Planted in a fork child too, which reached the cap in its
		// parent: not a point any more.
		g.t.Proc.ClearBreakpoint(addr)
		return intercept.Continue(), true
	}
	if ms.hits == limit {
		g.t.Proc.ClearBreakpoint(addr) // it executes the original instruction
	}
	s.expireWatches(g.t.Proc, pp)
	ea, ok := s.effectiveAddr(g, ms, addr)
	obj := uint64(0)
	if ok {
		obj = objKey("mem", uint64(g.pid), ea)
		s.memTouched(g, ms, ea)
		if g.hits[ms.name] == 0 { // the thread's first hit of the point
			s.armWatch(g, pp, ms, ea)
		}
	}
	return s.userPoint(g, PointMemory, ms.name, obj), true
}

// effectiveAddr computes the address the instruction at addr is about to
// access from g's registers.
func (s *Scheduler) effectiveAddr(g *gthread, ms *memSite, addr uint64) (uint64, bool) {
	regs, err := g.t.Regs()
	if err != nil {
		return 0, false
	}
	return ms.site.Mem.Addr(func(r memsites.Reg) uint64 { return regValue(&regs, r) }, addr+uint64(ms.site.Len)), true
}

// memTouched records a hit's access and detects sharing: two threads'
// hits at one address, one of them a write.
func (s *Scheduler) memTouched(g *gthread, ms *memSite, ea uint64) {
	m := s.mem
	k := memAddr{g.pid, ea}
	t, ok := m.touched[k]
	if !ok {
		m.touched[k] = memTouch{vtid: g.vtid, ref: ms.ref, write: ms.site.Write}
		return
	}
	if t.vtid != g.vtid && (t.write || ms.site.Write) {
		m.seen[t.ref] = true
		m.seen[ms.ref] = true
	}
	if ms.site.Write && !t.write {
		t.write = true
		m.touched[k] = t
	}
}

// armWatch puts a watchpoint on the address a hit is about to access, if
// the budget has a register free.
func (s *Scheduler) armWatch(g *gthread, pp *pointProc, ms *memSite, ea uint64) {
	budget := s.mem.cfg.Watch
	if budget <= 0 {
		return
	}
	addr, n, ok := watchRegion(ea, int(ms.site.Mem.Size))
	if !ok {
		return
	}
	kind := intercept.WatchWrite
	if ms.site.Write {
		kind = intercept.WatchReadWrite
	}
	p := g.t.Proc
	for _, slot := range sortedKeys(pp.mem.watches) {
		w := pp.mem.watches[slot]
		if w.addr != ea {
			continue
		}
		if w.owner != g.vtid {
			return // another thread's pending access: it stays watched
		}
		// The owner again: a fresh span, for its new access.
		w.armed, w.ownerTrips, w.site = s.out.Steps, 0, ms
		if kind == intercept.WatchReadWrite && w.kind == intercept.WatchWrite {
			s.dropWatch(p, pp, slot)
			break // re-armed below for reads too
		}
		return
	}
	if len(pp.mem.watches) >= budget {
		return
	}
	slot, err := p.SetWatchpoint(addr, n, kind)
	if err != nil {
		return // the -watch variables hold the registers
	}
	pp.mem.watches[slot] = &memWatch{site: ms, addr: ea, kind: kind, owner: g.vtid, armed: s.out.Steps}
}

// watchRegion is the aligned 1, 2, 4 or 8 bytes a watchpoint on an
// access of size n at ea covers (the start of a longer or unaligned
// access).
func watchRegion(ea uint64, n int) (uint64, int, bool) {
	if n <= 0 || n > 8 {
		n = 8
	}
	for l := 1; l <= 8; l *= 2 {
		if l >= n && ea%uint64(l) == 0 {
			return ea, l, true
		}
	}
	if a := ea &^ 7; ea+uint64(n) <= a+8 {
		return a, 8, true
	}
	return ea &^ 7, 8, ea < 1<<47
}

// expireWatches drops the watches whose span has passed.
func (s *Scheduler) expireWatches(p *intercept.Process, pp *pointProc) {
	for _, slot := range sortedKeys(pp.mem.watches) {
		if s.out.Steps-pp.mem.watches[slot].armed > memWatchSpan {
			s.dropWatch(p, pp, slot)
		}
	}
}

func (s *Scheduler) dropWatch(p *intercept.Process, pp *pointProc, slot int) {
	delete(pp.mem.watches, slot)
	p.ClearWatchpoint(slot)
}

// memWatchpoint handles a trap of a memory watch (ok false: not one).
func (s *Scheduler) memWatchpoint(g *gthread, pp *pointProc, slot int) (intercept.Action, bool) {
	if pp.mem == nil {
		return intercept.Action{}, false
	}
	w := pp.mem.watches[slot]
	if w == nil {
		return intercept.Action{}, false
	}
	p := g.t.Proc
	switch {
	case s.out.Steps-w.armed > memWatchSpan:
		s.dropWatch(p, pp, slot)
		return intercept.Continue(), true
	case g.vtid == w.owner:
		if w.ownerTrips++; w.ownerTrips >= 2 {
			s.dropWatch(p, pp, slot)
		}
		return intercept.Continue(), true
	case g != s.running:
		return s.stray(g), true
	}
	s.mem.seen[w.site.ref] = true
	if w.trips++; w.trips >= memWatchTrips {
		s.dropWatch(p, pp, slot)
	}
	s.expireWatches(p, pp)
	return s.userPoint(g, PointWatch, "watch:"+w.site.name, objKey("mem", uint64(g.pid), w.addr)), true
}

// sharedSites lists the sites found shared in the run, sorted.
func (m *memState) sharedSites() []SiteRef {
	out := make([]SiteRef, 0, len(m.seen))
	for r := range m.seen {
		out = append(out, r)
	}
	slices.SortFunc(out, compareSiteRefs)
	return out
}

// sortedKeys returns a map's keys in increasing order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
