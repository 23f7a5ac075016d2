package bench

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	schedpoints "github.com/schedfuzz/schedfuzz/sched/points"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/bench/ctracer"
	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/sandbox"
	"github.com/schedfuzz/schedfuzz/sched"
)

// The scheduler benchmarks (cmd/schedbench) measure whole runs from the
// outside: under the scheduler the guest's clocks are virtual, so a guest
// cannot time itself. Fixed cost is the wall time of one run of a program
// that does nothing; the cost of a scheduling point is the difference
// between runs with many points and runs with few, divided by the
// difference in points.

//go:embed csrc/tiny.c csrc/points.c csrc/cr4.c
var schedSources embed.FS

// SchedTools holds the guests and tools of the scheduler benchmarks.
type SchedTools struct {
	TinyDynamic string // int main(){return 0;}, dynamically linked against glibc
	TinyStatic  string // the same, gcc -static
	Points      string // points N [T]: N getppid calls in each of T threads
	// PointsStatic is points linked statically: it never executes rdtsc
	// (no ld.so, no vDSO clock read), so it can run under ctracer -t.
	PointsStatic string
	CTracer      string // bench/ctracer's tracer
	CR4          string // cr4 [N]: the cost of one CR4 write (see csrc/cr4.c)

	mu      sync.Mutex
	natives map[int]*nativeRunner // by CPU

	symOnce  sync.Once
	symCache *symbols.Cache
	syncPlan *schedpoints.Plan

	pools map[sandboxKey]*sandbox.Pool // by program and network, made on first use
}

type sandboxKey struct {
	prog    string
	hostNet bool
}

// sandbox returns the session-wide sandbox of runs of prog, made on
// first use with the program's directory as the working directory (as
// `cd DIR && schedfuzz ./prog` runs it) and the CLI's default CPU count.
func (st *SchedTools) sandbox(prog string, hostNet bool) (*sandbox.Pool, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	k := sandboxKey{prog, hostNet}
	if p := st.pools[k]; p != nil {
		return p, nil
	}
	p, err := sandbox.New(sandbox.Config{Dir: filepath.Dir(prog), Prog: prog, CPUs: 4, HostNet: hostNet})
	if err != nil {
		return nil, err
	}
	if st.pools == nil {
		st.pools = map[sandboxKey]*sandbox.Pool{}
	}
	st.pools[k] = p
	return p, nil
}

// BuildSchedTools compiles the guests and ctracer into dir.
func BuildSchedTools(dir string) (*SchedTools, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	tr, _, err := ctracer.BuildTools(dir)
	if err != nil {
		return nil, err
	}
	st := &SchedTools{
		TinyDynamic:  filepath.Join(dir, "tiny"),
		TinyStatic:   filepath.Join(dir, "tiny-static"),
		Points:       filepath.Join(dir, "points"),
		PointsStatic: filepath.Join(dir, "points-static"),
		CTracer:      tr,
		CR4:          filepath.Join(dir, "cr4"),
	}
	for _, b := range []struct {
		src, out string
		flags    []string
	}{
		{"csrc/tiny.c", st.TinyDynamic, []string{"-O2"}},
		{"csrc/tiny.c", st.TinyStatic, []string{"-O2", "-static"}},
		{"csrc/points.c", st.Points, []string{"-O2", "-pthread"}},
		{"csrc/points.c", st.PointsStatic, []string{"-O2", "-pthread", "-static"}},
		{"csrc/cr4.c", st.CR4, []string{"-O2"}},
	} {
		if err := compileC(b.src, b.out, b.flags); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func compileC(src, out string, flags []string) error {
	code, err := schedSources.ReadFile(src)
	if err != nil {
		return err
	}
	cc := ctracer.Compiler()
	args := append(append([]string{"-Wall", "-Wextra", "-std=gnu11"}, flags...), "-x", "c", "-o", out, "-")
	cmd := exec.Command(cc, args...)
	cmd.Stdin = bytes.NewReader(code)
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bench: compiling %s with %s %v: %v\n%s", src, cc, flags, err, msg.Bytes())
	}
	return nil
}

// RunKind is how a guest is run in the scheduler benchmarks.
type RunKind int

const (
	// RunNative: fork, exec and wait4 from a thread pinned to the CPU.
	RunNative RunKind = iota
	// RunCTracer: under bench/ctracer -p CPU (stops on getppid only).
	RunCTracer
	// RunCTracerTSC: under ctracer -t -p CPU: the guest's rdtsc traps, as
	// under the scheduler (not emulated: for guests that never execute it).
	RunCTracerTSC
	// RunInterceptNothing: intercept.Run with a NopTool (an empty
	// subscription: the filter allows everything).
	RunInterceptNothing
	// RunInterceptGetppid: intercept.Run with a tool that subscribes to
	// getppid and continues.
	RunInterceptGetppid
	// RunInterceptAll: intercept.Run subscribing every syscall with a
	// tool that continues each.
	RunInterceptAll
	// RunInterceptAllSchedOpts: RunInterceptAll with the intercept options
	// a scheduled run uses (sched.Scheduler.TracerOptions: no ASLR, no
	// vDSO, trapped rdtsc, AT_RANDOM, kill on root exit): the options'
	// share of the scheduler's cost.
	RunInterceptAllSchedOpts
	// RunInterceptModelSchedOpts: RunInterceptAllSchedOpts subscribing
	// only the calls the scheduler emulates, makes non-blocking or must
	// see (modelSyscalls): what a run would cost if the other calls were
	// not stops, e.g. while the guest has a single thread. An estimate
	// for a design choice, not something the scheduler does.
	RunInterceptModelSchedOpts
	// RunSched: sched.New with the random strategy under intercept.Run,
	// output to /dev/null: the scheduler without explore's output capture.
	RunSched
	// RunSchedAlternate: RunSched with a decider that always picks a
	// thread other than the one picked last (every decision switches).
	RunSchedAlternate
	// RunExplore: explore.Run (random strategy, memfd output capture, a
	// timeout) with syscall points.
	RunExplore
	// RunExploreSync: RunExplore with sync points (the CLI's default):
	// one run as `schedfuzz` makes it, its ELF files parsed once per
	// session (a cache shared by the runs).
	RunExploreSync
	// RunExploreSyncSandbox: RunExploreSync in a sandbox (the CLI's
	// default -hermetic): namespaces, fresh /tmp, a copy-on-write
	// working directory, virtual CPU files, a private network.
	RunExploreSyncSandbox
	// RunExploreSyncSandboxHostNet: RunExploreSyncSandbox with -net host.
	RunExploreSyncSandboxHostNet
	// RunExploreSyncBehavior: RunExploreSync recording the program's
	// behaviour (explore.Config.Behavior: a stop more per world call).
	RunExploreSyncBehavior
	// RunExploreSyncCLI: a run as the CLI makes it by default: sync
	// points, a sandbox, the behaviour recorded.
	RunExploreSyncCLI
)

func (k RunKind) String() string {
	switch k {
	case RunNative:
		return "native"
	case RunCTracer:
		return "ctracer"
	case RunCTracerTSC:
		return "ctracer-t"
	case RunInterceptNothing:
		return "intercept-nothing"
	case RunInterceptGetppid:
		return "intercept-getppid"
	case RunInterceptAll:
		return "intercept-all"
	case RunInterceptAllSchedOpts:
		return "intercept-all+schedopts"
	case RunInterceptModelSchedOpts:
		return "intercept-model+schedopts"
	case RunSched:
		return "sched"
	case RunSchedAlternate:
		return "sched-alternate"
	case RunExplore:
		return "explore"
	case RunExploreSync:
		return "explore-sync"
	case RunExploreSyncSandbox:
		return "explore-sync+sandbox"
	case RunExploreSyncSandboxHostNet:
		return "explore-sync+sandbox-hostnet"
	case RunExploreSyncBehavior:
		return "explore-sync+behavior"
	case RunExploreSyncCLI:
		return "explore-sync+sandbox+behavior"
	}
	return "runkind(" + strconv.Itoa(int(k)) + ")"
}

// Describe is the equivalent command or call of running argv this way
// pinned to cpu.
func (k RunKind) Describe(argv []string, cpu int) string {
	c := strconv.Itoa(cpu)
	prog := shellJoin(argv)
	switch k {
	case RunNative:
		return "taskset -c " + c + " " + prog
	case RunCTracer:
		return "ctracer -p " + c + " -- " + prog
	case RunCTracerTSC:
		return "ctracer -t -p " + c + " -- " + prog
	case RunInterceptNothing:
		return "intercept.Run(" + prog + ", NopTool{}, Options{Pin: true, CPU: " + c + "})"
	case RunInterceptGetppid:
		return "intercept.Run(" + prog + ", SubscribeTo(getppid)+Continue, Options{Pin: true, CPU: " + c + "})"
	case RunInterceptAll:
		return "intercept.Run(" + prog + ", SubscribeAll+Continue, Options{Pin: true, CPU: " + c + "})"
	case RunInterceptAllSchedOpts:
		return "intercept.Run(" + prog + ", SubscribeAll+Continue, sched.TracerOptions()+Pin(" + c + "))"
	case RunInterceptModelSchedOpts:
		return "intercept.Run(" + prog + ", SubscribeTo(sched's emulated calls)+Continue, sched.TracerOptions()+Pin(" + c + "))"
	case RunSched:
		return "intercept.Run(" + prog + ", sched.New(random), sched.TracerOptions()+Pin(" + c + "))"
	case RunSchedAlternate:
		return "intercept.Run(" + prog + ", sched.New(alternate), sched.TracerOptions()+Pin(" + c + "))"
	case RunExplore:
		return "explore.Run(" + prog + ", Config{Pin: true, CPU: " + c + "})"
	case RunExploreSync:
		return "explore.Run(" + prog + ", Config{Pin: true, CPU: " + c + ", Points: sync})"
	case RunExploreSyncSandbox:
		return "explore.Run(" + prog + ", Config{Pin: true, CPU: " + c + ", Points: sync, Sandbox: pool})"
	case RunExploreSyncSandboxHostNet:
		return "explore.Run(" + prog + ", Config{Pin: true, CPU: " + c + ", Points: sync, Sandbox: pool(HostNet)})"
	case RunExploreSyncBehavior:
		return "explore.Run(" + prog + ", Config{Pin: true, CPU: " + c + ", Points: sync, Behavior: true})"
	case RunExploreSyncCLI:
		return "explore.Run(" + prog + ", Config{Pin: true, CPU: " + c + ", Points: sync, Sandbox: pool, Behavior: true})"
	}
	return k.String()
}

func shellJoin(argv []string) string {
	var b bytes.Buffer
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 {
			a = filepath.Base(a)
		}
		b.WriteString(a)
	}
	return b.String()
}

// RunStats is one run of a guest.
type RunStats struct {
	Wall time.Duration
	// CPU is the CPU time this process (the tracer) and its reaped
	// children (the guest, ctracer) used during the run: unlike Wall it
	// hardly depends on what other processes do on a shared machine.
	CPU time.Duration
	// Switches counts the context switches of this process's threads and
	// its reaped children during the run.
	Switches int64
	// Stops is the number of ptrace stops the tracer handled (intercept
	// kinds: intercept.Result.Stops; ctracer: seccomp stops), -1 if not
	// known (native, explore).
	Stops int64
	// Points is the number of scheduling points (sched kinds and explore:
	// sched.Outcome.Steps), -1 otherwise.
	Points int64
}

// RunOnce runs argv once as kind, pinned to cpu, with seed for the
// scheduler kinds, and checks that it exited 0.
func (st *SchedTools) RunOnce(ctx context.Context, kind RunKind, argv []string, cpu int, seed uint64) (RunStats, error) {
	return st.runOnce(ctx, kind, argv, cpu, seed, nil)
}

func (st *SchedTools) runOnce(ctx context.Context, kind RunKind, argv []string, cpu int, seed uint64, opts func(*intercept.Options)) (rs RunStats, err error) {
	cpu0, sw0 := ownCPU(), ownSwitches()
	defer func() { rs.CPU, rs.Switches = time.Duration(ownCPU()-cpu0), ownSwitches()-sw0 }()
	rs = RunStats{Stops: -1, Points: -1}
	switch kind {
	case RunNative:
		rs.Wall, err = st.nativeRun(argv, cpu)
	case RunCTracer, RunCTracerTSC:
		rs, err = st.ctracerRun(ctx, argv, cpu, kind == RunCTracerTSC)
	case RunExplore, RunExploreSync, RunExploreSyncSandbox, RunExploreSyncSandboxHostNet, RunExploreSyncBehavior, RunExploreSyncCLI:
		start := time.Now()
		var r *explore.Result
		cfg := explore.Config{Seed: seed, Pin: cpu >= 0, CPU: cpu, Timeout: time.Minute}
		if kind != RunExplore {
			cfg.Points, cfg.Symbols, cfg.Plan = schedpoints.Sync, st.symbols(), st.syncPlan
		}
		cfg.Behavior = kind == RunExploreSyncBehavior || kind == RunExploreSyncCLI
		if kind == RunExploreSyncSandbox || kind == RunExploreSyncSandboxHostNet || kind == RunExploreSyncCLI {
			if cfg.Sandbox, err = st.sandbox(argv[0], kind == RunExploreSyncSandboxHostNet); err != nil {
				return rs, err
			}
		}
		r, err = explore.Run(ctx, &explore.Target{Path: argv[0], Args: argv}, cfg)
		rs.Wall = time.Since(start)
		if err == nil {
			rs.Points = int64(r.Outcome.Steps)
			if r.Failed() || r.Outcome.Kind != sched.Finished {
				err = fmt.Errorf("run failed: %s %s\nstderr: %s", r.Describe(), r.Outcome.Report, r.Stderr)
			}
		}
	default:
		rs, err = interceptRun(ctx, kind, argv, cpu, seed, opts)
	}
	if err != nil {
		return rs, fmt.Errorf("%s %v: %w", kind, argv, err)
	}
	return rs, nil
}

// nativeRunner forks, execs and waits for programs from one goroutine
// locked to an OS thread pinned to a CPU; the children inherit the
// affinity. The thread lives as long as the SchedTools (it is never
// unlocked, so the runtime discards it when the goroutine ends), so a
// native run pays for no thread creation: the baseline is as fast as a
// shell's fork+exec+wait.
type nativeRunner struct {
	cpu  int
	reqs chan nativeReq
}

type nativeReq struct {
	argv []string
	res  chan nativeRes
}

type nativeRes struct {
	d   time.Duration
	err error
}

func startNativeRunner(cpu int) (*nativeRunner, error) {
	nr := &nativeRunner{cpu: cpu, reqs: make(chan nativeReq)}
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			ready <- fmt.Errorf("pin to CPU %d: %w", cpu, err)
			return
		}
		ready <- nil
		for r := range nr.reqs {
			r.res <- forkExecWait(r.argv)
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return nr, nil
}

// forkExecWait runs argv with the caller's stdio and times fork to reap.
func forkExecWait(argv []string) nativeRes {
	start := time.Now()
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	if err != nil {
		return nativeRes{err: err}
	}
	var ws unix.WaitStatus
	for {
		_, err = unix.Wait4(pid, &ws, 0, nil)
		if err != unix.EINTR {
			break
		}
	}
	d := time.Since(start)
	if err == nil && (!ws.Exited() || ws.ExitStatus() != 0) {
		err = fmt.Errorf("wait status %#x", uint32(ws))
	}
	return nativeRes{d, err}
}

func (st *SchedTools) nativeRun(argv []string, cpu int) (time.Duration, error) {
	st.mu.Lock()
	nr := st.natives[cpu]
	if nr == nil {
		var err error
		if nr, err = startNativeRunner(cpu); err != nil {
			st.mu.Unlock()
			return 0, err
		}
		if st.natives == nil {
			st.natives = map[int]*nativeRunner{}
		}
		st.natives[cpu] = nr
	}
	st.mu.Unlock()
	res := make(chan nativeRes, 1)
	nr.reqs <- nativeReq{argv, res}
	r := <-res
	return r.d, r.err
}

// Close ends the native runners' threads.
func (st *SchedTools) Close() {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, nr := range st.natives {
		close(nr.reqs)
	}
	st.natives = nil
}

func (st *SchedTools) ctracerRun(ctx context.Context, argv []string, cpu int, tsc bool) (RunStats, error) {
	args := []string{"-p", strconv.Itoa(cpu)}
	if tsc {
		args = append(args, "-t")
	}
	args = append(append(args, "--"), argv...)
	cmd := exec.CommandContext(ctx, st.CTracer, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	rs := RunStats{Wall: time.Since(start), Stops: -1, Points: -1}
	if err != nil {
		return rs, fmt.Errorf("%v\n%s", err, stderr.Bytes())
	}
	stops, _, ok := ctracer.ParseTracer(stderr.String())
	if !ok {
		return rs, fmt.Errorf("no ctracer summary line in %q", stderr.String())
	}
	rs.Stops = int64(stops)
	return rs, nil
}

// modelSyscalls are the syscalls sched/calls.go and sched/futex.go model,
// plus thread and process creation and exec (copied from there: if the
// scheduler learns new calls, this estimate lags).
var modelSyscalls = []int{
	unix.SYS_FUTEX, unix.SYS_FUTEX_WAITV, 454, 455, 456,
	unix.SYS_CLOCK_GETTIME, unix.SYS_GETTIMEOFDAY, unix.SYS_TIME, unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP,
	unix.SYS_GETRANDOM, unix.SYS_SCHED_GETAFFINITY, unix.SYS_SCHED_SETAFFINITY, unix.SYS_SET_TID_ADDRESS,
	unix.SYS_EXIT_GROUP, unix.SYS_WAIT4, unix.SYS_WAITID,
	unix.SYS_POLL, unix.SYS_PPOLL, unix.SYS_SELECT, unix.SYS_PSELECT6, unix.SYS_EPOLL_WAIT, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2,
	unix.SYS_PAUSE, unix.SYS_RT_SIGSUSPEND, unix.SYS_RT_SIGTIMEDWAIT, unix.SYS_KILL, unix.SYS_TGKILL, unix.SYS_TKILL,
	unix.SYS_OPEN, unix.SYS_OPENAT, unix.SYS_CLOSE, unix.SYS_READ, unix.SYS_READV, unix.SYS_RECVFROM, unix.SYS_RECVMSG,
	unix.SYS_ACCEPT, unix.SYS_ACCEPT4, unix.SYS_WRITE, unix.SYS_WRITEV, unix.SYS_SENDTO, unix.SYS_SENDMSG,
	unix.SYS_CLONE, unix.SYS_CLONE3, unix.SYS_FORK, unix.SYS_VFORK, unix.SYS_EXECVE, unix.SYS_EXECVEAT,
}

// continueTool continues every syscall of its subscription.
type continueTool struct {
	intercept.NopTool
	sub intercept.Subscription
	tsc uint64
}

func (c *continueTool) Subscription() intercept.Subscription { return c.sub }

// Signal emulates trapped rdtsc instructions (Options.TrapRDTSC) with a
// counter, as the scheduler does, and delivers every other signal.
func (c *continueTool) Signal(t *intercept.Thread, sig unix.Signal, info *unix.Siginfo) unix.Signal {
	if sig != unix.SIGSEGV || info.Code != 0x80 /* SI_KERNEL */ {
		return sig
	}
	regs, err := t.Regs()
	if err != nil {
		return sig
	}
	n, ok := t.RDTSC(&regs)
	if !ok {
		return sig
	}
	c.tsc += 1000
	regs.Rax, regs.Rdx = c.tsc&0xffffffff, c.tsc>>32
	if n == 3 {
		regs.Rcx = 0
	}
	regs.Rip += uint64(n)
	if t.SetRegs(&regs) != nil {
		return sig
	}
	return 0
}

func interceptRun(ctx context.Context, kind RunKind, argv []string, cpu int, seed uint64, edit func(*intercept.Options)) (RunStats, error) {
	rs := RunStats{Stops: -1, Points: -1}
	var (
		tool intercept.Tool
		opts = pinned(intercept.Options{}, cpu)
		s    *sched.Scheduler
	)
	switch kind {
	case RunInterceptNothing:
		tool = intercept.NopTool{}
	case RunInterceptGetppid:
		tool = &continueTool{sub: intercept.SubscribeTo(unix.SYS_GETPPID)}
	case RunInterceptAll:
		tool = &continueTool{sub: intercept.SubscribeAll()}
	case RunInterceptAllSchedOpts, RunInterceptModelSchedOpts:
		tool = &continueTool{sub: intercept.SubscribeAll()}
		if kind == RunInterceptModelSchedOpts {
			tool = &continueTool{sub: intercept.SubscribeTo(modelSyscalls...)}
		}
		opts = pinned(sched.New(sched.Config{Decider: &sched.Recording{Strategy: explore.Spec{Name: "random"}.New(seed, explore.Hint{})}, Seed: seed}).TracerOptions(), cpu)
	case RunSched, RunSchedAlternate:
		var d sched.Decider = &sched.Recording{Strategy: explore.Spec{Name: "random"}.New(seed, explore.Hint{})}
		if kind == RunSchedAlternate {
			d = &Alternate{}
		}
		s = sched.New(sched.Config{Decider: d, Seed: seed, Done: ctx.Done()})
		tool = s
		opts = pinned(s.TracerOptions(), cpu)
	default:
		return rs, fmt.Errorf("interceptRun: %v", kind)
	}
	if edit != nil {
		edit(&opts)
	}
	start := time.Now()
	res, err := intercept.Run(ctx, &intercept.Command{Path: argv[0], Args: argv}, tool, opts)
	rs.Wall = time.Since(start)
	var o sched.Outcome
	if s != nil {
		o = s.Outcome()
		rs.Points = int64(o.Steps)
	}
	if err != nil {
		return rs, err
	}
	rs.Stops = int64(res.Stops)
	if s != nil && o.Kind != sched.Finished {
		return rs, fmt.Errorf("scheduler: %s: %s", o.Kind, o.Report)
	}
	if res.ExitCode() != 0 {
		return rs, fmt.Errorf("exit code %d", res.ExitCode())
	}
	return rs, nil
}

// Alternate is a sched.Decider that picks, at every decision, the first
// option other than the thread it picked last: with two runnable threads
// every decision is a switch. Wakes take the first waiter.
type Alternate struct {
	last int
	set  bool
}

// Choose implements sched.Decider.
func (a *Alternate) Choose(r *sched.Request) (int, error) {
	kind, options := r.Kind, r.Options
	if kind != sched.KindPick {
		return options[0], nil
	}
	c := options[0]
	if a.set && c == a.last {
		c = options[1]
	}
	a.last, a.set = c, true
	return c, nil
}

// symbols is the tools' ELF cache (one per SchedTools, as one per session).
func (st *SchedTools) symbols() *symbols.Cache {
	st.symOnce.Do(func() {
		st.symCache = symbols.NewCache(nil)
		st.syncPlan = schedpoints.NewPlan(schedpoints.Sync, nil)
	})
	return st.symCache
}

// NoPin is the cpu argument that runs a measurement unpinned.
const NoPin = -1

// pinned returns opts pinned to cpu (unpinned for NoPin).
func pinned(opts intercept.Options, cpu int) intercept.Options {
	opts.Pin, opts.CPU = cpu >= 0, cpu
	return opts
}
