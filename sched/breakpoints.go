package sched

import (
	"debug/elf"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/sched/points"
)

// Scheduling points beyond syscalls (Config.Points, YieldAt, Watch).
//
// Function points are int3 breakpoints (intercept.Process.SetBreakpoint)
// at the addresses package points resolves in each mapped image: at the
// first stop (the executable and ld.so are mapped), after every mmap or
// mprotect that maps code (ld.so loading libraries, dlopen) and after each
// exec; a fork child inherits its parent's (copy-on-write text) and its
// image tracker. A hit is a point like a syscall entry: the thread is held
// there and the strategy picks who runs next; when it runs again the
// tracer steps over the int3. Hits are counted per thread and function,
// and the point's name says which hit it is ("t1:pthread_mutex_lock#3"),
// so "thread T, function F, k-th hit" is what a decision records and
// replay checks.
//
// Data points are hardware watchpoints (read/write, at most 4) on global
// variables found by symbol in the executable or a library at the first
// stop and after each exec; every access is a point ("t2:watch:flag#5"),
// reported after the accessing instruction.
//
// What could not be resolved is said once per run in Outcome.Warnings.

// pointSet is a run's point configuration, resolved per process.
type pointSet struct {
	plan    *points.Plan
	watch   []points.Watch
	cache   *symbols.Cache
	procs   map[int]*pointProc // by pid
	warned  map[string]bool
	planted map[string][]uint64 // point name -> addresses (for the record)
	watched map[string][]uint64
}

// pointProc is one process's breakpoints.
type pointProc struct {
	objs  *symbols.Objects
	names map[uint64]string // breakpoint address -> point name
	watch map[int]string    // watch slot -> point name
	// A library's catalog functions are planted only once some object
	// of the process imports them (calls them through its PLT): most
	// programs use a few of the sync set, and planting all of libc's
	// costs more than the rest of a short run. imports is the union of
	// the mapped objects' imports, deferred the points still waiting,
	// exe the executable (its own functions are always planted: a
	// static binary imports nothing).
	imports  map[string]bool
	deferred []points.Point
	exe      exeID
	// spins maps the address of each spin site planted in the process
	// to its index in Config.Spins, spinOn whether its int3 is in place
	// now (spin.go).
	spins  map[uint64]int
	spinOn map[uint64]bool
	// tsc maps each rdtsc site planted to its instruction's length
	// (tsc.go).
	tsc map[uint64]int
	// mem is the process's memory points (memory.go); nil without.
	mem *memProc
	// off is whether its function points (names) are disabled during a
	// lone stretch, through proc (lone.go).
	off  bool
	proc *intercept.Process
}

// exeID identifies a process's executable: the device and inode its
// /proc/PID/exe link shows, and the path it names.
type exeID struct {
	major, minor uint32
	ino          uint64
	path         string
}

func exeOf(pid int) exeID {
	var st unix.Stat_t
	link := "/proc/" + strconv.Itoa(pid) + "/exe"
	if unix.Stat(link, &st) != nil {
		return exeID{}
	}
	path, _ := os.Readlink(link)
	return exeID{unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino, path}
}

// is reports whether im is a mapping of the executable. In a sandbox's
// copy-on-write view (an overlay) the mapping shows the device of the
// layer the file lies in and the link the overlay's: there the inode and
// the path say it.
func (e exeID) is(im *symbols.Image) bool {
	if im.Inode != e.ino {
		return false
	}
	return unix.Major(im.Dev) == e.major && unix.Minor(im.Dev) == e.minor || e.path != "" && im.Path == e.path
}

// library reports whether im is a shared object other than the program.
func (pp *pointProc) library(im *symbols.Image) bool {
	return im.Object.Type == elf.ET_DYN && !pp.exe.is(im)
}

// wanted reports whether a point must be planted now.
func (pp *pointProc) wanted(pt points.Point) bool {
	if pt.User || pt.Catalog == nil || !pp.library(pt.Image) {
		return true
	}
	for _, n := range pt.Catalog.Names() {
		if pp.imports[n] {
			return true
		}
	}
	return false
}

func newPointSet(cfg *Config) *pointSet {
	if cfg.Points == points.Syscalls && len(cfg.YieldAt) == 0 && len(cfg.Watch) == 0 && len(cfg.Spins) == 0 {
		return nil
	}
	cache := cfg.Symbols
	if cache == nil {
		cache = symbols.NewCache(nil)
	}
	plan := cfg.Plan
	if plan == nil {
		plan = points.NewPlan(cfg.Points, cfg.YieldAt)
	}
	return &pointSet{plan: plan, watch: cfg.Watch, cache: cache,
		procs: map[int]*pointProc{}, warned: map[string]bool{},
		planted: map[string][]uint64{}, watched: map[string][]uint64{}}
}

func (ps *pointSet) warn(msg string) {
	ps.warned[msg] = true
}

// startImage sets up points in a process that has just started a program
// (the first stop, or an exec).
func (s *Scheduler) startImage(p *intercept.Process) {
	ps := s.pts
	pp := &pointProc{objs: symbols.NewObjects(ps.cache, p.Pid), names: map[uint64]string{}, watch: map[int]string{},
		imports: map[string]bool{}, exe: exeOf(p.Pid)}
	ps.procs[p.Pid] = pp
	s.refreshImages(p)
	for _, w := range ps.watch {
		s.setWatch(p, pp, w)
	}
}

// refreshImages plants breakpoints in images mapped since the last look.
func (s *Scheduler) refreshImages(p *intercept.Process) {
	ps := s.pts
	pp := ps.procs[p.Pid]
	if pp == nil {
		return
	}
	ch, err := pp.objs.Refresh()
	if err != nil {
		ps.warn(fmt.Sprintf("points: reading the maps of pid %d: %v", p.Pid, err))
		return
	}
	for _, e := range ch.Errors {
		ps.warn("points: " + e.Error())
	}
	for _, im := range ch.Removed {
		for a := range pp.names {
			if im.Contains(a) {
				p.ClearBreakpoint(a) // unmapped: only forget it
				delete(pp.names, a)
			}
		}
		pp.deferred = slices.DeleteFunc(pp.deferred, func(pt points.Point) bool { return pt.Image == im })
		forgetTSC(p, pp, im)
		for a := range pp.spins {
			if im.Contains(a) {
				p.ClearBreakpoint(a)
				delete(pp.spins, a)
				delete(pp.spinOn, a)
			}
		}
	}
	for _, im := range ch.Added {
		for n := range im.Object.Imports {
			pp.imports[n] = true
		}
	}
	waiting := pp.deferred
	pp.deferred = nil
	for _, im := range ch.Added {
		pts, errs := ps.plan.Resolve(im)
		for _, e := range errs {
			ps.warn("points: " + e.Error())
		}
		waiting = append(waiting, pts...)
	}
	for _, pt := range waiting {
		if !pp.wanted(pt) {
			pp.deferred = append(pp.deferred, pt)
			continue
		}
		s.plant(p, pp, pt)
	}
	for _, im := range ch.Added {
		s.plantSpins(p, pp, im)
	}
	if !s.trapsRDTSC() {
		for _, im := range ch.Added {
			if !s.plantTSC(p, pp, im) {
				return
			}
		}
	}
	s.memImages(p, pp, ch)
}

// plant sets the breakpoint of one point.
func (s *Scheduler) plant(p *intercept.Process, pp *pointProc, pt points.Point) {
	ps := s.pts
	name := pointName(pt)
	if err := p.SetBreakpoint(pt.Addr); err != nil {
		ps.warn(fmt.Sprintf("points: %s at %#x in %s: %v", name, pt.Addr, filepath.Base(pt.Image.Path), err))
		return
	}
	pp.names[pt.Addr] = name
	if !slices.Contains(ps.planted[name], pt.Addr) {
		ps.planted[name] = append(ps.planted[name], pt.Addr)
	}
}

// pointName is what a breakpoint's hits are called in the trace: the
// catalog function or the user's spec (an inlined Go copy is named after
// the function inlined, not where).
func pointName(pt points.Point) string {
	if pt.Catalog != nil {
		return pt.Catalog.Name
	}
	n := pt.Names[0]
	if i := strings.IndexByte(n, '@'); i > 0 {
		n = n[:i]
	}
	return n
}

// setWatch puts a watchpoint on a global variable.
func (s *Scheduler) setWatch(p *intercept.Process, pp *pointProc, w points.Watch) {
	ps := s.pts
	for _, im := range pp.objs.Images() {
		addr, size, ok := im.Data(w.Symbol)
		if !ok {
			continue
		}
		n := w.Len
		if n == 0 {
			n = 8
			for n > 1 && (uint64(n) > size || addr%uint64(n) != 0) {
				n /= 2
			}
		}
		slot, err := p.SetWatchpoint(addr, n, intercept.WatchReadWrite)
		if err != nil {
			ps.warn(fmt.Sprintf("-watch %s: %v; running without it", w, err))
			return
		}
		name := "watch:" + w.Symbol
		pp.watch[slot] = name
		if !slices.Contains(ps.watched[name], addr) {
			ps.watched[name] = append(ps.watched[name], addr)
		}
		return
	}
	ps.warn(fmt.Sprintf("-watch %s: no global variable %s in the program or its libraries; running without it", w, w.Symbol))
}

// forkPoints gives a new process its parent's points.
func (s *Scheduler) forkPoints(p, parent *intercept.Process) {
	pp := s.pts.procs[parent.Pid]
	if pp == nil {
		return
	}
	c := &pointProc{objs: pp.objs.Fork(p.Pid), names: map[uint64]string{}, watch: map[int]string{},
		imports: maps.Clone(pp.imports), deferred: slices.Clone(pp.deferred), exe: pp.exe}
	for a, n := range pp.names {
		c.names[a] = n
	}
	for sl, n := range pp.watch {
		c.watch[sl] = n
	}
	if pp.spins != nil {
		c.spins, c.spinOn = maps.Clone(pp.spins), maps.Clone(pp.spinOn)
	}
	c.tsc = maps.Clone(pp.tsc)
	s.memFork(c, pp)
	s.pts.procs[p.Pid] = c
}

// mapsCode reports whether an mmap or mprotect call of g may map code,
// or a munmap unmap part of a known image: the images must be looked at
// again at its exit.
func (s *Scheduler) mapsCode(g *gthread, c *intercept.Syscall) bool {
	switch c.Nr {
	case unix.SYS_MMAP, unix.SYS_MPROTECT:
		return c.Args[2]&unix.PROT_EXEC != 0
	case unix.SYS_MUNMAP:
		pp := s.pts.procs[g.pid]
		if pp == nil {
			return false
		}
		lo, hi := c.Args[0], c.Args[0]+c.Args[1]
		for _, im := range pp.objs.Images() {
			for _, m := range im.Mappings {
				if m.Start < hi && lo < m.End {
					return true
				}
			}
		}
	}
	return false
}

// Breakpoint implements intercept.Tool: a function point.
func (s *Scheduler) Breakpoint(t *intercept.Thread, addr uint64) intercept.Action {
	if s.pts != nil {
		if a, ok := s.tscBreakpoint(t, addr); ok {
			return a // even once the run has ended: never a real rdtsc
		}
	}
	g := s.g(t)
	if s.ended || g == nil || s.pts == nil {
		return intercept.Continue()
	}
	name := "bp"
	if pp := s.pts.procs[g.pid]; pp != nil {
		if a, ok := s.memBreakpoint(g, pp, addr); ok {
			return a
		}
		if n, ok := pp.names[addr]; ok {
			name = n
		} else if k, ok := pp.spins[addr]; ok {
			return s.spinHit(g, k)
		}
	}
	return s.userPoint(g, PointCall, name, 0)
}

// Watchpoint implements intercept.Tool: an access to a watched variable.
func (s *Scheduler) Watchpoint(t *intercept.Thread, slot int, addr uint64) intercept.Action {
	g := s.g(t)
	if s.ended || g == nil || s.pts == nil {
		return intercept.Continue()
	}
	name := "watch"
	if pp := s.pts.procs[g.pid]; pp != nil {
		if a, ok := s.memWatchpoint(g, pp, slot); ok {
			return a
		}
		if n, ok := pp.watch[slot]; ok {
			name = n
		}
	}
	return s.userPoint(g, PointWatch, name, objKey("mem", uint64(g.pid), addr))
}

// userPoint makes a breakpoint or watchpoint hit a scheduling point.
func (s *Scheduler) userPoint(g *gthread, kind PointKind, name string, obj uint64) intercept.Action {
	if g != s.running {
		return s.stray(g)
	}
	if g.hits == nil {
		g.hits = map[string]int{}
	}
	g.hits[name]++
	quiet := releasedInUserCode(g.pk)
	s.setPoint(g, kind, name+"#"+strconv.Itoa(g.hits[name]), obj)
	s.from, s.waker = g, g
	s.quiet = quiet
	s.yield(g)
	return intercept.Hold()
}

// callObj is the object a function point touches: its first argument
// (the mutex, condition variable, semaphore...), read when a strategy
// asks.
func callObj(g *gthread) uint64 {
	regs, err := g.t.Regs()
	if err != nil {
		return 0
	}
	return objKey("arg", uint64(g.pid), regs.Rdi)
}

// ResolvedPoint is one named scheduling point of a run and where it was
// planted.
type ResolvedPoint struct {
	Name  string
	Addrs []uint64
}

// resolved lists the points planted and watched, sorted by name, and the
// warnings.
func (ps *pointSet) resolved() ([]ResolvedPoint, []string) {
	var out []ResolvedPoint
	for _, m := range []map[string][]uint64{ps.planted, ps.watched} {
		for n, as := range m {
			as = slices.Clone(as)
			slices.Sort(as)
			out = append(out, ResolvedPoint{Name: n, Addrs: as})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for _, u := range ps.plan.Unresolved() {
		ps.warn(u.String())
	}
	warns := make([]string, 0, len(ps.warned))
	for w := range ps.warned {
		warns = append(warns, w)
	}
	sort.Strings(warns)
	return out, warns
}
