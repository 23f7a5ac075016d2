package hunt

import (
	"slices"

	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
)

// FollowPrefix returns a Decider that takes the recorded trace while the
// run asks the recorded questions (replay.Follower) and, from the first
// question it does not, makes the non-preemptive choice: the thread that
// was running goes on (a yielding one hands over to the next), the first
// waiter wakes, no fault. It replays a seed in a program changed since
// (ReplayOptions.Changed): a run that now passes says the change fixed
// the failure as far as this schedule shows; one that fails the same way
// says it did not.
func FollowPrefix(trace []sched.Decision) sched.Decider {
	return &prefixFollower{f: replay.NewFollower(trace)}
}

type prefixFollower struct {
	f   *replay.Follower
	off bool // the run left the trace
}

func (p *prefixFollower) Choose(r *sched.Request) (int, error) {
	if !p.off {
		c, err := p.f.Choose(r)
		if err == nil {
			return c, nil
		}
		p.off = true
	}
	return nonPreemptive(r), nil
}

// nonPreemptive is the choice of a scheduler that never preempts.
func nonPreemptive(r *sched.Request) int {
	if r.Kind != sched.KindPick {
		return r.Options[0]
	}
	var ts []int // threads, without the idle option
	for _, o := range r.Options {
		if o >= 0 {
			ts = append(ts, o)
		}
	}
	if len(ts) == 0 {
		return r.Options[0]
	}
	i, found := slices.BinarySearch(ts, r.Thread)
	switch {
	case found && !r.Yield:
		return r.Thread
	case found:
		i++
	}
	return ts[i%len(ts)]
}
