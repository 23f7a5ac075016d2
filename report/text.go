package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept/stack"
	"github.com/schedfuzz/schedfuzz/sched"
)

// Failure is what a failure report says.
type Failure struct {
	Target string // as the user typed it
	Run    int    // the run's index in its session (-1: a replay)
	Result *explore.Result
	Cause  *explore.Cause // nil if not localized
	// Minimized is the preemptions and faults the minimized schedule
	// forces, of Original; Original is 0 if it was not minimized.
	Minimized, Original int
	Known               bool   // the signature is already in the corpus
	Seed                string // the seed file to replay
	MinSeed             string // the minimized seed file, if any
	// Stacks are where threads were at some of their points (the
	// critical pair's, each thread's last), if they were captured
	// (explore.Config.Stacks).
	Stacks []sched.PointStack
}

// stackAt returns the frames of thread's stack at its point-th point (nil
// if not captured).
func (f *Failure) stackAt(thread, point int) []stack.Frame {
	for _, s := range f.Stacks {
		if s.Thread == thread && s.Point == point {
			return s.Frames
		}
	}
	return nil
}

// writeFrames writes a stack in the race detector's layout: the function,
// then its file:line (or object) indented below it.
func writeFrames(w io.Writer, frames []stack.Frame, pre string) {
	for _, fr := range frames {
		fn := fr.Func
		if fn == "" {
			fn = "??"
		}
		fmt.Fprintf(w, "%s%s()\n", pre, fn)
		switch {
		case fr.File != "":
			fmt.Fprintf(w, "%s    %s:%d\n", pre, fr.File, fr.Line)
		case fr.Object != "":
			fmt.Fprintf(w, "%s    %s (pc %#x)\n", pre, fr.Object, fr.PC)
		}
	}
}

// shownStack is the point of thread t whose stack the text report
// writes: its latest point whose stack reaches the program's own code
// (an exited thread's exit syscall is in start_thread's), else its
// latest point with a stack; 0 for none.
func (f *Failure) shownStack(t sched.ThreadInfo) int {
	latest := 0
	for i := len(t.Last) - 1; i >= 0; i-- {
		n := t.Points - (len(t.Last) - 1 - i)
		frames := f.stackAt(t.Vtid, n)
		if frames == nil {
			continue
		}
		if latest == 0 {
			latest = n
		}
		if own(frames[Where(frames, t.Last[i])], t.Last[i]) {
			return n
		}
	}
	return latest
}

// Text writes the failure report.
func (f *Failure) Text(w io.Writer) {
	r := f.Result
	o := r.Outcome
	fmt.Fprintln(w, "==================")
	state := "New"
	if f.Known {
		state = "Known"
	}
	fmt.Fprintf(w, "WARNING: SCHEDFUZZ: %s (%s failure)\n", r.Describe(), state)
	fmt.Fprintf(w, "  signature: %s\n", explore.Signature(r))
	fmt.Fprintf(w, "  %d scheduling points, %d decisions, virtual time %v", o.Steps, len(r.Decisions), time.Duration(o.VirtualTime))
	if f.Run >= 0 {
		fmt.Fprintf(w, ", run %d, seed %#016x", f.Run, r.Seed)
	}
	fmt.Fprintln(w)
	if o.Report != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, indent(o.Report, "  "))
	}
	if c := f.Cause; c != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Critical pair: the run fails when thread %d's event runs before thread %d's, and passes the other way round:\n", c.Second.Thread, c.First.Thread)
		for _, e := range []explore.ThreadEvent{c.First, c.Second} {
			fmt.Fprintf(w, "  thread %d: %s (its scheduling point %d)\n", e.Thread, e.Name, e.Point)
			writeFrames(w, f.stackAt(e.Thread, e.Point), "      ")
		}
	}
	switch {
	case f.Original > 0 && f.Minimized < f.Original:
		fmt.Fprintf(w, "\nMinimized: %d forced preemptions or faults (from %d).\n", f.Minimized, f.Original)
	case f.Original > 0:
		fmt.Fprintf(w, "\nMinimized: %d forced preemptions or faults (already minimal).\n", f.Minimized)
	}
	for _, t := range o.Threads {
		fmt.Fprintln(w)
		state := "exited"
		if !t.Exited {
			state = "live"
			if t.Waits != "" {
				state = t.Waits
			}
		}
		fmt.Fprintf(w, "Thread %d (pid %d, %s), last scheduling points:\n", t.Vtid, t.Pid, state)
		shown := f.shownStack(t)
		for i := len(t.Last) - 1; i >= 0; i-- {
			n := t.Points - (len(t.Last) - 1 - i)
			fmt.Fprintf(w, "  #%d %s\n", n, t.Last[i])
			if n == shown {
				writeFrames(w, f.stackAt(t.Vtid, n), "      ")
			}
		}
		if t.Parent >= 0 {
			fmt.Fprintf(w, "Thread %d created by thread %d at %s\n", t.Vtid, t.Parent, t.Born)
		} else {
			fmt.Fprintf(w, "Thread %d is the program's first thread\n", t.Vtid)
		}
	}
	if len(r.Outside) > 0 {
		fmt.Fprintln(w, "\nFiles the run changed outside its sandbox (a replay depends on them):")
		for _, c := range r.Outside {
			fmt.Fprintf(w, "  %s\n", c)
		}
	}
	if len(r.Stdout) > 0 {
		fmt.Fprintf(w, "\n--- guest stdout ---\n%s", tail(r.Stdout))
	}
	if len(r.Stderr) > 0 {
		fmt.Fprintf(w, "--- guest stderr ---\n%s", tail(r.Stderr))
	}
	for _, n := range o.Nondeterministic {
		fmt.Fprintf(w, "note: may not replay exactly: %s\n", n)
	}
	fmt.Fprintln(w, "==================")
	if f.MinSeed != "" {
		fmt.Fprintf(w, "minimized: schedfuzz replay %s\n", f.MinSeed)
	}
	if f.Seed != "" {
		fmt.Fprintf(w, "replay: schedfuzz replay %s\n", f.Seed)
	}
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pre)
}

func tail(b []byte) string {
	const max = 2048
	s := string(b)
	if len(s) > max {
		s = "..." + s[len(s)-max:]
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}
