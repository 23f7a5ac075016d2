// Package bench measures what interception costs: the cost of one
// seccomp→ptrace stop under schedfuzz's Go tracer (package intercept) against
// the minimal C tracer in bench/ctracer, and the cost of a syscall the filter
// lets through (unsubscribed) against the same call with no filter at all.
//
// Every number is the guest's own: bench/ctracer's guest times its loop of N
// raw syscalls with CLOCK_MONOTONIC and prints ns_per_call, so process
// startup, exec and exit are excluded and the three ways of running it
// (native, under ctracer, under intercept) are compared on one binary and one
// metric. See RESULTS.md for the numbers and cmd/stopbench for the program
// that produces them.
package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/bench/ctracer"
	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// Tracer says what the guest runs under.
type Tracer int

const (
	// Native runs the guest alone: no tracer, no filter.
	Native Tracer = iota
	// CTracer runs it under bench/ctracer (resume only: waitpid + PTRACE_CONT).
	CTracer
	// CTracerX runs it under ctracer -x, which also fetches nr and args with
	// PTRACE_GET_SYSCALL_INFO at every stop, as intercept does.
	CTracerX
	// Intercept runs it under intercept.Run with a tool that subscribes to
	// getppid, counts the stops and continues.
	Intercept
)

func (t Tracer) String() string {
	switch t {
	case Native:
		return "native"
	case CTracer:
		return "ctracer"
	case CTracerX:
		return "ctracer-x"
	case Intercept:
		return "intercept"
	}
	return "tracer(" + strconv.Itoa(int(t)) + ")"
}

// Placement says which CPUs the tracer and the guest may run on.
type Placement int

const (
	// Pinned puts the tracer and the guest on one CPU.
	Pinned Placement = iota
	// Unpinned leaves both to the scheduler.
	Unpinned
	// Cross puts the tracer on one CPU and the guest on another, so every
	// stop takes two cross-CPU wake-ups. Meaningless for Native.
	Cross
)

func (p Placement) String() string {
	switch p {
	case Pinned:
		return "pinned"
	case Unpinned:
		return "unpinned"
	case Cross:
		return "cross"
	}
	return "placement(" + strconv.Itoa(int(p)) + ")"
}

// Workload is the syscall the guest loops on.
type Workload int

const (
	// Subscribed: getppid (110), which both tracers' filters stop on.
	Subscribed Workload = iota
	// Unsubscribed: getpid (39), which both filters allow without a stop.
	Unsubscribed
)

func (w Workload) String() string {
	if w == Unsubscribed {
		return "getpid"
	}
	return "getppid"
}

// Nr is the syscall number the workload calls.
func (w Workload) Nr() int {
	if w == Unsubscribed {
		return unix.SYS_GETPID
	}
	return unix.SYS_GETPPID
}

// Config is one way of running the guest.
type Config struct {
	Tracer Tracer
	Place  Placement
	Work   Workload
	// CPU is the CPU of Pinned, and the tracer's CPU of Cross. CPU2 is the
	// guest's CPU of Cross.
	CPU, CPU2 int
}

// Name is a short identifier, e.g. "intercept/pinned/getppid".
func (c Config) Name() string {
	return c.Tracer.String() + "/" + c.Place.String() + "/" + c.Work.String()
}

// Result is one run of the guest.
type Result struct {
	// NsPerCall is the guest's in-loop time per syscall: under a tracer
	// and with the subscribed workload, the round trip of one stop.
	NsPerCall float64
	// Calls is the number of calls the guest reports having made.
	Calls int64
	// Stops is the number of seccomp stops the tracer saw for the
	// workload's syscall (ctracer's count, or the intercept tool's); -1
	// for Native.
	Stops int64
	// Wall is the wall time of the whole run, startup included.
	Wall time.Duration
	// GuestCPUs is the guest's Cpus_allowed_list after its last exec, as
	// the intercept tool read it (empty for other tracers).
	GuestCPUs string
}

// Tools holds the paths of the external programs the harness runs.
type Tools struct {
	CTracer string // bench/ctracer's tracer
	Guest   string // bench/ctracer's guest
	Taskset string // taskset(1), to put the guest on CPU2 in Cross runs
}

// BuildTools compiles ctracer and guest into dir and finds taskset.
// Taskset is left empty if it is missing; Cross runs then fail.
func BuildTools(dir string) (*Tools, error) {
	tr, g, err := ctracer.BuildTools(dir)
	if err != nil {
		return nil, err
	}
	ts, _ := exec.LookPath("taskset")
	return &Tools{CTracer: tr, Guest: g, Taskset: ts}, nil
}

// guestArgs is the guest's argv (without argv[0]) for n calls of w.
func guestArgs(n int, w Workload) []string {
	a := []string{strconv.Itoa(n)}
	if w == Unsubscribed {
		a = append(a, "unsub")
	}
	return a
}

// CommandLine is the shell command equivalent to running cfg with n calls.
// The harness does the pinning in-process (sched_setaffinity on a locked
// thread that forks the child) where the command shows taskset.
func (tl *Tools) CommandLine(cfg Config, n int) string {
	g := append([]string{"guest"}, guestArgs(n, cfg.Work)...)
	crossGuest := append([]string{"taskset", "-c", strconv.Itoa(cfg.CPU2)}, g...)
	cpu := strconv.Itoa(cfg.CPU)
	var argv []string
	switch cfg.Tracer {
	case Native:
		argv = g
		if cfg.Place == Pinned {
			argv = append([]string{"taskset", "-c", cpu}, g...)
		}
	case CTracer, CTracerX:
		argv = []string{"ctracer"}
		if cfg.Tracer == CTracerX {
			argv = append(argv, "-x")
		}
		switch cfg.Place {
		case Pinned:
			argv = append(append(argv, "-p", cpu, "--"), g...)
		case Unpinned:
			argv = append(append(argv, "--"), g...)
		case Cross:
			argv = append(append([]string{"taskset", "-c", cpu}, argv...), "--")
			argv = append(argv, crossGuest...)
		}
	case Intercept:
		opt := "Pin: true, CPU: " + cpu
		if cfg.Place == Unpinned {
			opt = ""
		}
		args := g
		if cfg.Place == Cross {
			args = crossGuest
		}
		return fmt.Sprintf("intercept.Run(%s, Options{%s})", strings.Join(args, " "), opt)
	}
	return strings.Join(argv, " ")
}

// Run runs the guest once with n calls under cfg and returns its own
// measurement. It checks that the guest made n calls and exited 0, and that
// the tracer saw exactly n stops for the subscribed workload (0 for the
// unsubscribed one).
func (tl *Tools) Run(ctx context.Context, cfg Config, n int) (Result, error) {
	// Generous: 1 ms per call plus startup.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second+time.Duration(n)*time.Millisecond)
	defer cancel()
	if cfg.Place == Cross && (cfg.Tracer == Native || tl.Taskset == "") {
		return Result{}, fmt.Errorf("%s: cross-CPU placement needs a tracer and taskset(1)", cfg.Name())
	}
	var (
		res    Result
		stderr string
		err    error
	)
	start := time.Now()
	if cfg.Tracer == Intercept {
		stderr, res.Stops, res.GuestCPUs, err = tl.runIntercept(ctx, cfg, n)
	} else {
		stderr, res.Stops, err = tl.runExec(ctx, cfg, n)
	}
	res.Wall = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("%s: %w\nstderr:\n%s", cfg.Name(), err, stderr)
	}
	calls, ns, ok := ctracer.ParseGuest(stderr)
	if !ok {
		return res, fmt.Errorf("%s: no guest line in stderr:\n%s", cfg.Name(), stderr)
	}
	res.Calls, res.NsPerCall = calls, ns
	if calls != int64(n) {
		return res, fmt.Errorf("%s: guest made %d calls, want %d", cfg.Name(), calls, n)
	}
	want := int64(n)
	if cfg.Work == Unsubscribed {
		want = 0
	}
	if cfg.Tracer == Intercept && cfg.Place != Unpinned {
		wantCPU := cfg.CPU
		if cfg.Place == Cross {
			wantCPU = cfg.CPU2
		}
		if res.GuestCPUs != strconv.Itoa(wantCPU) {
			return res, fmt.Errorf("%s: guest allowed on CPUs %q, want %d", cfg.Name(), res.GuestCPUs, wantCPU)
		}
	}
	if cfg.Tracer != Native && res.Stops != want {
		return res, fmt.Errorf("%s: tracer saw %d stops, want %d\nstderr:\n%s", cfg.Name(), res.Stops, want, stderr)
	}
	return res, nil
}

// runExec runs the guest natively or under ctracer.
func (tl *Tools) runExec(ctx context.Context, cfg Config, n int) (stderr string, stops int64, err error) {
	g := append([]string{tl.Guest}, guestArgs(n, cfg.Work)...)
	var argv []string
	startCPU := -1 // the CPU the first process is started on
	switch cfg.Tracer {
	case Native:
		argv = g
		if cfg.Place == Pinned {
			startCPU = cfg.CPU
		}
	case CTracer, CTracerX:
		argv = []string{tl.CTracer}
		if cfg.Tracer == CTracerX {
			argv = append(argv, "-x")
		}
		switch cfg.Place {
		case Pinned:
			argv = append(append(argv, "-p", strconv.Itoa(cfg.CPU), "--"), g...)
		case Unpinned:
			argv = append(append(argv, "--"), g...)
		case Cross:
			startCPU = cfg.CPU
			argv = append(append(argv, "--", tl.Taskset, "-c", strconv.Itoa(cfg.CPU2)), g...)
		}
	default:
		return "", 0, fmt.Errorf("runExec: %v", cfg.Tracer)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var buf bytes.Buffer
	cmd.Stderr = &buf
	if err := startOn(startCPU, cmd); err != nil {
		return "", 0, err
	}
	err = cmd.Wait()
	stderr = buf.String()
	if err != nil {
		return stderr, 0, err
	}
	if cfg.Tracer == Native {
		return stderr, -1, nil
	}
	st, _, ok := ctracer.ParseTracer(stderr)
	if !ok {
		return stderr, 0, errors.New("no ctracer summary line")
	}
	return stderr, int64(st), nil
}

// startOn starts cmd with its first process restricted to cpu (any CPU if
// cpu < 0). os/exec forks on the calling thread and the child inherits that
// thread's affinity, so the fork is done from a goroutine locked to a thread
// pinned for the purpose. That goroutine returns without unlocking, so the
// runtime destroys the pinned thread instead of reusing it for other
// goroutines.
func startOn(cpu int, cmd *exec.Cmd) error {
	if cpu < 0 {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: see above.
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			errc <- fmt.Errorf("pin to CPU %d: %w", cpu, err)
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// stopCounter is the intercept tool: it subscribes to getppid only and
// counts the stops it sees, resuming each at once.
type stopCounter struct {
	intercept.NopTool
	stops  int64 // getppid entries
	others int64 // any other syscall entry (there should be none)
	cpus   string
}

// ThreadStart and Exec record the affinity the guest runs with, read
// outside its timed loop: at the first thread's first stop (after the
// first exec) and after every later exec (taskset's, in Cross runs).
func (c *stopCounter) ThreadStart(t *intercept.Thread, parent *intercept.Thread) {
	if parent == nil {
		c.cpus = cpusAllowed("/proc/" + strconv.Itoa(t.Tid) + "/status")
	}
}

func (c *stopCounter) Exec(t *intercept.Thread, _ int) {
	c.cpus = cpusAllowed("/proc/" + strconv.Itoa(t.Tid) + "/status")
}

// cpusAllowed returns the Cpus_allowed_list of a /proc status file.
func cpusAllowed(status string) string {
	b, err := os.ReadFile(status)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (c *stopCounter) Subscription() intercept.Subscription {
	return intercept.SubscribeTo(unix.SYS_GETPPID)
}

func (c *stopCounter) SyscallEnter(_ *intercept.Thread, s *intercept.Syscall) intercept.Action {
	if s.Nr == unix.SYS_GETPPID && s.Arch == syscalls.X86_64 {
		c.stops++
	} else {
		c.others++
	}
	return intercept.Continue()
}

// runIntercept runs the guest under intercept.Run. For Cross, intercept pins
// the tracer thread and the guest to cfg.CPU (Options.CPU) and the guest is
// started through taskset, which moves itself to cfg.CPU2 and execs the
// guest there: intercept has no option to pin the guest apart from the
// tracer, and this is what bench/ctracer/run.sh does for ctracer.
func (tl *Tools) runIntercept(ctx context.Context, cfg Config, n int) (stderr string, stops int64, cpus string, err error) {
	f, err := os.CreateTemp("", "stopbench-stderr-*")
	if err != nil {
		return "", 0, "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()

	args := append([]string{filepath.Base(tl.Guest)}, guestArgs(n, cfg.Work)...)
	path := tl.Guest
	if cfg.Place == Cross {
		args = append([]string{"taskset", "-c", strconv.Itoa(cfg.CPU2), tl.Guest}, args[1:]...)
		path = tl.Taskset
	}
	opts := intercept.Options{Pin: cfg.Place != Unpinned, CPU: cfg.CPU}
	tool := &stopCounter{}
	res, err := intercept.Run(ctx, &intercept.Command{Path: path, Args: args, Stderr: f}, tool, opts)
	b, rerr := os.ReadFile(f.Name())
	stderr = string(b)
	if err == nil {
		err = rerr
	}
	if err == nil && res.ExitCode() != 0 {
		err = fmt.Errorf("guest exit status %d", res.ExitCode())
	}
	if err == nil && tool.others != 0 {
		err = fmt.Errorf("%d stops for syscalls other than getppid", tool.others)
	}
	return stderr, tool.stops, tool.cpus, err
}

// CPUs returns the CPU to pin to (0 if allowed, else the first allowed one)
// and a second allowed CPU for Cross runs (-1 if there is only one).
func CPUs() (cpu, cpu2 int) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, -1
	}
	cpu, cpu2 = -1, -1
	for i := 0; i < len(set)*64; i++ {
		if !set.IsSet(i) {
			continue
		}
		switch {
		case cpu < 0:
			cpu = i
		case cpu2 < 0:
			cpu2 = i
		}
	}
	if cpu < 0 {
		cpu = 0
	}
	return cpu, cpu2
}
