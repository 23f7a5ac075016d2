package replay

import (
	"fmt"
	"slices"
	"strings"

	"github.com/schedfuzz/schedfuzz/sched"
)

// contextDecisions is how many matching decisions before a divergence a
// DivergenceError keeps.
const contextDecisions = 3

// Follower is a sched.Decider that makes a run take a recorded decision
// trace. At each decision the scheduler must offer exactly the recorded
// kind, options and scheduling point; the Follower then returns the
// recorded choice. Anything else is a divergence: Choose returns a
// *DivergenceError (the scheduler ends the run), and so does every later
// call. A Follower is used by one run, from the tracer goroutine.
type Follower struct {
	trace []sched.Decision
	done  []sched.Decision
	err   *DivergenceError
}

// NewFollower returns a Follower of trace (which it does not modify).
func NewFollower(trace []sched.Decision) *Follower {
	return &Follower{trace: trace, done: make([]sched.Decision, 0, len(trace))}
}

// Choose implements sched.Decider.
func (f *Follower) Choose(r *sched.Request) (int, error) {
	kind, options, at := r.Kind, r.Options, r.At
	if f.err != nil {
		return 0, f.err
	}
	i := len(f.done)
	actual := sched.Decision{Kind: kind, Options: append([]int(nil), options...), At: at}
	if i >= len(f.trace) {
		return 0, f.diverge(nil, &actual, "the recorded trace ended")
	}
	want := f.trace[i]
	var diff []string
	if want.Kind != kind {
		diff = append(diff, "kind")
	}
	if !slices.Equal(want.Options, options) {
		diff = append(diff, "options")
	}
	if want.At != at {
		diff = append(diff, "point")
	}
	if len(diff) > 0 {
		verb := " differ"
		if len(diff) == 1 && diff[0] != "options" {
			verb = " differs"
		}
		return 0, f.diverge(&want, &actual, joinWords(diff)+verb)
	}
	if !slices.Contains(options, want.Choice) {
		return 0, f.diverge(&want, &actual, fmt.Sprintf("the recorded choice %d is not among the options", want.Choice))
	}
	actual.Choice = want.Choice
	f.done = append(f.done, actual)
	return want.Choice, nil
}

// Decisions returns the decisions followed so far (a prefix of the trace).
func (f *Follower) Decisions() []sched.Decision { return f.done }

// Err returns the divergence Choose reported, or nil.
func (f *Follower) Err() *DivergenceError { return f.err }

// Finish is called when the run is over. It returns the divergence Choose
// reported, or one saying the run ended before it used the whole trace,
// or nil if the run followed the trace to its end.
func (f *Follower) Finish() *DivergenceError {
	if f.err == nil && len(f.done) < len(f.trace) {
		want := f.trace[len(f.done)]
		f.diverge(&want, nil, "the run ended")
	}
	return f.err
}

func (f *Follower) diverge(want, got *sched.Decision, reason string) *DivergenceError {
	i := len(f.done)
	from := max(0, i-contextDecisions)
	f.err = &DivergenceError{
		Index: i, Expected: want, Actual: got, Reason: reason,
		Context: append([]sched.Decision(nil), f.done[from:]...),
	}
	return f.err
}

// DivergenceError says where and how a replay left its recorded trace.
type DivergenceError struct {
	// Index is the decision at which the run and the trace parted (0-based).
	Index int
	// Expected is the recorded decision at Index; nil if the trace had
	// ended and the run asked for one more.
	Expected *sched.Decision
	// Actual is what the run offered (its Choice is meaningless); nil if
	// the run ended before decision Index.
	Actual *sched.Decision
	// Reason names what differed: "options differ", "kind and point
	// differ", "the run ended"...
	Reason string
	// Context holds the decisions just before Index, which matched.
	Context []sched.Decision
}

func (e *DivergenceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replay diverged at decision %d: ", e.Index)
	switch {
	case e.Expected == nil && e.Actual != nil:
		fmt.Fprintf(&b, "the recorded trace ended, but the run offered %s", offer(*e.Actual))
	case e.Actual == nil && e.Expected != nil:
		fmt.Fprintf(&b, "the run ended, but the trace expected %s", offer(*e.Expected))
	case e.Actual != nil && e.Expected != nil:
		fmt.Fprintf(&b, "expected %s, got %s (%s)", offer(*e.Expected), offer(*e.Actual), e.Reason)
	default:
		b.WriteString(e.Reason)
	}
	if len(e.Context) > 0 {
		b.WriteString("; after")
		for i, d := range e.Context {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, " #%d %s", e.Index-len(e.Context)+i, FormatDecision(d))
		}
	} else if e.Index == 0 {
		b.WriteString("; at the first decision")
	}
	return b.String()
}

// offer describes a decision point without its choice: "pick of 0,1 @t1:write".
func offer(d sched.Decision) string {
	opts := make([]string, len(d.Options))
	for i, o := range d.Options {
		opts[i] = fmt.Sprint(o)
	}
	return fmt.Sprintf("%s of %s @%s", d.Kind, strings.Join(opts, ","), d.At)
}

func joinWords(w []string) string {
	switch len(w) {
	case 1:
		return w[0]
	case 2:
		return w[0] + " and " + w[1]
	}
	return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
}
