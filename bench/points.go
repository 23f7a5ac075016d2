package bench

// The cost of a breakpoint or watchpoint hit under intercept, against a
// subscribed syscall stop: the guest in pointsrc/ loops N times over one
// hit (or one getppid) and times its loop, as bench/ctracer's guest does.

import (
	"bytes"
	"context"
	"debug/elf"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/bench/ctracer"
	"github.com/schedfuzz/schedfuzz/intercept"
)

//go:embed pointsrc/points.c
var pointsSource []byte

// PointMode is what one iteration of the points guest does.
type PointMode string

const (
	// BreakpointEmulated hits an int3 whose instruction (push) the tracer
	// emulates: one stop per hit.
	BreakpointEmulated PointMode = "emulated"
	// BreakpointStepped hits an int3 whose instruction (imul) is
	// single-stepped in place: two stops per hit.
	BreakpointStepped PointMode = "stepped"
	// HWBreakpoint hits a debug-register exec breakpoint (WatchExec) at
	// the same function as BreakpointEmulated: one stop, no text change.
	HWBreakpoint PointMode = "hw-exec"
	// Watchpoint writes a global watched by a WatchWrite watchpoint.
	Watchpoint PointMode = "write"
	// SyscallStop makes a raw getppid, subscribed: the baseline.
	SyscallStop PointMode = "getppid"
	// NativeInt3 and NativeStep run without a tracer: an int3, and a
	// single-step trap, each caught by the guest's SIGTRAP handler.
	NativeInt3 PointMode = "int3"
	NativeStep PointMode = "tf"
)

// guestMode is the guest's argument for m.
func (m PointMode) guestMode() string {
	if m == HWBreakpoint {
		return string(BreakpointEmulated)
	}
	return string(m)
}

// PointsGuest is the built points guest and the addresses of its targets.
type PointsGuest struct {
	Path                   string
	HitPush, HitStep, Data uint64 // hit_push, hit_step, watched
}

// BuildPointsGuest compiles pointsrc/points.c (without PIE) into dir.
func BuildPointsGuest(dir string) (*PointsGuest, error) {
	path := filepath.Join(dir, "points")
	args := append(append([]string{}, ctracer.CFlags...), "-no-pie", "-x", "c", "-o", path, "-")
	cmd := exec.Command(ctracer.Compiler(), args...)
	cmd.Stdin = bytes.NewReader(pointsSource)
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("compiling pointsrc/points.c: %v\n%s", err, msg.Bytes())
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		return nil, fmt.Errorf("%s: built as %v, want ET_EXEC (no PIE)", path, f.Type)
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	g := &PointsGuest{Path: path}
	for _, s := range syms {
		switch s.Name {
		case "hit_push":
			g.HitPush = s.Value
		case "hit_step":
			g.HitStep = s.Value
		case "watched":
			g.Data = s.Value
		}
	}
	if g.HitPush == 0 || g.HitStep == 0 || g.Data == 0 {
		return nil, fmt.Errorf("%s: missing symbols (%+v)", path, g)
	}
	return g, nil
}

// PointsResult is one run of the points guest.
type PointsResult struct {
	NsPerOp float64 // the guest's loop time per iteration
	Hits    int64   // breakpoint, watchpoint or getppid stops the tool saw
	Stops   uint64  // every ptrace stop of the run
}

var pointsLine = regexp.MustCompile(`(?m)^points mode=(\S+) n=(\d+) ns_per_op=([0-9.]+)$`)

// pointCounter plants the point for its mode in the first process and
// counts the hits.
type pointCounter struct {
	intercept.NopTool
	g    *PointsGuest
	mode PointMode
	hits int64
	err  error
}

func (c *pointCounter) Subscription() intercept.Subscription {
	if c.mode == SyscallStop {
		return intercept.SubscribeTo(unix.SYS_GETPPID)
	}
	return intercept.Subscription{}
}

func (c *pointCounter) ProcessStart(p *intercept.Process, parent *intercept.Process) {
	if parent != nil {
		return
	}
	switch c.mode {
	case BreakpointEmulated:
		c.err = p.SetBreakpoint(c.g.HitPush)
	case BreakpointStepped:
		c.err = p.SetBreakpoint(c.g.HitStep)
	case HWBreakpoint:
		_, c.err = p.SetWatchpoint(c.g.HitPush, 1, intercept.WatchExec)
	case Watchpoint:
		_, c.err = p.SetWatchpoint(c.g.Data, 4, intercept.WatchWrite)
	}
}

func (c *pointCounter) Breakpoint(*intercept.Thread, uint64) intercept.Action {
	c.hits++
	return intercept.Continue()
}

func (c *pointCounter) Watchpoint(*intercept.Thread, int, uint64) intercept.Action {
	c.hits++
	return intercept.Continue()
}

func (c *pointCounter) SyscallEnter(_ *intercept.Thread, s *intercept.Syscall) intercept.Action {
	if s.Nr == unix.SYS_GETPPID {
		c.hits++
	}
	return intercept.Continue()
}

// RunNative runs the guest with n iterations of a Native mode, without a
// tracer, pinned to cpu.
func (g *PointsGuest) RunNative(ctx context.Context, mode PointMode, n, cpu int) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second+time.Duration(n)*time.Millisecond)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.Path, strconv.Itoa(n), string(mode))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := startOn(cpu, cmd); err != nil {
		return 0, err
	}
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("points %s: %v\nstderr:\n%s", mode, err, stderr.Bytes())
	}
	m := pointsLine.FindSubmatch(stderr.Bytes())
	if m == nil {
		return 0, fmt.Errorf("points %s: no result line in stderr:\n%s", mode, stderr.Bytes())
	}
	return strconv.ParseFloat(string(m[3]), 64)
}

// Run runs the guest with n iterations of mode under intercept, tracer and
// guest pinned to cpu, and checks that the tool saw exactly n hits.
func (g *PointsGuest) Run(ctx context.Context, mode PointMode, n, cpu int) (PointsResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second+time.Duration(n)*time.Millisecond)
	defer cancel()
	f, err := os.CreateTemp("", "pointsbench-stderr-*")
	if err != nil {
		return PointsResult{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	tool := &pointCounter{g: g, mode: mode}
	args := []string{"points", strconv.Itoa(n), mode.guestMode()}
	res, err := intercept.Run(ctx, &intercept.Command{Path: g.Path, Args: args, Stderr: f}, tool, pinned(intercept.Options{}, cpu))
	b, rerr := os.ReadFile(f.Name())
	switch {
	case err != nil:
	case rerr != nil:
		err = rerr
	case tool.err != nil:
		err = fmt.Errorf("setting the point: %w", tool.err)
	case res.ExitCode() != 0:
		err = fmt.Errorf("guest exit status %d", res.ExitCode())
	}
	if err != nil {
		return PointsResult{}, fmt.Errorf("points %s: %w\nstderr:\n%s", mode, err, b)
	}
	m := pointsLine.FindSubmatch(b)
	if m == nil {
		return PointsResult{}, fmt.Errorf("points %s: no result line in stderr:\n%s", mode, b)
	}
	ns, _ := strconv.ParseFloat(string(m[3]), 64)
	r := PointsResult{NsPerOp: ns, Hits: tool.hits, Stops: res.Stops}
	if r.Hits != int64(n) {
		return r, fmt.Errorf("points %s: tool saw %d hits, want %d", mode, r.Hits, n)
	}
	return r, nil
}
