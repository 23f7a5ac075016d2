package explore

import (
	"context"
	"fmt"
)

// ReplayStacks replays the failing run r once more with stacks captured
// (Config.Stacks): at each thread's last points and, with a Cause, at
// both events of its critical pair. With a Cause, the run replayed is the
// one its events are numbered in (c.Failing), so that the events' points
// name the same places. cfg is the configuration r was made with (seed,
// strategy, points, faults...); its Replay is set here, and the timeline
// is recorded too (Outcome.Timeline) for the reports that draw it.
//
// The returned run is r again, with Outcome.Stacks: a report shows it in
// place of r so that every point it names has its stack. A replay that
// diverges or ends another way is an error (the report goes without
// stacks).
func ReplayStacks(ctx context.Context, tgt *Target, cfg Config, r *Result, c *Cause) (*Result, error) {
	if c != nil && c.Failing != nil {
		r = c.Failing
	}
	cfg.Seed, cfg.Replay, cfg.Decider = r.Seed, r.Decisions, nil
	cfg.Stacks, cfg.Timeline = true, true
	cfg.StackAt = nil
	if c != nil {
		first, second := c.First, c.Second
		cfg.StackAt = func(thread, point int) bool {
			return thread == first.Thread && point == first.Point || thread == second.Thread && point == second.Point
		}
	}
	if r.Spins != nil {
		cfg.Spins = r.Spins
	}
	s, err := Run(ctx, tgt, cfg)
	if err != nil {
		return nil, fmt.Errorf("replay with stacks: %w", err)
	}
	if got, want := Signature(s), Signature(r); got != want {
		why := got
		if s.Divergence != nil {
			why = s.Divergence.Error()
		}
		return nil, fmt.Errorf("replay with stacks: %s, not %s", why, want)
	}
	return s, nil
}
