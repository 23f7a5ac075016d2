package sched

import (
	"github.com/schedfuzz/schedfuzz/intercept/stack"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
)

// Stacks for reports. With Config.Stacks, the scheduler unwinds the
// thread's call stack at each of its scheduling points (package stack:
// CFI or frame pointers) and names the frames while the process's images
// are mapped. A report replays the failing run once with it (a run
// replays exactly), so exploration never pays: unwinding costs a
// GETREGS, a few memory reads per frame and, for each new image, its CFI.
// Kept: the stacks of the points Config.StackAt asks for, and of each
// thread's last len(gthread.last) points.

// PointStack is where a thread was at one of its scheduling points.
type PointStack struct {
	Thread, Point int
	Name          string // the point's syscall or function
	Frames        []stack.Frame
}

// maxFrames bounds an unwound stack.
const maxFrames = 24

// stackSet is the scheduler's stack capture state.
type stackSet struct {
	u     *stack.Unwinder
	cache *symbols.Cache
	objs  map[int]*symbols.Objects // by pid
	kept  []PointStack             // the points StackAt asked for
	last  map[int][]PointStack     // by vtid: its last points' stacks (oldest first)
}

func newStackSet(cache *symbols.Cache) *stackSet {
	if cache == nil {
		cache = symbols.NewCache(nil)
	}
	return &stackSet{u: stack.NewUnwinder(), cache: cache, objs: map[int]*symbols.Objects{}, last: map[int][]PointStack{}}
}

// captureStack records g's stack at the point it just reached.
func (s *Scheduler) captureStack(g *gthread) {
	if g.pk == PointExit || g.t == nil {
		return
	}
	regs, err := g.t.Regs()
	if err != nil {
		return
	}
	st := s.stk
	objs := st.objs[g.pid]
	if objs == nil {
		objs = symbols.NewObjects(st.cache, g.pid)
		objs.Refresh()
		st.objs[g.pid] = objs
	}
	r := stack.Regs{PC: regs.Rip, SP: regs.Rsp, BP: regs.Rbp}
	pcs := st.u.Unwind(r, g.t.Memory(), objs, maxFrames)
	if len(pcs) > 0 && objs.ImageAt(pcs[len(pcs)-1]) == nil {
		objs.Refresh() // code mapped since: look again
		pcs = st.u.Unwind(r, g.t.Memory(), objs, maxFrames)
	}
	ps := PointStack{Thread: g.vtid, Point: g.points, Name: g.pname, Frames: st.u.Name(pcs, objs)}
	if s.cfg.StackAt != nil && s.cfg.StackAt(g.vtid, g.points) {
		st.kept = append(st.kept, ps)
	}
	l := append(st.last[g.vtid], ps)
	if len(l) > len(g.last) {
		l = l[1:]
	}
	st.last[g.vtid] = l
}

// stacks returns the kept stacks, then each thread's last ones, by vtid.
func (st *stackSet) stacks(threads []*gthread) []PointStack {
	out := append([]PointStack(nil), st.kept...)
	for _, g := range threads {
		out = append(out, st.last[g.vtid]...)
	}
	return out
}
