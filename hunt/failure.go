package hunt

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/report"
)

// Hooks let the caller of a Hunt see and order its steps. Every hook is
// optional and called on the goroutine that called Failure.
type Hooks struct {
	// Guard runs each seed save (nil: directly). The CLI holds its exit
	// gate there, so an interrupt never ends the process mid-save.
	Guard func(save func())
	// Saved is told, inside Guard, how saving a failing run's seed went:
	// its file (""if it was not saved), whether the corpus knew its
	// signature, and why it was not saved (replay.ErrTooLarge wrapped
	// for a run too long for a seed file).
	Saved func(rep *explore.RunReport, file string, known bool, err error)
	// Logf prints a line of progress or a problem that does not stop the
	// pipeline (without a trailing newline); nil: silent.
	Logf func(format string, a ...any)
}

// Found is a failure through the pipeline.
type Found struct {
	Run       *explore.RunReport
	Signature string
	File      string // the seed file ("": not saved, see SaveErr)
	Known     bool   // the corpus already had the signature
	SaveErr   error  // why File is "" (wraps replay.ErrTooLarge for a run too long)
	// Minimized is set when minimization ran to a result: Report's
	// Minimized and Original count its preemptions, MinSeed its file.
	Minimized bool
	// Report is the failure's report: its outcome, the minimized seed
	// and the critical pair when they were found, and the threads'
	// stacks (Report.Stacks) with the run they were captured in as
	// Report.Result (the minimized run when there is a critical pair;
	// it has a timeline) unless that replay failed. Write it with
	// Report.Text (or report's other formats: HTML, Perfetto).
	Report *report.Failure
}

// Failure is the pipeline of a failing run, in order: save its seed
// (the failure is on disk before anything else happens), minimize it and
// save the minimized seed, find its critical pair, replay it once more
// with call stacks (stacks.go), and build its report.
// Cancelling ctx cuts minimization and root-causing short: the failure is
// reported with what was found. The seed's save is never cut short.
// Failure's errors are the caller's (none today); a problem of a step is
// logged (Hooks.Logf) and the pipeline goes on.
func (h *Hunt) Failure(ctx context.Context, rep *explore.RunReport) (*Found, error) {
	r := rep.Result
	fd := &Found{Run: rep, Signature: explore.Signature(r)}
	h.guard(func() {
		fd.File, fd.Known, fd.SaveErr = h.Store.Save(h.SeedFile(rep, r))
		if fd.SaveErr != nil {
			fd.File = ""
		}
		if h.Hooks.Saved != nil {
			h.Hooks.Saved(rep, fd.File, fd.Known, fd.SaveErr)
		}
	})
	fd.Report = &report.Failure{Target: h.Program.Name, Run: rep.Index, Result: r, Known: fd.Known, Seed: fd.File}
	if h.Minimize && ctx.Err() == nil && fd.File != "" {
		fd.Minimized = h.minimize(ctx, rep, fd.Report)
	}
	if ctx.Err() == nil {
		h.stacks(ctx, fd)
	}
	return fd, nil
}

// TooLarge reports whether err says a run was too long for a seed file.
func TooLarge(err error) bool { return errors.Is(err, replay.ErrTooLarge) }

// minimize shrinks the failure of rep and finds its critical pair,
// within the minimizer's budget or until ctx is done; the minimized seed
// (if smaller) is saved and recorded in fr. It reports whether it got a
// result.
func (h *Hunt) minimize(ctx context.Context, rep *explore.RunReport, fr *report.Failure) bool {
	m := &explore.Minimizer{Target: h.Program.Target(), Config: h.RunConfig(rep, rep.Result), Classify: h.Classify, MaxTime: h.MinimizeTime}
	if h.Verbose {
		budget := h.MinimizeTime
		if budget <= 0 {
			budget = explore.DefaultMinimizeTime
		}
		h.logf("minimizing the failure of run %d (%d decisions; at most %v, Ctrl-C ends it)", rep.Index, len(rep.Result.Decisions), budget)
	}
	start := time.Now()
	min, err := m.Minimize(ctx, rep.Result)
	if h.Verbose && min != nil {
		h.logf("minimized in %v: %d of %d preemptions or faults left after %d runs%s",
			time.Since(start).Round(time.Millisecond), min.Items, min.Original, min.Runs, map[bool]string{true: " (budget used up)"}[min.Exhausted])
	}
	if min == nil || (err != nil && ctx.Err() == nil) {
		if err != nil {
			h.logf("minimize: %v", err)
		}
		return false
	}
	fr.Minimized, fr.Original = min.Items, min.Original
	if min.Items < min.Original {
		msf := h.SeedFile(rep, min.Result)
		msf.Strategy += "+minimized"
		var mfile string
		h.guard(func() { mfile, _, err = h.Store.Save(msf) })
		if err != nil {
			h.logf("the minimized seed was not saved: %v", err)
		}
		fr.MinSeed = mfile
	}
	if ctx.Err() == nil {
		if cause, err := m.RootCause(ctx, min); err == nil {
			fr.Cause = cause
		}
		if h.Verbose {
			h.logf("minimization and root cause took %v", time.Since(start).Round(time.Millisecond))
		}
	}
	return true
}

func (h *Hunt) guard(f func()) {
	if h.Hooks.Guard != nil {
		h.Hooks.Guard(f)
		return
	}
	f()
}

func (h *Hunt) logf(format string, a ...any) {
	if h.Hooks.Logf != nil {
		h.Hooks.Logf(format, a...)
	}
}

// Text writes the failure's report.
func (f *Found) Text(w io.Writer) { f.Report.Text(w) }

// ReplayCommand is the command line that replays a saved seed file.
func ReplayCommand(file string) string {
	if file == "" {
		return "(seed file not saved)"
	}
	return "schedfuzz replay " + file
}
