package intercept

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// Command is the guest program to run.
type Command struct {
	// Path is the executable to run: a path, not a name to look up in
	// $PATH (resolve one with [os/exec.LookPath] first).
	Path string
	// Args holds the argument vector, including argv[0].
	Args []string
	// Env is the environment; nil means the tracer's own.
	Env []string
	// Dir is the working directory; "" means the tracer's.
	Dir string
	// Stdin, Stdout and Stderr become the guest's fds 0-2; nil means
	// /dev/null for stdin and the tracer's own for the others.
	Stdin, Stdout, Stderr *os.File
	// KeepProcessGroup runs the guest in the tracer's process group, as
	// strace does, so that a guest on the terminal is in its foreground
	// group (reads it without SIGTTIN) and gets its Ctrl-C. By default
	// the guest gets a process group of its own. Either way its signals
	// cannot reach the tracer (see guard.go).
	KeepProcessGroup bool
}

// Options tune a run.
type Options struct {
	// Pin pins the tracer thread and the guest to CPU (see pin_linux.go).
	// Only one of them runs at a time anyway, and cross-CPU wake-ups
	// dominate the cost of a stop; but a CPU that others want makes the
	// run wait for it. The zero Options pin nothing.
	Pin bool
	CPU int
	// DisableASLR runs the guest with ADDR_NO_RANDOMIZE.
	DisableASLR bool
	// KillOnRootExit ends the run when the first process exits, killing
	// whatever guest processes remain. Without it the run lasts until the
	// last traced process is gone.
	KillOnRootExit bool
	// DisableVDSO hides the vDSO from every program the guest runs (the
	// AT_SYSINFO_EHDR auxv entry becomes AT_IGNORE at each exec), so that
	// clock_gettime, gettimeofday, time and getcpu become real, traceable
	// syscalls.
	DisableVDSO bool
	// TrapRDTSC makes rdtsc/rdtscp fault (PR_SET_TSC, inherited across
	// fork and exec): the tool sees a SIGSEGV it can emulate, see
	// IsRDTSC.
	TrapRDTSC bool
	// AtRandom, if set, replaces the 16 random bytes the kernel gives
	// every new program (auxv AT_RANDOM; Go seeds its runtime's randomness
	// from them, glibc its stack canary) with these, at each exec.
	AtRandom *[16]byte
	// Sandbox, if set, gives the guest a world of its own (namespaces and
	// mounts; package intercept/sandbox). The tracer thread enters it
	// just before the fork, so it is not reused after the run.
	Sandbox Sandbox
	// CPUTick, if positive, stops each guest thread every CPUTick of the
	// CPU time it spends in user code, and calls Tool.CPUTick there (see
	// cputick_linux.go; Thread.CPUTicking says whether a thread has
	// ticks: perf events may be unavailable).
	CPUTick time.Duration
}

// Sandbox puts a run's guest in namespaces of its own. Its methods are
// called on the tracer thread, in this order: Enter right before the
// guest is forked (the guest inherits the thread's namespaces), Leave
// right after, and Close when the run is over (every traced process is
// gone, or was killed). A thread that entered is never given back to the
// Go runtime: its namespaces and file system root are no longer the
// process's.
type Sandbox interface {
	// Enter prepares the thread for the fork. dir is the guest's
	// working directory ("": the tracer's); Enter returns the one the
	// guest must start in, and the pid of a process it started that the
	// tracer kills with the guest if the run is cancelled (0: none).
	Enter(dir string) (guestDir string, keeper int, err error)
	// Leave returns the thread to the tracer's mount namespace (the
	// tracer reads the host's /proc).
	Leave() error
	// Close ends what Enter started and waits until it is gone.
	Close()
}

// Result is the outcome of a run.
type Result struct {
	// Status is the wait status of the first process.
	Status unix.WaitStatus
	// Pid is the pid of the first process.
	Pid int
	// Stops counts ptrace-stops handled (all kinds).
	Stops uint64
	// Unpinned reports that the run was pinned (Options.Pin) and
	// unpinned because that CPU was contended (see pin_linux.go).
	Unpinned bool
	// CPUWait is how long the tracer thread and the guest's threads of
	// a pinned run waited for a CPU (on a run queue) from the pinning on
	// (pin_linux.go): how contended the CPU was. Timing, not part of what
	// the guest did.
	CPUWait time.Duration
}

// ExitCode maps Status the way a shell does: the exit status, or 128+N
// for death by signal N.
func (r *Result) ExitCode() int {
	switch {
	case r.Status.Exited():
		return r.Status.ExitStatus()
	case r.Status.Signaled():
		return 128 + int(r.Status.Signal())
	}
	return 125
}

// Tracer is the state of one run. It is created and used only inside Run,
// on one locked OS thread; tools reach it through Thread.Tracer.
type Tracer struct {
	tool    Tool
	opts    Options
	sub     Subscription // what the filter stops: the tool's and the guard's
	toolSub Subscription // what the tool asked for
	guard   guard        // see guard.go

	threads  map[int]*Thread
	procs    map[int]*Process
	root     *Process
	result   Result
	rootGone bool
	// stepped: the tracer has single-stepped some thread in this run
	// (see handleTrap's stray traps).
	stepped bool

	early map[int]unix.WaitStatus // first stops of threads not yet announced
	// doomed are threads that died before they were announced (their
	// first stop was their exit: the creator was killed before its
	// clone event): resumed to their death and reaped, never announced.
	doomed   map[int]bool
	deferred []waitEvent // statuses consumed by targeted waits

	live   *liveSet // pids the canceller may kill; shared with it
	pinner *pinner  // nil unless pinned
	// sandboxed: the thread entered Options.Sandbox and may not be
	// reused.
	sandboxed bool
}

type waitEvent struct {
	tid int
	ws  unix.WaitStatus
}

// liveSet is the only state shared between the tracer thread and another
// goroutine (the canceller): the set of guest pids to SIGKILL on
// cancellation. Lock order: liveSet.mu is a leaf.
type liveSet struct {
	mu   sync.Mutex
	pids map[int]bool
	dead bool // killAll was called: kill new pids at once
}

func (l *liveSet) add(pid int) {
	l.mu.Lock()
	l.pids[pid] = true
	if l.dead {
		unix.Kill(pid, unix.SIGKILL)
	}
	l.mu.Unlock()
}

func (l *liveSet) remove(pid int) {
	l.mu.Lock()
	delete(l.pids, pid)
	l.mu.Unlock()
}

// snapshot returns the live pids, in no particular order.
func (l *liveSet) snapshot() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	pids := make([]int, 0, len(l.pids))
	for pid := range l.pids {
		pids = append(pids, pid)
	}
	return pids
}

func (l *liveSet) killAll() {
	l.mu.Lock()
	l.dead = true
	for pid := range l.pids {
		unix.Kill(pid, unix.SIGKILL)
	}
	l.mu.Unlock()
}

// Run runs cmd under tool until every traced process has exited (or, with
// KillOnRootExit, until the first one has). Cancelling ctx kills the guest.
// Run starts a dedicated OS thread for the tracer and returns when it is
// done; no guest process outlives Run, nor the tracer process
// (PTRACE_O_EXITKILL and PR_SET_PDEATHSIG).
func Run(ctx context.Context, cmd *Command, tool Tool, opts Options) (*Result, error) {
	quietSIGCHLD()
	tr := &Tracer{
		tool:    tool,
		opts:    opts,
		threads: make(map[int]*Thread),
		procs:   make(map[int]*Process),
		early:   make(map[int]unix.WaitStatus),
		doomed:  make(map[int]bool),
		live:    &liveSet{pids: make(map[int]bool)},
	}
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		// The thread stays locked for the whole run: it carries the
		// guest's CPU affinity and it is the ptrace tracer of every
		// guest thread. Afterwards it is given back to the runtime
		// (creating and ending a thread per run costs ~40 µs here),
		// unless the run failed, its affinity cannot be restored or it
		// entered a sandbox: then the goroutine returns locked and the
		// thread ends. The affinity is restored in every case: a locked
		// goroutine that ends on the main thread does not end it (the
		// runtime parks it), and the main thread's mask is the
		// process's in /proc.
		runtime.LockOSThread()
		saved, ok := saveAffinity()
		res, err := tr.run(cmd)
		if tr.pinner != nil {
			unpinned, waited := tr.pinner.stop()
			if res != nil {
				res.Unpinned, res.CPUWait = unpinned, waited
			}
		}
		restored := ok && restoreAffinity(&saved)
		if err == nil && restored && !tr.sandboxed {
			runtime.UnlockOSThread()
		}
		done <- outcome{res, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		tr.live.killAll()
		o = <-done
		if o.err == nil {
			o.err = ctx.Err()
		}
	}
	if o.err != nil && ctx.Err() != nil && !errors.Is(o.err, ctx.Err()) {
		// Cancelled: a step that failed because the guest was killed
		// (one of the start-up, say) is the cancellation's doing.
		o.err = fmt.Errorf("%w (%v)", ctx.Err(), o.err)
	}
	return o.res, o.err
}

// Kill ends the run: every guest process is sent SIGKILL. The tracer keeps
// running until their exits have been reported. Call it from a callback.
func (tr *Tracer) Kill() { tr.live.killAll() }

// Tracer returns the tracer that owns t.
func (t *Thread) Tracer() *Tracer { return t.tr }

// Threads returns every live guest thread ordered by tid.
func (tr *Tracer) Threads() []*Thread {
	ts := make([]*Thread, 0, len(tr.threads))
	for _, t := range tr.threads {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Tid < ts[j].Tid })
	return ts
}

func (tr *Tracer) run(cmd *Command) (*Result, error) {
	tr.toolSub = tr.tool.Subscription()
	tr.sub = tr.toolSub.with(guardedSyscalls())
	tr.guard = newGuard()
	if sb := tr.opts.Sandbox; sb != nil {
		defer sb.Close()
	}
	root, err := tr.launch(cmd)
	if err != nil {
		return nil, err
	}
	err = tr.loop(root)
	if err != nil {
		// Leave nothing behind: kill and reap.
		tr.live.killAll()
		tr.drain()
	}
	return &tr.result, err
}

// drain reaps every remaining tracee after a fatal error. Threads in a
// stop already reported are resumed first: one at its exit stop would
// wait for that forever (SIGKILL does not end an exit stop).
func (tr *Tracer) drain() {
	for _, t := range tr.threads {
		if t.stop != stopRunning {
			ptraceCont(t.Tid, 0)
		}
	}
	for tid := range tr.early {
		ptraceCont(tid, 0)
	}
	var ws unix.WaitStatus
	for {
		tid, err := wait4(-1, &ws, 0)
		if err != nil {
			return
		}
		if ws.Stopped() {
			ptraceCont(tid, 0)
		}
	}
}

func (tr *Tracer) loop(root *Thread) error {
	defer tr.closeTicks()
	tr.startTick(root)
	tr.tool.ProcessStart(root.Proc, nil)
	tr.tool.ThreadStart(root, nil)
	if !root.held {
		if err := root.resume(Continue()); err != nil {
			return err
		}
	}
	var ws unix.WaitStatus
	for len(tr.threads) > 0 || len(tr.early) > 0 || len(tr.doomed) > 0 {
		var tid int
		if n := len(tr.deferred); n > 0 {
			ev := tr.deferred[0]
			tr.deferred = tr.deferred[1:]
			tid, ws = ev.tid, ev.ws
		} else {
			var err error
			tid, err = wait4(-1, &ws, 0)
			if err == unix.ECHILD {
				return nil
			}
			if err != nil {
				return fmt.Errorf("wait4: %w", err)
			}
		}
		tr.result.Stops++
		if err := tr.handle(tid, ws); err != nil {
			return err
		}
	}
	return nil
}

// handle dispatches one wait status.
func (tr *Tracer) handle(tid int, ws unix.WaitStatus) error {
	if ws.Exited() || ws.Signaled() {
		if t := tr.threads[tid]; t != nil {
			tr.threadGone(t, ws)
		}
		delete(tr.early, tid)
		delete(tr.doomed, tid)
		return nil
	}
	st := decodeStatus(ws)
	if !st.stopped {
		return nil // WCONTINUED is not requested; be robust anyway
	}
	event := st.event
	if event == unix.PTRACE_EVENT_EXEC {
		return tr.handleExec(tid)
	}
	t := tr.threads[tid]
	if t == nil {
		if event == unix.PTRACE_EVENT_EXIT || tr.doomed[tid] {
			// A thread whose first stop is its exit: killed (with
			// its process) before its creator's clone event, which
			// will never come. A thread at its exit stop cannot be
			// killed, only resumed: let it die.
			delete(tr.early, tid)
			tr.doomed[tid] = true
			if err := ptraceCont(tid, 0); err != nil && err != unix.ESRCH {
				return fmt.Errorf("resume dying thread %d: %w", tid, err)
			}
			return nil
		}
		// The first stop of a thread or process whose creation event
		// in its parent has not been reported yet.
		tr.early[tid] = ws
		return nil
	}
	sig := st.sig
	restart := t.restart // valid for this stop only
	t.restart = restartExpect{}
	switch {
	case event == unix.PTRACE_EVENT_SECCOMP:
		return tr.handleSeccomp(t, restart)
	case st.syscallStop():
		return tr.handleSyscallExit(t)
	case event == unix.PTRACE_EVENT_CLONE || event == unix.PTRACE_EVENT_FORK || event == unix.PTRACE_EVENT_VFORK:
		return tr.handleClone(t, event)
	case event == unix.PTRACE_EVENT_EXIT:
		return tr.handleExitEvent(t)
	case st.groupStop():
		t.stop = stopGroup
		if !t.groupStopped {
			t.groupStopped = true
			tr.tool.GroupStop(t, sig)
		}
		return tr.resumeUnlessHeld(t)
	case event == unix.PTRACE_EVENT_STOP:
		t.stop = stopEvent
		if t.groupStopped {
			// The trap that follows the end of a group-stop.
			t.groupStopped = false
			tr.tool.Continued(t)
			return tr.resumeUnlessHeld(t)
		}
		if t.interrupted {
			// An interrupt of pauseOthers that stayed pending.
			t.interrupted = false
			t.expectRestart()
		}
		return t.resume(Continue())
	case event != 0:
		t.stop = stopEvent // VFORK_DONE
		t.vforking = false
		return t.resume(Continue())
	default:
		return tr.handleSignal(t, sig)
	}
}

func (tr *Tracer) handleSeccomp(t *Thread, restart restartExpect) error {
	var info syscallInfo
	if err := ptraceGetSyscallInfo(t.Tid, &info); err != nil {
		if err == unix.ESRCH {
			return nil
		}
		return fmt.Errorf("syscall info of %d: %w", t.Tid, err)
	}
	t.stop = stopSeccomp
	if restart.ok && int(info.Nr) == restart.nr && info.IP == restart.ip {
		// The kernel restarting a call the tool has already seen,
		// which pauseOthers interrupted: let it go on as decided.
		t.stop = stopEvent
		return t.resume(Continue())
	}
	if t.reentry {
		t.reentry = false
		return t.resume(t.reAction)
	}
	c := &t.call
	c.Nr, c.Args, c.IP, c.SP = int(info.Nr), info.Args, info.IP, info.SP
	c.Arch = syscalls.X86_64
	if info.Arch == auditArchI386 {
		c.Arch = syscalls.I386
	} else if c.Nr&x32SyscallBit != 0 {
		c.Arch = syscalls.X32
		c.Nr &^= x32SyscallBit
	}
	c.origNr, c.origArgs, c.scratch = c.Nr, c.Args, 0
	c.entryNr, c.entryArgs = c.Nr, c.Args
	t.applyKeep(c)
	t.wantExit = false
	t.restoreArgs, t.silentExit = false, false
	if c.Arch == syscalls.X86_64 && !tr.toolSub.Has(c.Nr) {
		return t.resume(Continue()) // stopped for the guard alone
	}
	a := tr.tool.SyscallEnter(t, c)
	if t.stop == stopRunning {
		return nil // the tool held and resumed it during the callback
	}
	if a.kind == actHold {
		t.held = true
		return nil
	}
	t.held = false
	return t.resume(a)
}

func (tr *Tracer) handleSyscallExit(t *Thread) error {
	var info syscallInfo
	if err := ptraceGetSyscallInfo(t.Tid, &info); err != nil {
		if err == unix.ESRCH {
			return nil
		}
		return fmt.Errorf("syscall info of %d: %w", t.Tid, err)
	}
	t.stop = stopSyscallExit
	if info.Op != syscallInfoExit {
		// A syscall-entry-stop: we never ask for those outside
		// Inject. Pass it by.
		return t.resume(Continue())
	}
	t.wantExit = false
	if t.restoreArgs {
		if err := t.putBackArgs(); err != nil && err != unix.ESRCH {
			return fmt.Errorf("restore arguments of %d: %w", t.Tid, err)
		}
	}
	if t.silentExit {
		t.silentExit = false
		return tr.resumeUnlessHeld(t)
	}
	ret := int64(info.Nr)
	if r := tr.tool.SyscallExit(t, &t.call, ret); r != ret {
		if err := pokeRet(t.Tid, uint64(r)); err != nil && err != unix.ESRCH {
			return fmt.Errorf("set return of %d: %w", t.Tid, err)
		}
	}
	return tr.resumeUnlessHeld(t)
}

func (tr *Tracer) resumeUnlessHeld(t *Thread) error {
	if t.held {
		return nil
	}
	return t.resume(Continue())
}

func (tr *Tracer) handleSignal(t *Thread, sig unix.Signal) error {
	var si unix.Siginfo
	if err := ptraceGetSiginfo(t.Tid, &si); err != nil {
		if err == unix.ESRCH {
			return nil
		}
		return fmt.Errorf("siginfo of %d: %w", t.Tid, err)
	}
	if t.isTick(sig, &si) {
		return tr.tickHit(t)
	}
	if sig == unix.SIGTRAP {
		if ours, err := tr.handleTrap(t, &si); ours || err != nil {
			return err
		}
	}
	t.stop = stopSignal
	orig := si
	t.sig = tr.tool.Signal(t, sig, &si)
	if t.sig != 0 && si != orig {
		if err := ptraceSetSiginfo(t.Tid, &si); err != nil && err != unix.ESRCH {
			return fmt.Errorf("set siginfo of %d: %w", t.Tid, err)
		}
	}
	return tr.resumeUnlessHeld(t)
}

// handleClone handles PTRACE_EVENT_CLONE/FORK/VFORK in the parent: it waits
// for the child's first stop, announces the child, and resumes both.
func (tr *Tracer) handleClone(parent *Thread, event int) error {
	parent.stop = stopEvent
	msg, err := ptraceEventMsg(parent.Tid)
	if err != nil {
		if err == unix.ESRCH {
			return nil
		}
		return fmt.Errorf("clone event of %d: %w", parent.Tid, err)
	}
	childTid := int(msg)
	flags, clearTID := cloneArgs(parent)
	if event == unix.PTRACE_EVENT_VFORK {
		parent.vforking = true // until its VFORK_DONE
	}
	ws, seen := tr.early[childTid]
	if seen {
		delete(tr.early, childTid)
	} else if _, err := wait4(childTid, &ws, 0); err != nil {
		return fmt.Errorf("wait for new thread %d: %w", childTid, err)
	}
	if ws.Exited() || ws.Signaled() {
		// Killed before its first instruction.
		return tr.resumeUnlessHeld(parent)
	}
	child := &Thread{Tid: childTid, tr: tr, stop: stopEvent, CloneFlags: flags}
	if flags&unix.CLONE_CHILD_CLEARTID != 0 {
		child.ClearTID = clearTID
	}
	if event == unix.PTRACE_EVENT_CLONE && flags&unix.CLONE_THREAD != 0 {
		child.Proc = parent.Proc
		tr.addThread(child)
	} else {
		p := &Process{Pid: childTid, Parent: parent.Proc, Mem: newMemory(childTid)}
		// The child's text holds the parent's int3s: it shares them
		// with CLONE_VM, has a copy of them otherwise. Watchpoints are
		// inherited too (the kernel gives the child none: they are
		// written into its thread before it runs).
		if flags&unix.CLONE_VM != 0 {
			p.bps = parent.Proc.bps
			p.bps.shared = true
		} else {
			p.bps = parent.Proc.bps.copy()
		}
		p.watch = parent.Proc.watch
		child.Proc = p
		tr.procs[p.Pid] = p
		tr.live.add(p.Pid)
		tr.addThread(child)
		tr.tool.ProcessStart(p, parent.Proc)
	}
	tr.startTick(child)
	tr.tool.ThreadStart(child, parent)
	if !child.held {
		if err := child.resume(Continue()); err != nil {
			return err
		}
	}
	return tr.resumeUnlessHeld(parent)
}

func (tr *Tracer) addThread(t *Thread) {
	tr.threads[t.Tid] = t
	t.Proc.threads = append(t.Proc.threads, t)
}

func (tr *Tracer) handleExitEvent(t *Thread) error {
	t.stop = stopExit
	t.held = false
	status, err := ptraceEventMsg(t.Tid)
	if err != nil && err != unix.ESRCH {
		return fmt.Errorf("exit event of %d: %w", t.Tid, err)
	}
	if !t.exiting {
		t.exiting = true
		if tr.pinner != nil {
			tr.pinner.exiting(t.Proc.Pid, t.Tid)
		}
		tr.tool.ThreadExit(t, int(status))
	}
	return tr.resumeUnlessHeld(t)
}

// handleExec handles PTRACE_EVENT_EXEC, reported under the new tid (the
// process's pid) even when a non-leader thread called execve.
func (tr *Tracer) handleExec(tid int) error {
	msg, err := ptraceEventMsg(tid)
	if err != nil {
		if err == unix.ESRCH {
			return nil
		}
		return fmt.Errorf("exec event of %d: %w", tid, err)
	}
	former := int(msg)
	t := tr.threads[former]
	if t == nil {
		return fmt.Errorf("exec event from unknown thread %d (now %d)", former, tid)
	}
	p := t.Proc
	// Every other thread of the process is gone (de_thread). Their
	// deaths may still be reported; the tids are unknown by then.
	for _, o := range p.threads {
		if o == t {
			continue
		}
		if !o.exiting {
			o.exiting = true
			tr.tool.ThreadExit(o, 0)
		}
		if tr.threads[o.Tid] == o {
			delete(tr.threads, o.Tid)
		}
		o.tick.close()
		o.tick = nil
	}
	p.threads = []*Thread{t}
	if former != tid {
		delete(tr.threads, former)
		t.Tid = tid
		tr.threads[tid] = t
		if t.tick != nil && t.tick.own(tid) != nil {
			t.tick.close()
			t.tick = nil
		}
	}
	p.Mem.Close() // the old address space is gone
	p.Mem = newMemory(p.Pid)
	p.resetPoints(t)
	t.stop = stopEvent
	if err := tr.fixAuxv(t.Tid, p.Mem); err != nil {
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			return err
		}
		return fmt.Errorf("exec of %d: %w", t.Tid, err)
	}
	tr.tool.Exec(t, former)
	return tr.resumeUnlessHeld(t)
}

// threadGone handles the final wait status of a thread.
func (tr *Tracer) threadGone(t *Thread, ws unix.WaitStatus) {
	if !t.exiting {
		t.exiting = true
		tr.tool.ThreadExit(t, int(ws))
	}
	t.stop = stopRunning
	t.held = false
	delete(tr.threads, t.Tid)
	t.tick.close()
	t.tick = nil
	tr.tool.ThreadReaped(t, ws)
	p := t.Proc
	for i, o := range p.threads {
		if o == t {
			p.threads = append(p.threads[:i], p.threads[i+1:]...)
			break
		}
	}
	if t.Tid != p.Pid {
		return
	}
	// The leader is reaped last: the process is gone.
	for _, o := range p.threads {
		delete(tr.threads, o.Tid)
	}
	p.threads = nil
	p.bps = nil
	p.Mem.Close()
	delete(tr.procs, p.Pid)
	tr.live.remove(p.Pid)
	tr.tool.ProcessExit(p, ws)
	if p == tr.root {
		tr.result.Status = ws
		tr.rootGone = true
		if tr.opts.KillOnRootExit {
			tr.live.killAll()
		}
	}
}
