package replay

import (
	"reflect"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/sched"
)

func pick(choice int, at string, opts ...int) sched.Decision {
	return sched.Decision{Kind: sched.KindPick, Choice: choice, Options: opts, At: at}
}

var trace = []sched.Decision{
	pick(1, "t0:clone3", 0, 1),
	pick(0, "t1:write", 0, 1),
	{Kind: sched.KindWake, Choice: 1, Options: []int{0, 1}, At: "futex:2"},
	pick(1, "t0:write", 0, 1),
	pick(2, "t1:futex", 0, 2),
	pick(0, "t2:exit", 0, 2),
}

// follow offers the follower the first n decisions of trace and checks
// it answers with the recorded choices.
func follow(t *testing.T, f *Follower, n int) {
	t.Helper()
	for i, d := range trace[:n] {
		c, err := choose(f, d.Kind, append([]int(nil), d.Options...), d.At)
		if err != nil || c != d.Choice {
			t.Fatalf("decision %d: %d, %v; want %d", i, c, err, d.Choice)
		}
	}
}

func TestFollowerFollows(t *testing.T) {
	f := NewFollower(trace)
	follow(t, f, len(trace))
	if err := f.Finish(); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if !reflect.DeepEqual(f.Decisions(), trace) {
		t.Fatalf("Decisions = %+v", f.Decisions())
	}
}

func TestFollowerDiverges(t *testing.T) {
	f := NewFollower(trace)
	follow(t, f, 5)
	_, err := choose(f, sched.KindPick, []int{0, 2, 3}, "t2:exit")
	d, ok := err.(*DivergenceError)
	if !ok {
		t.Fatalf("Choose: %v, want a *DivergenceError", err)
	}
	if d.Index != 5 || d.Expected == nil || !reflect.DeepEqual(*d.Expected, trace[5]) || d.Actual == nil ||
		!reflect.DeepEqual(d.Actual.Options, []int{0, 2, 3}) || d.Reason != "options differ" {
		t.Fatalf("divergence %+v", d)
	}
	if !reflect.DeepEqual(d.Context, trace[2:5]) {
		t.Fatalf("context %+v, want the 3 decisions before", d.Context)
	}
	msg := err.Error()
	for _, want := range []string{
		"replay diverged at decision 5",
		"expected pick of 0,2 @t2:exit", "got pick of 0,2,3 @t2:exit", "(options differ)",
		"after #2 wake 1 of 0,1 @futex:2, #3 pick 1 of 0,1 @t0:write, #4 pick 2 of 0,2 @t1:futex",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	// The divergence sticks, and Finish reports it.
	if _, err2 := choose(f, trace[5].Kind, trace[5].Options, trace[5].At); err2 != err {
		t.Errorf("Choose after a divergence: %v", err2)
	}
	if f.Finish() != d || f.Err() != d || len(f.Decisions()) != 5 {
		t.Errorf("Finish %v, Err %v, %d decisions", f.Finish(), f.Err(), len(f.Decisions()))
	}
}

func TestFollowerReasons(t *testing.T) {
	cases := []struct {
		kind   sched.Kind
		opts   []int
		at     string
		reason string
	}{
		{sched.KindWake, []int{0, 1}, "t0:clone3", "kind differs"},
		{sched.KindPick, []int{0, 1}, "t0:write", "point differs"},
		{sched.KindWake, []int{0, 1, 2}, "t9:read", "kind, options and point differ"},
	}
	for _, c := range cases {
		f := NewFollower(trace)
		_, err := choose(f, c.kind, c.opts, c.at)
		if d, ok := err.(*DivergenceError); !ok || d.Reason != c.reason || d.Index != 0 {
			t.Errorf("Choose(%v %v %s): %v, want %q", c.kind, c.opts, c.at, err, c.reason)
		} else if !strings.Contains(err.Error(), "at the first decision") {
			t.Errorf("error %q does not say it is the first decision", err)
		}
	}
	// A trace whose choice is not among its own options (built by hand,
	// not parsed) is refused, not returned to the scheduler.
	f := NewFollower([]sched.Decision{pick(5, "t0:a", 0, 1)})
	if _, err := choose(f, sched.KindPick, []int{0, 1}, "t0:a"); err == nil || !strings.Contains(err.Error(), "recorded choice 5 is not among the options") {
		t.Errorf("bad recorded choice: %v", err)
	}
}

func TestFollowerEnds(t *testing.T) {
	// The run asks for more decisions than were recorded.
	f := NewFollower(trace[:2])
	follow(t, f, 2)
	_, err := choose(f, sched.KindPick, []int{0, 1}, "t0:exit_group")
	if d, ok := err.(*DivergenceError); !ok || d.Expected != nil || d.Index != 2 ||
		!strings.Contains(err.Error(), "the recorded trace ended, but the run offered pick of 0,1 @t0:exit_group") {
		t.Fatalf("past the trace: %v", err)
	}
	// The run ends before the trace does.
	f = NewFollower(trace)
	follow(t, f, 4)
	d := f.Finish()
	if d == nil || d.Actual != nil || d.Index != 4 ||
		!strings.Contains(d.Error(), "the run ended, but the trace expected pick of 0,2 @t1:futex") {
		t.Fatalf("short run: %v", d)
	}
}

// choose asks f the way the scheduler does.
func choose(f *Follower, kind sched.Kind, options []int, at string) (int, error) {
	return f.Choose(&sched.Request{Kind: kind, Options: options, At: at})
}

// TestFollowerIdle: a recorded pick that let time pass is followed like
// any other choice.
func TestFollowerIdle(t *testing.T) {
	tr := []sched.Decision{
		pick(sched.IdleOption, "t0:nanosleep", sched.IdleOption, 0, 1),
		pick(1, "t0:nanosleep", sched.IdleOption, 0, 1),
		{Kind: sched.KindFault, Choice: sched.FaultEINTR, Options: []int{0, 1, 2}, At: "t1:read"},
	}
	f := NewFollower(tr)
	for i, d := range tr {
		c, err := choose(f, d.Kind, append([]int(nil), d.Options...), d.At)
		if err != nil || c != d.Choice {
			t.Fatalf("decision %d: %d, %v; want %d", i, c, err, d.Choice)
		}
	}
	if err := f.Finish(); err != nil {
		t.Fatal(err)
	}
}
