package intercept_test

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/internal/testprog"
)

// The breakpoint targets of testprog's "points" guest, one per way of
// stepping over a breakpoint (see its source).
var targets = []string{"bp_step", "bp_push", "bp_endbr", "bp_mov", "bp_lea", "bp_rip", "bp_load"}

// pointTool records breakpoint and watchpoint hits; the hooks steer it.
type pointTool struct {
	intercept.NopTool
	t   *testing.T
	sub intercept.Subscription

	start   func(p *intercept.Process, parent *intercept.Process)
	thread  func(th, parent *intercept.Thread)
	bp      func(th *intercept.Thread, addr uint64) intercept.Action
	watch   func(th *intercept.Thread, slot int, addr uint64) intercept.Action
	enter   func(th *intercept.Thread, c *intercept.Syscall) intercept.Action
	exit    func(th *intercept.Thread, c *intercept.Syscall)
	exec    func(th *intercept.Thread)
	thrExit func(th *intercept.Thread)

	hits    []hit
	whits   []hit
	signals []unix.Signal
	pids    map[int]bool
	workers []int // tids of threads started by another thread of their process
	main    map[int]int
}

type hit struct {
	pid, tid int
	addr     uint64
	slot     int
}

func newPointTool(t *testing.T) *pointTool {
	return &pointTool{t: t, pids: map[int]bool{}, main: map[int]int{}}
}

func (pt *pointTool) Subscription() intercept.Subscription { return pt.sub }

func (pt *pointTool) ProcessStart(p, parent *intercept.Process) {
	pt.pids[p.Pid] = true
	if pt.start != nil {
		pt.start(p, parent)
	}
}

func (pt *pointTool) ThreadStart(th, parent *intercept.Thread) {
	if parent != nil && parent.Proc == th.Proc {
		pt.workers = append(pt.workers, th.Tid)
	} else {
		pt.main[th.Proc.Pid] = th.Tid
	}
	if pt.thread != nil {
		pt.thread(th, parent)
	}
}

func (pt *pointTool) Breakpoint(th *intercept.Thread, addr uint64) intercept.Action {
	pt.hits = append(pt.hits, hit{pid: th.Proc.Pid, tid: th.Tid, addr: addr})
	regs, err := th.Regs()
	if err != nil || regs.Rip != addr {
		pt.t.Errorf("breakpoint at %#x: regs rip %#x, err %v", addr, regs.Rip, err)
	}
	if got, ok := th.AtBreakpoint(); !ok || got != addr {
		pt.t.Errorf("AtBreakpoint = %#x, %v; want %#x", got, ok, addr)
	}
	if pt.bp != nil {
		return pt.bp(th, addr)
	}
	return intercept.Continue()
}

func (pt *pointTool) Watchpoint(th *intercept.Thread, slot int, addr uint64) intercept.Action {
	pt.whits = append(pt.whits, hit{pid: th.Proc.Pid, tid: th.Tid, addr: addr, slot: slot})
	if pt.watch != nil {
		return pt.watch(th, slot, addr)
	}
	return intercept.Continue()
}

func (pt *pointTool) SyscallEnter(th *intercept.Thread, c *intercept.Syscall) intercept.Action {
	if pt.enter != nil {
		return pt.enter(th, c)
	}
	return intercept.Continue()
}

func (pt *pointTool) SyscallExit(th *intercept.Thread, c *intercept.Syscall, ret int64) int64 {
	if pt.exit != nil {
		pt.exit(th, c)
	}
	return ret
}

func (pt *pointTool) Signal(th *intercept.Thread, sig unix.Signal, _ *unix.Siginfo) unix.Signal {
	pt.signals = append(pt.signals, sig)
	return sig
}

func (pt *pointTool) Exec(th *intercept.Thread, _ int) {
	if pt.exec != nil {
		pt.exec(th)
	}
}

func (pt *pointTool) ThreadExit(th *intercept.Thread, _ int) {
	if pt.thrExit != nil {
		pt.thrExit(th)
	}
}

// count returns the number of hits matching f.
func count(hs []hit, f func(hit) bool) int {
	n := 0
	for _, h := range hs {
		if f(h) {
			n++
		}
	}
	return n
}

// symbols caches the symbol tables of ELF files.
var symbols = struct {
	sync.Mutex
	m map[string]map[string]uint64
}{m: map[string]map[string]uint64{}}

// The helpers below run in tool callbacks, on the tracer's goroutine:
// they report with Errorf (Fatal would end that goroutine, not the test).

// symbolValue returns the link-time value of a symbol of the ELF file at
// path (static table, then dynamic).
func symbolValue(t *testing.T, path, name string) uint64 {
	t.Helper()
	symbols.Lock()
	defer symbols.Unlock()
	tab := symbols.m[path]
	if tab == nil {
		f, err := elf.Open(path)
		if err != nil {
			t.Error(err)
			return 0
		}
		defer f.Close()
		tab = map[string]uint64{}
		syms, _ := f.Symbols()
		dyn, _ := f.DynamicSymbols()
		for _, s := range append(dyn, syms...) {
			if s.Value != 0 && elf.ST_TYPE(s.Info) != elf.STT_SECTION {
				// Versioned names as plain ones ("puts", not "puts@@GLIBC_2.2.5").
				tab[s.Name] = s.Value
			}
		}
		symbols.m[path] = tab
	}
	v, ok := tab[name]
	if !ok {
		t.Errorf("no symbol %s in %s", name, path)
	}
	return v
}

// mapped returns the path and load bias of the first file mapped in pid
// whose path satisfies match: the bias is the start of its mapping at file
// offset 0 minus its first PT_LOAD's page-aligned address.
func mapped(t *testing.T, pid int, match func(string) bool) (string, uint64) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		t.Error(err)
		return "", 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || !match(f[5]) || f[2] != "00000000" {
			continue
		}
		start, _ := strconv.ParseUint(strings.Split(f[0], "-")[0], 16, 64)
		ef, err := elf.Open(f[5])
		if err != nil {
			t.Error(err)
			return "", 0
		}
		defer ef.Close()
		for _, p := range ef.Progs {
			if p.Type == elf.PT_LOAD {
				if ef.Type == elf.ET_EXEC {
					return f[5], 0
				}
				return f[5], start - p.Vaddr&^0xfff
			}
		}
	}
	t.Errorf("pid %d: no mapping matching the predicate", pid)
	return "", 0
}

// addrOf returns the run-time address of symbol name of the executable
// path in process pid.
func addrOf(t *testing.T, pid int, path, name string) uint64 {
	t.Helper()
	_, bias := mapped(t, pid, func(p string) bool { return p == path })
	return bias + symbolValue(t, path, name)
}

// runPoints runs the points guest with args under tool and checks its
// stdout and exit status against want (the testprog Case's expectation
// unless want is given), and that no guest process is left.
func runPoints(t *testing.T, tool *pointTool, opts intercept.Options, args ...string) *intercept.Result {
	t.Helper()
	testenv.RequirePtrace(t)
	path := testprog.Build(t, "points")
	// The Case with the same arguments, or one that only expects exit 0.
	want := &testprog.Case{ID: "points " + strings.Join(args, " ")}
	for _, c := range testprog.Cases() {
		if c.Name == "points" && strings.Join(c.Args, " ") == strings.Join(args, " ") {
			want = &c
			break
		}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, outR); close(copied) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	argv := append([]string{path}, args...)
	res, err := intercept.Run(ctx, &intercept.Command{Path: path, Args: argv, Stdout: outW}, tool, opts)
	outW.Close()
	<-copied
	outR.Close()
	if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	ws := unix.WaitStatus(res.Status)
	if want.Stdout == "" {
		if !ws.Exited() || ws.ExitStatus() != 0 {
			t.Errorf("points %v: exit status %#x, want 0", args, ws)
		}
	} else if err := want.Check(out.String(), syscall.WaitStatus(ws)); err != nil {
		t.Errorf("under the tracer: %v", err)
	}
	checkGone(t, tool.pids)
	return res
}

// checkGone fails if a guest process of the run is still alive.
func checkGone(t *testing.T, pids map[int]bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for pid := range pids {
		for !zombieOrGone(pid) {
			if time.Now().After(deadline) {
				t.Errorf("guest process %d left running", pid)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// plantTargets sets breakpoints on the named functions of the guest and
// returns their addresses by name.
func plantTargets(t *testing.T, p *intercept.Process, names ...string) map[string]uint64 {
	t.Helper()
	path := testprog.Build(t, "points")
	as := map[string]uint64{}
	for _, n := range names {
		a := addrOf(t, p.Pid, path, n)
		if err := p.SetBreakpoint(a); err != nil {
			t.Errorf("SetBreakpoint(%s): %v", n, err)
		}
		if err := p.SetBreakpoint(a); err != nil {
			t.Errorf("SetBreakpoint(%s) again: %v", n, err)
		}
		as[n] = a
	}
	return as
}

// TestBreakpointThreads: each target called 100 times from each of two
// threads is reported exactly 100 times per thread, never for the main
// thread, with rip at the target; the program's output is unchanged.
func TestBreakpointThreads(t *testing.T) {
	t.Run("pinned", func(t *testing.T) {
		testBreakpointThreads(t, intercept.Options{Pin: true, CPU: testenv.QuietCPU(t)})
	})
	// Both workers really run in parallel: steps in place pause the other.
	t.Run("unpinned", func(t *testing.T) { testBreakpointThreads(t, intercept.Options{}) })
}

func testBreakpointThreads(t *testing.T, opts intercept.Options) {
	pt := newPointTool(t)
	var addrs map[string]uint64
	pt.start = func(p, _ *intercept.Process) {
		addrs = plantTargets(t, p, targets...)
		got := p.Breakpoints()
		for i := 1; i < len(got); i++ {
			if got[i-1] >= got[i] {
				t.Errorf("Breakpoints() = %#x, not sorted", got)
			}
		}
		if len(got) != len(targets) {
			t.Errorf("Breakpoints() = %#x, want %d addresses", got, len(targets))
		}
	}
	runPoints(t, pt, opts, "threads")
	if len(pt.workers) != 2 {
		t.Fatalf("workers %v, want 2", pt.workers)
	}
	for _, name := range targets {
		for _, w := range pt.workers {
			if n := count(pt.hits, func(h hit) bool { return h.tid == w && h.addr == addrs[name] }); n != 100 {
				t.Errorf("%s: %d hits by thread %d, want 100", name, n, w)
			}
		}
	}
	if len(pt.hits) != 200*len(targets) {
		t.Errorf("%d hits, want %d", len(pt.hits), 200*len(targets))
	}
}

// TestBreakpointStops checks the cost of a hit in stops: one for an
// emulated instruction, two (hit and step) for one stepped in place. The
// processes of "fork" are single-threaded (the vfork parent is frozen), so
// no thread is ever paused; each target is called 6 times.
func TestBreakpointStops(t *testing.T) {
	stops := map[string]uint64{}
	for _, name := range append([]string{""}, targets...) {
		pt := newPointTool(t)
		pt.start = func(p, parent *intercept.Process) {
			if name != "" && parent == nil {
				plantTargets(t, p, name)
			}
		}
		stops[name] = runPoints(t, pt, intercept.Options{}, "fork").Stops
		if n := len(pt.hits); name != "" && n != 6 {
			t.Errorf("%s: %d hits, want 6", name, n)
		}
	}
	for _, name := range targets {
		want := uint64(6)
		if name == "bp_step" {
			want = 12
		}
		if got := stops[name] - stops[""]; got != want {
			t.Errorf("%s: %d more stops than without breakpoints, want %d", name, got, want)
		}
	}
}

// TestBreakpointSetRegs: at each hit of bp_step the tool performs the
// function itself (rax = 3*rdi+1, then a return: rip from the stack) with
// SetRegs; the thread resumes at the return address without executing
// bp_step, and the program cannot tell.
func TestBreakpointSetRegs(t *testing.T) {
	pt := newPointTool(t)
	pt.start = func(p, _ *intercept.Process) { plantTargets(t, p, "bp_step") }
	pt.bp = func(th *intercept.Thread, addr uint64) intercept.Action {
		regs, err := th.Regs()
		if err != nil {
			t.Error(err)
			return intercept.Continue()
		}
		ret, err := th.Memory().ReadUint64(regs.Rsp)
		if err != nil {
			t.Error(err)
			return intercept.Continue()
		}
		regs.Rax = uint64(uint32(3*regs.Rdi + 1))
		regs.Rip, regs.Rsp = ret, regs.Rsp+8
		if err := th.SetRegs(&regs); err != nil {
			t.Error(err)
		}
		if got, _ := th.Regs(); got.Rip != ret {
			t.Errorf("Regs after SetRegs: rip %#x, want %#x", got.Rip, ret)
		}
		return intercept.Continue()
	}
	runPoints(t, pt, intercept.Options{}, "threads")
	if len(pt.hits) != 200 {
		t.Errorf("%d hits, want 200", len(pt.hits))
	}
}

// TestBreakpointPingPong is the scheduler's case: the two workers are
// never both running; at each hit the running worker is held at its
// breakpoint and the held one resumed (stepping over a breakpoint while
// the other thread is stopped at the same one).
func TestBreakpointPingPong(t *testing.T) {
	pt := newPointTool(t)
	var held *intercept.Thread
	alive := map[*intercept.Thread]bool{}
	pt.start = func(p, _ *intercept.Process) { plantTargets(t, p, targets...) }
	pt.thread = func(th, parent *intercept.Thread) {
		if parent != nil {
			alive[th] = true
		}
	}
	pt.bp = func(th *intercept.Thread, addr uint64) intercept.Action {
		if held != nil && held != th {
			other := held
			held = nil
			if err := other.Resume(intercept.Continue()); err != nil {
				t.Errorf("resume %d: %v", other.Tid, err)
			}
			held = th
			return intercept.Hold()
		}
		if held == nil && len(alive) == 2 {
			held = th
			return intercept.Hold()
		}
		return intercept.Continue()
	}
	pt.thrExit = func(th *intercept.Thread) {
		delete(alive, th)
		if held != nil && held != th {
			other := held
			held = nil
			if err := other.Resume(intercept.Continue()); err != nil {
				t.Errorf("resume %d: %v", other.Tid, err)
			}
		}
	}
	runPoints(t, pt, intercept.Options{}, "threads")
	for _, w := range pt.workers {
		if n := count(pt.hits, func(h hit) bool { return h.tid == w }); n != 100*len(targets) {
			t.Errorf("thread %d: %d hits, want %d", w, n, 100*len(targets))
		}
	}
	// Strict alternation while both ran: no two consecutive hits by one
	// thread before the first exit. The first 2 hits may come from one
	// worker (before the second started), so look at the middle.
	switches := 0
	for i := 1; i < len(pt.hits); i++ {
		if pt.hits[i].tid != pt.hits[i-1].tid {
			switches++
		}
	}
	if switches < 100*len(targets)-2 {
		t.Errorf("only %d switches between the workers in %d hits: holding did not serialize them", switches, len(pt.hits))
	}
}

// TestBreakpointHoldUntilSyscall holds the first worker at its first hit
// until the other worker makes a syscall (its final write), resumes it from
// that callback, and the program still runs correctly.
func TestBreakpointHoldUntilSyscall(t *testing.T) {
	pt := newPointTool(t)
	pt.sub = intercept.SubscribeTo(unix.SYS_WRITE)
	var held *intercept.Thread
	var heldAt uint64
	resumedAfter := -1
	pt.start = func(p, _ *intercept.Process) { plantTargets(t, p, targets...) }
	pt.bp = func(th *intercept.Thread, addr uint64) intercept.Action {
		if held == nil && resumedAfter < 0 {
			held, heldAt = th, addr
			return intercept.Hold()
		}
		return intercept.Continue()
	}
	pt.enter = func(th *intercept.Thread, c *intercept.Syscall) intercept.Action {
		if held != nil && th != held && c.Nr == unix.SYS_WRITE {
			if !held.Held() {
				t.Errorf("thread %d not held", held.Tid)
			}
			if a, ok := held.AtBreakpoint(); !ok || a != heldAt {
				t.Errorf("held thread AtBreakpoint = %#x %v, want %#x", a, ok, heldAt)
			}
			resumedAfter = len(pt.hits)
			if err := held.Resume(intercept.Continue()); err != nil {
				t.Errorf("resume: %v", err)
			}
			held = nil
		}
		return intercept.Continue()
	}
	runPoints(t, pt, intercept.Options{}, "threads")
	if want := 1 + 100*len(targets); resumedAfter != want {
		t.Errorf("held thread resumed after %d hits, want %d (its own first and all of the other's)", resumedAfter, want)
	}
	for _, w := range pt.workers {
		if n := count(pt.hits, func(h hit) bool { return h.tid == w }); n != 100*len(targets) {
			t.Errorf("thread %d: %d hits, want %d", w, n, 100*len(targets))
		}
	}
}

// TestBreakpointLibc plants a breakpoint at main, and at its hit (libc is
// mapped by then) one at libc's puts, found with /proc/PID/maps and the
// library's dynamic symbols. The main breakpoint is cleared while the
// thread is stopped at it.
func TestBreakpointLibc(t *testing.T) {
	pt := newPointTool(t)
	var mainAddr, putsAddr uint64
	path := testprog.Build(t, "points")
	pt.start = func(p, _ *intercept.Process) {
		mainAddr = addrOf(t, p.Pid, path, "main")
		if err := p.SetBreakpoint(mainAddr); err != nil {
			t.Error(err)
		}
	}
	pt.bp = func(th *intercept.Thread, addr uint64) intercept.Action {
		if addr == mainAddr {
			libc, bias := mapped(t, th.Proc.Pid, func(p string) bool { return strings.HasSuffix(p, "/libc.so.6") })
			putsAddr = bias + symbolValue(t, libc, "puts")
			if err := th.Proc.SetBreakpoint(putsAddr); err != nil {
				t.Errorf("SetBreakpoint(puts): %v", err)
			}
			if err := th.Proc.ClearBreakpoint(mainAddr); err != nil {
				t.Errorf("ClearBreakpoint(main): %v", err)
			}
			if err := th.Proc.ClearBreakpoint(mainAddr); !errors.Is(err, intercept.ErrNoBreakpoint) {
				t.Errorf("second ClearBreakpoint(main) = %v, want ErrNoBreakpoint", err)
			}
		}
		return intercept.Continue()
	}
	runPoints(t, pt, intercept.Options{}, "libc")
	if n := count(pt.hits, func(h hit) bool { return h.addr == mainAddr }); n != 1 {
		t.Errorf("main: %d hits, want 1", n)
	}
	if n := count(pt.hits, func(h hit) bool { return h.addr == putsAddr && h.tid == h.pid }); n != 3 || len(pt.hits) != 4 {
		t.Errorf("puts: %d hits by the main thread (of %d in all), want 3 (of 4)", n, len(pt.hits))
	}
}

// TestBreakpointFork: a fork child inherits the parent's breakpoints (its
// text is a copy with the int3s), reports its hits with its own Process,
// and can clear them without affecting the parent; a vfork child shares
// them.
func TestBreakpointFork(t *testing.T) {
	pt := newPointTool(t)
	var addrs map[string]uint64
	var root int
	forkChild, vforkChild := 0, 0
	pt.start = func(p, parent *intercept.Process) {
		if parent == nil {
			root = p.Pid
			addrs = plantTargets(t, p, targets...)
			return
		}
		if got := p.Breakpoints(); len(got) != len(targets) {
			t.Errorf("child %d starts with breakpoints %#x, want the parent's %d", p.Pid, got, len(targets))
		}
		if p.Parent.Pid != root {
			t.Errorf("child's parent %d, want %d", p.Parent.Pid, root)
		}
	}
	pt.thread = func(th, parent *intercept.Thread) {
		if parent == nil || parent.Proc == th.Proc {
			return
		}
		if th.CloneFlags&unix.CLONE_VM != 0 {
			vforkChild = th.Proc.Pid
			return
		}
		forkChild = th.Proc.Pid
		// Only the child's copy loses it.
		if err := th.Proc.ClearBreakpoint(addrs["bp_mov"]); err != nil {
			t.Errorf("clear in the fork child: %v", err)
		}
	}
	runPoints(t, pt, intercept.Options{}, "fork")
	for _, c := range []struct {
		who  string
		pid  int
		want map[string]int
	}{
		{"parent", root, map[string]int{"bp_step": 2, "bp_push": 2, "bp_endbr": 2, "bp_mov": 2, "bp_lea": 2, "bp_rip": 2, "bp_load": 2}},
		{"fork child", forkChild, map[string]int{"bp_step": 3, "bp_push": 3, "bp_endbr": 3, "bp_mov": 0, "bp_lea": 3, "bp_rip": 3, "bp_load": 3}},
		{"vfork child", vforkChild, map[string]int{"bp_step": 1, "bp_push": 1, "bp_endbr": 1, "bp_mov": 1, "bp_lea": 1, "bp_rip": 1, "bp_load": 1}},
	} {
		for name, want := range c.want {
			if n := count(pt.hits, func(h hit) bool { return h.pid == c.pid && h.addr == addrs[name] }); n != want {
				t.Errorf("%s %d: %s hit %d times, want %d", c.who, c.pid, name, n, want)
			}
		}
	}
}

// TestBreakpointDisable: a disabled breakpoint stops nobody and is listed
// no more, in the process that disabled it, its fork child (whose text is
// a copy) and its vfork child (whose text it is) alike, until enabled; a
// thread held at a breakpoint disabled meanwhile runs the original
// instruction; disabling twice, clearing a disabled one and enabling
// what was never planted behave as documented.
func TestBreakpointDisable(t *testing.T) {
	pt := newPointTool(t)
	var addrs map[string]uint64
	var root int
	forkChild, vforkChild := 0, 0
	pt.start = func(p, parent *intercept.Process) {
		if parent != nil {
			// bp_push went at the parent's first hit, before its forks.
			if got, want := p.Breakpoints(), parent.Breakpoints(); len(want) != len(targets)-3 || !slices.Equal(got, want) {
				t.Errorf("child %d starts with enabled breakpoints %#x, want its parent's %#x (%d)", p.Pid, got, want, len(targets)-3)
			}
			return
		}
		root = p.Pid
		addrs = plantTargets(t, p, targets...)
		for _, n := range []string{"bp_step", "bp_mov", "bp_mov"} {
			if err := p.DisableBreakpoint(addrs[n]); err != nil {
				t.Errorf("DisableBreakpoint(%s): %v", n, err)
			}
		}
		if p.SharesBreakpoints() {
			t.Errorf("the root shares its breakpoints before any vfork")
		}
		if got := p.Breakpoints(); len(got) != len(targets)-2 {
			t.Errorf("Breakpoints() = %#x after disabling two, want %d", got, len(targets)-2)
		}
		if err := p.EnableBreakpoint(addrs["bp_rip"] + 1); !errors.Is(err, intercept.ErrNoBreakpoint) {
			t.Errorf("EnableBreakpoint where none was planted: %v, want ErrNoBreakpoint", err)
		}
	}
	pt.thread = func(th, parent *intercept.Thread) {
		if parent == nil || parent.Proc == th.Proc {
			return
		}
		if th.CloneFlags&unix.CLONE_VM != 0 {
			vforkChild = th.Proc.Pid
			if !th.Proc.SharesBreakpoints() {
				t.Errorf("the vfork child does not share its parent's breakpoints")
			}
			return
		}
		forkChild = th.Proc.Pid
		// Only the child's copy gets it back; the child clears the
		// other disabled one.
		if err := th.Proc.EnableBreakpoint(addrs["bp_mov"]); err != nil {
			t.Errorf("enable in the fork child: %v", err)
		}
		if err := th.Proc.ClearBreakpoint(addrs["bp_step"]); err != nil {
			t.Errorf("clear a disabled breakpoint in the fork child: %v", err)
		}
	}
	// The parent's first hit of bp_push disables it under the held thread.
	pt.bp = func(th *intercept.Thread, addr uint64) intercept.Action {
		if th.Proc.Pid == root && addr == addrs["bp_push"] {
			if err := th.Proc.DisableBreakpoint(addr); err != nil {
				t.Errorf("disable at the hit: %v", err)
			}
		}
		return intercept.Continue()
	}
	runPoints(t, pt, intercept.Options{}, "fork")
	for _, c := range []struct {
		who  string
		pid  int
		want map[string]int
	}{
		{"parent", root, map[string]int{"bp_step": 0, "bp_push": 1, "bp_endbr": 2, "bp_mov": 0, "bp_lea": 2, "bp_rip": 2, "bp_load": 2}},
		{"fork child", forkChild, map[string]int{"bp_step": 0, "bp_push": 0, "bp_endbr": 3, "bp_mov": 3, "bp_lea": 3, "bp_rip": 3, "bp_load": 3}},
		{"vfork child", vforkChild, map[string]int{"bp_step": 0, "bp_push": 0, "bp_endbr": 1, "bp_mov": 0, "bp_lea": 1, "bp_rip": 1, "bp_load": 1}},
	} {
		for name, want := range c.want {
			if n := count(pt.hits, func(h hit) bool { return h.pid == c.pid && h.addr == addrs[name] }); n != want {
				t.Errorf("%s %d: %s hit %d times, want %d", c.who, c.pid, name, n, want)
			}
		}
	}
}

// TestBreakpointExec: after an execve the set is empty (nothing of the old
// image is written into the new one: its text is the file's), old
// addresses are unknown, and the tool can plant anew at Exec.
func TestBreakpointExec(t *testing.T) {
	pt := newPointTool(t)
	path := testprog.Build(t, "points")
	var first, second map[string]uint64
	pt.start = func(p, _ *intercept.Process) { first = plantTargets(t, p, targets...) }
	pt.exec = func(th *intercept.Thread) {
		p := th.Proc
		if got := p.Breakpoints(); len(got) != 0 {
			t.Errorf("breakpoints after exec: %#x", got)
		}
		for _, name := range targets {
			a := addrOf(t, p.Pid, path, name)
			if a != first[name] {
				t.Errorf("%s moved from %#x to %#x with ASLR off", name, first[name], a)
			}
			var b [1]byte
			if _, err := p.Mem.ReadAt(b[:], int64(a)); err != nil || b[0] == 0xcc {
				t.Errorf("%s in the new image: byte %#x, err %v", name, b[0], err)
			}
			if err := p.ClearBreakpoint(a); !errors.Is(err, intercept.ErrNoBreakpoint) {
				t.Errorf("ClearBreakpoint(%s) after exec = %v, want ErrNoBreakpoint", name, err)
			}
		}
		second = plantTargets(t, p, "bp_step")
	}
	runPoints(t, pt, intercept.Options{DisableASLR: true}, "exec")
	if second == nil {
		t.Fatal("no exec seen")
	}
	// First image: one call of each; second: 3 of bp_step only.
	if len(pt.hits) != len(targets)+3 {
		t.Errorf("%d hits, want %d: %v", len(pt.hits), len(targets)+3, pt.hits)
	}
	if n := count(pt.hits, func(h hit) bool { return h.addr == second["bp_step"] }); n != 4 {
		t.Errorf("bp_step: %d hits, want 1+3", n)
	}
}

// TestGuestTraps: the guest's own raise(SIGTRAP) and int3 reach its
// handler unchanged (si_code SI_TKILL and SI_KERNEL), while breakpoints
// elsewhere are reported to the tool.
func TestGuestTraps(t *testing.T) {
	pt := newPointTool(t)
	pt.start = func(p, _ *intercept.Process) { plantTargets(t, p, targets...) }
	runPoints(t, pt, intercept.Options{}, "traps")
	if len(pt.signals) != 2 || pt.signals[0] != unix.SIGTRAP || pt.signals[1] != unix.SIGTRAP {
		t.Errorf("signals %v, want two SIGTRAPs", pt.signals)
	}
	if len(pt.hits) != len(targets) {
		t.Errorf("%d hits, want %d", len(pt.hits), len(targets))
	}
}

// TestBreakpointSyscallInsn plants a breakpoint on a `syscall`
// instruction: it is stepped over to its syscall entry, so a subscribed
// call still stops at seccomp (and is seen once) and unsubscribed ones
// run; results are right.
func TestBreakpointSyscallInsn(t *testing.T) {
	pt := newPointTool(t)
	pt.sub = intercept.SubscribeTo(unix.SYS_GETPPID)
	var insn uint64
	enters := 0
	pt.start = func(p, _ *intercept.Process) { insn = plantTargets(t, p, "bp_sys_insn")["bp_sys_insn"] }
	pt.enter = func(th *intercept.Thread, c *intercept.Syscall) intercept.Action {
		if c.Nr == unix.SYS_GETPPID && c.IP == insn+2 {
			enters++
		}
		return intercept.Continue()
	}
	runPoints(t, pt, intercept.Options{}, "syscall")
	if len(pt.hits) != 20 || enters != 10 {
		t.Errorf("%d hits and %d getppid entries from the instruction, want 20 and 10", len(pt.hits), enters)
	}
}

// TestBreakpointBlockingSyscall: a breakpoint on a syscall instruction
// that blocks until another thread (whose write is subscribed) provides
// data does not block the tracer.
func TestBreakpointBlockingSyscall(t *testing.T) {
	pt := newPointTool(t)
	pt.sub = intercept.SubscribeTo(unix.SYS_WRITE, unix.SYS_READ)
	pt.start = func(p, _ *intercept.Process) { plantTargets(t, p, "bp_sys_insn") }
	runPoints(t, pt, intercept.Options{}, "sysblock")
	if len(pt.hits) != 1 {
		t.Errorf("%d hits, want 1", len(pt.hits))
	}
}

// TestBreakpointSignalDuringStep holds a thread at a breakpoint while
// another sends it SIGUSR1, then resumes it. Stepped in place (bp_step),
// the pending signal stops the step before the instruction: the handler
// runs and the thread reaches the breakpoint again, so it is reported
// twice. Emulated (bp_push), it is reported once. The handler runs once
// either way.
func TestBreakpointSignalDuringStep(t *testing.T) {
	for _, c := range []struct {
		target string
		hits   int
	}{{"step", 2}, {"push", 1}} {
		t.Run(c.target, func(t *testing.T) {
			pt := newPointTool(t)
			pt.sub = intercept.SubscribeTo(unix.SYS_TGKILL)
			var atBP, sender *intercept.Thread
			pt.start = func(p, _ *intercept.Process) { plantTargets(t, p, "bp_"+c.target) }
			pt.bp = func(th *intercept.Thread, addr uint64) intercept.Action {
				if atBP != nil {
					return intercept.Continue() // the second report
				}
				atBP = th
				if sender != nil { // the sender waited for this
					if err := sender.Resume(intercept.TraceExit()); err != nil {
						t.Error(err)
					}
				}
				return intercept.Hold()
			}
			pt.enter = func(th *intercept.Thread, _ *intercept.Syscall) intercept.Action {
				if atBP == nil {
					sender = th
					return intercept.Hold()
				}
				return intercept.TraceExit()
			}
			pt.exit = func(th *intercept.Thread, _ *intercept.Syscall) {
				if !atBP.Held() {
					t.Errorf("target not held when the signal was sent")
				}
				if err := atBP.Resume(intercept.Continue()); err != nil {
					t.Error(err)
				}
			}
			runPoints(t, pt, intercept.Options{}, "signal", c.target)
			if len(pt.hits) != c.hits {
				t.Errorf("%d hits, want %d", len(pt.hits), c.hits)
			}
			if len(pt.signals) != 1 || pt.signals[0] != unix.SIGUSR1 {
				t.Errorf("signals %v, want [SIGUSR1]", pt.signals)
			}
		})
	}
}

// TestBreakpointALU plants a breakpoint on every alu_bp_ function of the
// guest (each starts with an ALU op, a mov $imm or a load, all emulated)
// and the guest compares each with its unbroken twin on edge values: the
// emulation must give the CPU's results and flags. The guest is
// single-threaded, so loads are emulated too.
func TestBreakpointALU(t *testing.T) {
	pt := newPointTool(t)
	path := testprog.Build(t, "points")
	var names []string
	pt.start = func(p, _ *intercept.Process) {
		symbolValue(t, path, "main") // load the table
		symbols.Lock()
		for n := range symbols.m[path] {
			if strings.HasPrefix(n, "alu_bp_") {
				names = append(names, n)
			}
		}
		symbols.Unlock()
		plantTargets(t, p, names...)
	}
	res := runPoints(t, pt, intercept.Options{}, "alu")
	if len(names) != 25 || len(pt.hits) != 4785 {
		t.Errorf("%d targets, %d hits; want 25 and 4785", len(names), len(pt.hits))
	}
	// Emulated: one stop per hit, none for steps.
	if res.Stops > uint64(len(pt.hits))+100 {
		t.Errorf("%d stops for %d hits: some were stepped", res.Stops, len(pt.hits))
	}
}

// TestPointErrors checks the argument errors of the breakpoint and
// watchpoint calls.
func TestPointErrors(t *testing.T) {
	pt := newPointTool(t)
	path := testprog.Build(t, "points")
	pt.start = func(p, _ *intercept.Process) {
		if err := p.SetBreakpoint(0x10); !errors.Is(err, intercept.ErrFault) {
			t.Errorf("SetBreakpoint(unmapped) = %v, want ErrFault", err)
		}
		// The guest's own int3 in run_traps.
		start := addrOf(t, p.Pid, path, "run_traps")
		code := make([]byte, 512)
		n, _ := p.Mem.ReadAt(code, int64(start))
		i := bytes.IndexByte(code[:n], 0xcc)
		if i < 0 {
			t.Error("no int3 in run_traps")
		} else if err := p.SetBreakpoint(start + uint64(i)); !errors.Is(err, intercept.ErrInt3) {
			t.Errorf("SetBreakpoint(int3) = %v, want ErrInt3", err)
		}
		if err := p.ClearBreakpoint(start); !errors.Is(err, intercept.ErrNoBreakpoint) {
			t.Errorf("ClearBreakpoint(unset) = %v, want ErrNoBreakpoint", err)
		}
		v := addrOf(t, p.Pid, path, "watched_wide")
		for _, c := range []struct {
			addr uint64
			n    int
			kind intercept.WatchKind
		}{
			{v + 1, 4, intercept.WatchWrite},   // misaligned
			{v, 3, intercept.WatchWrite},       // bad length
			{v, 16, intercept.WatchReadWrite},  // too long
			{v, 2, intercept.WatchExec},        // exec is 1 byte
			{v, 4, 0},                          // no kind
			{1 << 48, 8, intercept.WatchWrite}, // not user space
			{^uint64(7), 8, intercept.WatchWrite},
		} {
			if slot, err := p.SetWatchpoint(c.addr, c.n, c.kind); err == nil {
				t.Errorf("SetWatchpoint(%#x, %d, %v) = slot %d, want an error", c.addr, c.n, c.kind, slot)
			}
		}
		for i := 0; i < intercept.NumWatchSlots; i++ {
			slot, err := p.SetWatchpoint(v, 8, intercept.WatchWrite)
			if err != nil || slot != i {
				t.Errorf("SetWatchpoint #%d = %d, %v", i, slot, err)
			}
		}
		if _, err := p.SetWatchpoint(v, 8, intercept.WatchWrite); !errors.Is(err, intercept.ErrNoWatchSlot) {
			t.Errorf("fifth SetWatchpoint = %v, want ErrNoWatchSlot", err)
		}
		if err := p.ClearWatchpoint(4); err == nil {
			t.Error("ClearWatchpoint(4) succeeded")
		}
		for i := 0; i < intercept.NumWatchSlots; i++ {
			if err := p.ClearWatchpoint(i); err != nil {
				t.Errorf("ClearWatchpoint(%d): %v", i, err)
			}
		}
		if err := p.ClearWatchpoint(0); err == nil {
			t.Error("ClearWatchpoint of a free slot succeeded")
		}
	}
	runPoints(t, pt, intercept.Options{}, "threads", "1")
	if len(pt.whits) != 0 {
		t.Errorf("watch hits after clearing every slot: %v", pt.whits)
	}
}

// TestWatchpoints: two threads created after the watchpoints were set
// each increment a global 50 times (one load, one store). A write
// watchpoint sees exactly 100 writes, a read/write one 201 accesses (and
// the main thread's final load), an 8-byte one on another global the 2
// stores of it; each hit names its slot and address.
func TestWatchpoints(t *testing.T) {
	path := testprog.Build(t, "points")
	for _, c := range []struct {
		kind      intercept.WatchKind
		want      int
		wantMain  int
		wantWide  int
		wideSlot  int
		counterSl int
	}{
		{intercept.WatchWrite, 100, 0, 2, 1, 0},
		{intercept.WatchReadWrite, 201, 1, 2, 1, 0},
	} {
		t.Run(c.kind.String(), func(t *testing.T) {
			pt := newPointTool(t)
			var counter, wide uint64
			pt.start = func(p, _ *intercept.Process) {
				counter = addrOf(t, p.Pid, path, "watched_counter")
				wide = addrOf(t, p.Pid, path, "watched_wide")
				if slot, err := p.SetWatchpoint(counter, 4, c.kind); err != nil || slot != 0 {
					t.Errorf("SetWatchpoint(counter) = %d, %v", slot, err)
				}
				if slot, err := p.SetWatchpoint(wide, 8, intercept.WatchWrite); err != nil || slot != 1 {
					t.Errorf("SetWatchpoint(wide) = %d, %v", slot, err)
				}
				if w := p.Watchpoints(); w[0] != (intercept.Watchpoint{Addr: counter, Len: 4, Kind: c.kind}) || w[2].Len != 0 {
					t.Errorf("Watchpoints() = %+v", w)
				}
			}
			runPoints(t, pt, intercept.Options{}, "watch")
			onCounter := func(h hit) bool { return h.slot == 0 && h.addr == counter }
			if n := count(pt.whits, onCounter); n != c.want {
				t.Errorf("%d hits on the counter, want %d", n, c.want)
			}
			for _, w := range pt.workers {
				if n := count(pt.whits, func(h hit) bool { return onCounter(h) && h.tid == w }); n != (c.want-c.wantMain)/2 {
					t.Errorf("thread %d: %d hits on the counter, want %d", w, n, (c.want-c.wantMain)/2)
				}
			}
			if n := count(pt.whits, func(h hit) bool { return h.slot == 1 && h.addr == wide }); n != c.wantWide {
				t.Errorf("%d hits on the wide global, want %d", n, c.wantWide)
			}
			if len(pt.whits) != c.want+c.wantWide {
				t.Errorf("%d hits in all, want %d", len(pt.whits), c.want+c.wantWide)
			}
		})
	}
}

// TestWatchStep: one thread writes two watched globals in turn (the kernel
// resets DR6 at each debug trap: each hit names one slot), then executes
// a breakpoint on an instruction that writes one of them: the breakpoint
// is reported, then the watchpoint that its step-over triggered.
func TestWatchStep(t *testing.T) {
	pt := newPointTool(t)
	path := testprog.Build(t, "points")
	var events []string
	pt.start = func(p, _ *intercept.Process) {
		for _, name := range []string{"watched_counter", "watched_wide"} {
			n := 4
			if name == "watched_wide" {
				n = 8
			}
			if _, err := p.SetWatchpoint(addrOf(t, p.Pid, path, name), n, intercept.WatchWrite); err != nil {
				t.Error(err)
			}
		}
		plantTargets(t, p, "bp_store")
	}
	pt.bp = func(*intercept.Thread, uint64) intercept.Action {
		events = append(events, "bp")
		return intercept.Continue()
	}
	pt.watch = func(_ *intercept.Thread, slot int, _ uint64) intercept.Action {
		events = append(events, "w"+strconv.Itoa(slot))
		return intercept.Continue()
	}
	runPoints(t, pt, intercept.Options{}, "store")
	if got, want := strings.Join(events, " "), "w0 w1 w0 w1 w0 w1 bp w0"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestWatchHold holds a thread at a write hit (inside the guest's critical
// section) while the other worker is not blocked in futex, until another
// thread enters futex (to wait for the mutex, or in join), hits the
// watchpoint or exits, and resumes it from that callback. Counts and
// output are as without holding.
//
// At least one hold happens whatever the OS does with the threads: the
// first hit is held while the other worker has not started (it starts,
// runs into the mutex and releases it), and a worker that starts before
// any hit is held at its start until the first hit, which is then held
// and lets it go.
func TestWatchHold(t *testing.T) {
	pt := newPointTool(t)
	pt.sub = intercept.SubscribeTo(unix.SYS_FUTEX)
	path := testprog.Build(t, "points")
	var held, startHeld *intercept.Thread
	inFutex := map[*intercept.Thread]bool{}
	workers := map[*intercept.Thread]bool{}
	started, holds := 0, 0
	hit := false
	resume := func(th *intercept.Thread) {
		if err := th.Resume(intercept.Continue()); err != nil {
			t.Errorf("resume %d: %v", th.Tid, err)
		}
	}
	release := func(by *intercept.Thread) {
		if held != nil && held != by {
			h := held
			held = nil
			resume(h)
		}
	}
	pt.start = func(p, _ *intercept.Process) {
		if _, err := p.SetWatchpoint(addrOf(t, p.Pid, path, "watched_counter"), 4, intercept.WatchWrite); err != nil {
			t.Error(err)
		}
	}
	pt.thread = func(th, parent *intercept.Thread) {
		if parent == nil {
			return
		}
		workers[th] = true
		if started++; started == 2 && !hit {
			startHeld = th
			th.Hold()
		}
	}
	pt.watch = func(th *intercept.Thread, _ int, _ uint64) intercept.Action {
		hit = true
		release(th)
		switch {
		case startHeld != nil:
			held, holds = th, holds+1
			s := startHeld
			startHeld = nil
			resume(s)
			return intercept.Hold()
		case started < 2:
			held, holds = th, holds+1
			return intercept.Hold()
		}
		for o := range workers {
			if o != th && !inFutex[o] {
				held, holds = th, holds+1
				return intercept.Hold()
			}
		}
		return intercept.Continue()
	}
	pt.enter = func(th *intercept.Thread, _ *intercept.Syscall) intercept.Action {
		inFutex[th] = true
		release(th)
		return intercept.TraceExit()
	}
	pt.exit = func(th *intercept.Thread, _ *intercept.Syscall) { inFutex[th] = false }
	pt.thrExit = func(th *intercept.Thread) {
		delete(workers, th)
		release(th)
	}
	runPoints(t, pt, intercept.Options{}, "watch")
	if len(pt.whits) != 100 || holds == 0 {
		t.Errorf("%d hits (%d held), want 100 (some held)", len(pt.whits), holds)
	}
}

// TestWatchExec uses a debug register as a hardware breakpoint: each call
// of bp_step from either thread is reported once, before the instruction
// (rip at it), and the thread runs on without a step-over.
func TestWatchExec(t *testing.T) {
	pt := newPointTool(t)
	path := testprog.Build(t, "points")
	var fn uint64
	pt.start = func(p, _ *intercept.Process) {
		fn = addrOf(t, p.Pid, path, "bp_step")
		if _, err := p.SetWatchpoint(fn, 1, intercept.WatchExec); err != nil {
			t.Error(err)
		}
	}
	pt.watch = func(th *intercept.Thread, slot int, addr uint64) intercept.Action {
		if regs, err := th.Regs(); err != nil || regs.Rip != addr {
			t.Errorf("exec watchpoint: rip %#x, want %#x (%v)", regs.Rip, addr, err)
		}
		return intercept.Continue()
	}
	runPoints(t, pt, intercept.Options{}, "threads")
	for _, w := range pt.workers {
		if n := count(pt.whits, func(h hit) bool { return h.tid == w && h.addr == fn }); n != 100 {
			t.Errorf("thread %d: %d hits, want 100", w, n)
		}
	}
}

// TestWatchFork: fork and vfork children inherit the parent's watchpoints
// (the kernel gives them none; the tracer writes them before the child
// runs); execve clears them and the tool may set them again at Exec.
func TestWatchFork(t *testing.T) {
	path := testprog.Build(t, "points")
	t.Run("fork", func(t *testing.T) {
		pt := newPointTool(t)
		var root int
		pt.start = func(p, parent *intercept.Process) {
			if parent == nil {
				root = p.Pid
				if _, err := p.SetWatchpoint(addrOf(t, p.Pid, path, "bp_step"), 1, intercept.WatchExec); err != nil {
					t.Error(err)
				}
			} else if w := p.Watchpoints(); w[0].Len != 1 {
				t.Errorf("child %d starts with watchpoints %+v", p.Pid, w)
			}
		}
		runPoints(t, pt, intercept.Options{}, "fork")
		byPid := map[int]int{}
		for _, h := range pt.whits {
			byPid[h.pid]++
		}
		if len(byPid) != 3 || byPid[root] != 2 {
			t.Errorf("hits by process %v, want parent %d: 2 and two children (3 and 1)", byPid, root)
		}
		for pid, n := range byPid {
			if pid != root && n != 3 && n != 1 {
				t.Errorf("child %d: %d hits, want 3 (fork) or 1 (vfork)", pid, n)
			}
		}
	})
	t.Run("exec", func(t *testing.T) {
		pt := newPointTool(t)
		pt.start = func(p, _ *intercept.Process) {
			if _, err := p.SetWatchpoint(addrOf(t, p.Pid, path, "bp_step"), 1, intercept.WatchExec); err != nil {
				t.Error(err)
			}
		}
		sawExec := false
		pt.exec = func(th *intercept.Thread) {
			sawExec = true
			if w := th.Proc.Watchpoints(); w[0].Len != 0 {
				t.Errorf("watchpoints after exec: %+v", w)
			}
			if len(pt.whits) != 1 {
				t.Errorf("%d hits before exec, want 1", len(pt.whits))
			}
			if _, err := th.Proc.SetWatchpoint(addrOf(t, th.Proc.Pid, path, "bp_push"), 1, intercept.WatchExec); err != nil {
				t.Error(err)
			}
		}
		runPoints(t, pt, intercept.Options{DisableASLR: true}, "exec")
		if !sawExec || len(pt.whits) != 4 {
			t.Errorf("%d hits, want 1 before exec and 3 after", len(pt.whits))
		}
	})
}

// TestDebugRegOffset checks offsetof(struct user, u_debugreg) against the
// C compiler's.
func TestDebugRegOffset(t *testing.T) {
	out, err := exec.Command(testprog.Build(t, "points"), "offsetof").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("u_debugreg=%d\n", intercept.OffDebugReg); string(out) != want {
		t.Fatalf("C says %q, intercept uses %q", out, want)
	}
}
