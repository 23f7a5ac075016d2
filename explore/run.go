// Package explore runs a guest program under the serializing scheduler,
// once (Run) or many times under different seeds (Explore), and decides
// whether a run failed: a non-zero exit, death by a signal, a deadlock or
// a hang. Decisions come from a Strategy and are recorded, or from a
// recorded trace (replay).
package explore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/sched"
)

// Target is the program under test.
type Target struct {
	Path string   // resolved executable
	Args []string // argv, including argv[0]
	Env  []string
	Dir  string
}

// Config configures one run.
type Config struct {
	Seed    uint64
	Timeout time.Duration // wall-clock limit: a run past it is a hang
	CPU     int           // CPU to pin to, or intercept.NoCPU
	CPUs    int           // CPU count the guest sees
	// Replay, if set, replaces the strategy by a recorded trace.
	Replay []sched.Decision
	// Stdin is the guest's standard input (nil: /dev/null).
	Stdin *os.File
	// OutputLimit caps the captured stdout and stderr (default 64 KiB each).
	OutputLimit int
}

// Result is the outcome of one run.
type Result struct {
	Seed      uint64
	Status    unix.WaitStatus
	Outcome   sched.Outcome
	Hang      bool
	Decisions []sched.Decision
	Stdout    []byte
	Stderr    []byte
	Wall      time.Duration
}

// Failed reports whether the run found a bug.
func (r *Result) Failed() bool {
	switch r.Outcome.Kind {
	case sched.Deadlock:
		return true
	case sched.Finished:
		return r.Hang || !r.Status.Exited() || r.Status.ExitStatus() != 0
	}
	return false
}

// Describe says how the run ended, in a few words ("exit 1",
// "signal SIGSEGV", "deadlock", "hang").
func (r *Result) Describe() string {
	switch {
	case r.Hang:
		return "hang"
	case r.Outcome.Kind != sched.Finished:
		return r.Outcome.Kind.String()
	case r.Status.Exited():
		return fmt.Sprintf("exit %d", r.Status.ExitStatus())
	case r.Status.Signaled():
		return "signal " + unix.SignalName(r.Status.Signal())
	}
	return fmt.Sprintf("status %#x", uint32(r.Status))
}

// Run runs the target once.
func Run(ctx context.Context, tgt *Target, cfg Config) (*Result, error) {
	if cfg.OutputLimit <= 0 {
		cfg.OutputLimit = 64 << 10
	}
	var decider sched.Decider
	rec := &sched.Recording{Strategy: sched.NewRandom(cfg.Seed)}
	if cfg.Replay != nil {
		decider = &replayer{ds: cfg.Replay, rec: rec}
	} else {
		decider = rec
	}
	runCtx := ctx
	var cancel context.CancelFunc
	if cfg.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	s := sched.New(sched.Config{Decider: decider, Seed: cfg.Seed, CPUs: cfg.CPUs, Done: runCtx.Done()})
	stdout, err := newCapture(cfg.OutputLimit)
	if err != nil {
		return nil, err
	}
	stderr, err := newCapture(cfg.OutputLimit)
	if err != nil {
		stdout.close()
		return nil, err
	}
	start := time.Now()
	res, err := intercept.Run(runCtx, &intercept.Command{
		Path: tgt.Path, Args: tgt.Args, Env: tgt.Env, Dir: tgt.Dir, Stdin: cfg.Stdin,
		Stdout: stdout.w, Stderr: stderr.w,
	}, s, s.TracerOptions(cfg.CPU))
	r := &Result{Seed: cfg.Seed, Wall: time.Since(start)}
	r.Stdout = stdout.close()
	r.Stderr = stderr.close()
	r.Outcome = s.Outcome()
	r.Decisions = rec.Decisions
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		r.Hang = true
		err = nil
	}
	if err != nil {
		return r, err
	}
	r.Status = res.Status
	return r, nil
}

// replayer follows a recorded trace and records what it did.
type replayer struct {
	ds  []sched.Decision
	i   int
	rec *sched.Recording
}

// DivergenceError says where a replay left its recorded trace.
type DivergenceError struct {
	Index    int
	Expected sched.Decision
	Actual   sched.Decision
}

func (e *DivergenceError) Error() string {
	if e.Expected.At == "" {
		return fmt.Sprintf("replay diverged at decision %d: the trace ended, got %s of %v @%s",
			e.Index, e.Actual.Kind, e.Actual.Options, e.Actual.At)
	}
	return fmt.Sprintf("replay diverged at decision %d: expected %s of %v @%s, got %s of %v @%s",
		e.Index, e.Expected.Kind, e.Expected.Options, e.Expected.At, e.Actual.Kind, e.Actual.Options, e.Actual.At)
}

func (p *replayer) Choose(kind sched.Kind, options []int, at string) (int, error) {
	actual := sched.Decision{Kind: kind, Options: append([]int(nil), options...), At: at}
	if p.i >= len(p.ds) {
		return 0, &DivergenceError{Index: p.i, Actual: actual}
	}
	d := p.ds[p.i]
	if d.Kind != kind || d.At != at || !equalInts(d.Options, options) {
		return 0, &DivergenceError{Index: p.i, Expected: d, Actual: actual}
	}
	p.i++
	actual.Choice = d.Choice
	p.rec.Decisions = append(p.rec.Decisions, actual)
	return d.Choice, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// capture collects a guest output stream in a memfd: no pipe, no reader
// goroutine, no cross-thread wake-ups during the run; read once at the end,
// up to a limit.
type capture struct {
	w     *os.File
	limit int
}

func newCapture(limit int) (*capture, error) {
	fd, err := unix.MemfdCreate("schedfuzz-output", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("capture guest output: %w", err)
	}
	return &capture{w: os.NewFile(uintptr(fd), "guest-output"), limit: limit}, nil
}

// close returns what the guest wrote (up to the limit) and closes the
// memfd. It allocates only what was written: most runs write little, and
// two 64 KiB buffers per run are a measurable part of a short run.
func (c *capture) close() []byte {
	defer c.w.Close()
	size := int64(c.limit)
	if fi, err := c.w.Stat(); err == nil {
		size = min(fi.Size(), size)
	}
	if size <= 0 {
		return nil
	}
	buf := make([]byte, size)
	n, _ := c.w.ReadAt(buf, 0)
	return buf[:n]
}
