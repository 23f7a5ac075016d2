package points

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
)

// Point is a resolved breakpoint address: one int3.
type Point struct {
	Addr  uint64 // runtime address
	Image *symbols.Image
	// Names says what the point stands for, sorted: catalog functions
	// ("pthread_mutex_lock"; an inlined Go copy as
	// "sync.(*Mutex).Lock@main.incr") and -yield-at specs ("bug.c:42",
	// "worker"). Several entries share an address when names alias.
	Names []string
	// Catalog is the catalog entry, for a point from the sync set (the
	// first, if several share the address); nil for a user spec only.
	Catalog *Func
	// User reports that a -yield-at spec asked for this address.
	User bool
}

// Plan resolves a set and the -yield-at specs in each image as it is
// mapped, and remembers which specs were found anywhere, so that the
// tracer can say once, at a moment of its choosing, which requested points
// do not exist ("when a requested point cannot be resolved, say so once,
// clearly, and run on"). Catalog functions a program does not use are
// not reported. A Plan may be shared by the runs of a session (parallel
// runs too: it is safe for concurrent use): an object's resolution is
// computed once, in link-time addresses, and each image of it gets it
// with its load bias added. Resolution may be computed ahead (Prepare);
// only Resolve, for an image a run maps, counts a spec as found.
type Plan struct {
	funcs []Func
	specs []Spec

	mu    sync.Mutex
	found []bool
	why   []string // per spec: the most specific reason it failed
	memo  map[*symbols.Object]*memoEntry
	tsc   map[*symbols.Object]tscEntry
	dir   string // on-disk cache of rdtsc sites ("": none)
	rdir  string // on-disk cache of resolutions ("": none; kept.go)
	rkey  string // the catalog's hash, part of their names
}

// memoEntry is an object's resolution: its points at link-time
// addresses (Image nil), the errors reading it, and per spec whether it
// was found there and why not. ready is closed once it is computed.
type memoEntry struct {
	ready chan struct{}
	pts   []Point
	errs  []error
	found []bool
	why   []string
}

// NewPlan returns a plan for the set's functions and the user's specs.
func NewPlan(set Set, yieldAt []Spec) *Plan {
	return &Plan{
		funcs: set.Funcs(),
		specs: append([]Spec(nil), yieldAt...),
		found: make([]bool, len(yieldAt)),
		why:   make([]string, len(yieldAt)),
		memo:  map[*symbols.Object]*memoEntry{},
	}
}

// Resolve returns the points in image im, sorted by address, one per
// address. Errors are problems reading the image's DWARF (not a missing
// function, which is normal: most images define few of the names).
func (p *Plan) Resolve(im *symbols.Image) ([]Point, []error) {
	e := p.entry(im.Object)
	p.mu.Lock()
	for i := range p.specs {
		p.found[i] = p.found[i] || e.found[i]
		if p.why[i] == "" {
			p.why[i] = e.why[i]
		}
	}
	p.mu.Unlock()
	out := make([]Point, len(e.pts))
	for i, pt := range e.pts {
		pt.Addr, pt.Image = im.Addr(pt.Addr), im
		out[i] = pt
	}
	return out, e.errs
}

// Prepare computes the plan's resolution in object o ahead of the first
// Resolve of an image of it (a symbols.Cache Preload's warm function). It
// counts no spec as found: o may be mapped by no run.
func (p *Plan) Prepare(o *symbols.Object) { p.entry(o) }

// entry returns o's resolution, computing it (outside the lock: objects
// are resolved concurrently) unless it is or is being computed.
func (p *Plan) entry(o *symbols.Object) *memoEntry {
	p.mu.Lock()
	e, ok := p.memo[o]
	if !ok {
		e = &memoEntry{ready: make(chan struct{})}
		p.memo[o] = e
	}
	p.mu.Unlock()
	if ok {
		<-e.ready
		return e
	}
	if pts, ok := p.readResolution(o); ok {
		e.pts, e.found, e.why = pts, []bool{}, []string{} // (kept only without specs)
	} else {
		e.pts, e.errs, e.found, e.why = p.resolve(o)
		if len(e.errs) == 0 {
			p.keepResolution(o, e.pts)
		}
	}
	close(e.ready)
	return e
}

// resolve finds the plan's points in o, at link-time addresses.
func (p *Plan) resolve(o *symbols.Object) (pts []Point, errs []error, found []bool, why []string) {
	byAddr := map[uint64]*Point{}
	found, why = make([]bool, len(p.specs)), make([]string, len(p.specs))
	add := func(vaddr uint64, name string, f *Func, user bool) {
		pt := byAddr[vaddr]
		if pt == nil {
			pt = &Point{Addr: vaddr}
			byAddr[vaddr] = pt
		}
		pt.Names = append(pt.Names, name)
		if f != nil && pt.Catalog == nil {
			pt.Catalog = f
		}
		pt.User = pt.User || user
	}

	// Catalog functions. Go entries only in Go binaries.
	var copies []inlinedCopies
	bodies := map[uint64]uint64{} // out-of-line catalog function entry -> end
	for i := range p.funcs {
		f := &p.funcs[i]
		if f.Lang == Go && !o.IsGo {
			continue
		}
		for _, n := range f.Names() {
			for _, v := range o.Funcs(n) {
				add(v, f.Name, f, false)
				if s, ok := o.FuncAt(v); ok && s.Value == v {
					bodies[v] = v + max(s.Size, 1)
				}
			}
		}
		if f.Inlined {
			cps, err := o.InlinedCopies(f.Name)
			switch {
			case errors.Is(err, symbols.ErrNoDWARF):
			case err != nil:
				errs = append(errs, err)
			default:
				copies = append(copies, inlinedCopies{i, cps})
			}
		}
	}
	// Inlined copies, except those inside another catalog function's
	// body or inlined copy: one user operation, one point.
	for _, c := range copies {
		f := &p.funcs[c.f]
		for _, cp := range c.cps {
			if nestedIn(cp.Entry, c.f, copies, bodies) {
				continue
			}
			name := f.Name
			if s, ok := o.FuncAt(cp.Entry); ok {
				name += "@" + s.Name
			}
			add(cp.Entry, name, f, false)
		}
	}

	// User specs.
	for i, sp := range p.specs {
		vs, w, err := resolveSpec(o, sp)
		if err != nil {
			errs = append(errs, err)
		}
		why[i], found[i] = w, len(vs) > 0
		for _, v := range vs {
			add(v, sp.String(), nil, true)
		}
	}

	pts = make([]Point, 0, len(byAddr))
	for _, pt := range byAddr {
		sort.Strings(pt.Names)
		pt.Names = dedup(pt.Names)
		pts = append(pts, *pt)
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].Addr < pts[j].Addr })
	return pts, errs, found, why
}

// inlinedCopies are the inlined copies of catalog function p.funcs[f].
type inlinedCopies struct {
	f   int
	cps []symbols.InlineCopy
}

// ResolveAll resolves the plan in each image (Objects.Images, or the
// Added images of an update) and returns all points, sorted by address.
func (p *Plan) ResolveAll(ims []*symbols.Image) ([]Point, []error) {
	var pts []Point
	var errs []error
	for _, im := range ims {
		ps, es := p.Resolve(im)
		pts = append(pts, ps...)
		errs = append(errs, es...)
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].Addr < pts[j].Addr })
	return pts, errs
}

// nestedIn reports whether the link-time address lies inside the body of
// an out-of-line catalog function (other than at its entry) or inside an
// inlined copy of a catalog function other than self.
func nestedIn(addr uint64, self int, copies []inlinedCopies, bodies map[uint64]uint64) bool {
	for start, end := range bodies {
		if addr > start && addr < end {
			return true
		}
	}
	for _, c := range copies {
		if c.f == self {
			continue
		}
		for _, cp := range c.cps {
			if cp.Contains(addr) {
				return true
			}
		}
	}
	return false
}

// resolveSpec finds a user spec in one object: a function's entries and
// inlined copies, or a source line. why is a reason worth telling the
// user if the spec is found nowhere (the file exists here but the line
// has no code); err a failure reading the object.
func resolveSpec(o *symbols.Object, sp Spec) (vaddrs []uint64, why string, err error) {
	if sp.IsLine() {
		vs, err := o.Lines(sp.File, sp.Line)
		switch {
		case err == nil:
			return vs, "", nil
		case errors.Is(err, symbols.ErrNoDWARF), errors.Is(err, symbols.ErrNoSourceFile):
			return nil, "", nil
		default:
			return nil, err.Error(), nil
		}
	}
	vs := o.Funcs(sp.Func)
	cps, err := o.Inlined(sp.Func)
	if err != nil && !errors.Is(err, symbols.ErrNoDWARF) {
		return vs, "", err
	}
	vs = append(vs, cps...)
	if len(vs) == 0 {
		why = whyNoFunc(o, sp.Func)
	}
	return vs, why, nil
}

// whyNoFunc says why object o has no function name, when o is the place a
// user would expect it ("" when o is just one image among many that do
// not define it).
func whyNoFunc(o *symbols.Object, name string) string {
	for _, s := range o.Symbols(name) {
		switch s.Kind {
		case symbols.KindIFunc:
			return fmt.Sprintf("%s in %s is an IFUNC (its implementation is chosen at load time): name the implementation instead", name, o.Path)
		case symbols.KindObject, symbols.KindTLS:
			return fmt.Sprintf("%s in %s is a variable, not a function", name, o.Path)
		}
	}
	if !o.Executable {
		return "" // one library among many that do not define it
	}
	if similar := o.SimilarFuncs(name, 3); len(similar) > 0 {
		return fmt.Sprintf("%s defines no function %s; did you mean %s?", o.Path, name, strings.Join(similar, ", "))
	}
	if !o.HasSymtab {
		return fmt.Sprintf("%s is stripped (no symbol table): only exported functions can be named; rebuild without stripping, or name a file:LINE", o.Path)
	}
	return ""
}

// Unresolved returns the -yield-at specs not found in any image resolved
// so far, each with a one-line reason.
func (p *Plan) Unresolved() []Unresolved {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Unresolved
	for i, sp := range p.specs {
		if p.found[i] {
			continue
		}
		why := p.why[i]
		if why == "" {
			if sp.IsLine() {
				why = "no image has line-table entries for " + sp.File + " (built without -g?)"
			} else {
				why = "no mapped image defines function " + sp.Func + " (check the name: nm -C lists a binary's functions; or its library was never loaded)"
			}
		}
		out = append(out, Unresolved{sp, why})
	}
	return out
}

// Unresolved is a -yield-at spec that was found nowhere.
type Unresolved struct {
	Spec   Spec
	Reason string
}

func (u Unresolved) String() string {
	return fmt.Sprintf("-yield-at %s: not resolved: %s; running without it", u.Spec, u.Reason)
}

func dedup(a []string) []string {
	out := a[:0]
	for i, s := range a {
		if i == 0 || s != a[i-1] {
			out = append(out, s)
		}
	}
	return out
}
