package explore

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/sched"
)

// A run ended by its own timeout is a hang whatever its teardown said; a
// run that finished by itself, or that the caller cancelled, is not.
func TestHungUp(t *testing.T) {
	bg := context.Background()
	// A run's context is cancelled with errTimeout when its own time is
	// up (sched.Config.OnTimeout).
	expired, cancel := context.WithCancelCause(bg)
	cancel(errTimeout)
	cancelled, cancel2 := context.WithCancel(bg)
	cancel2()
	child, cancel3 := context.WithCancelCause(cancelled)
	cancel3(errTimeout)
	exited := &intercept.Result{Status: unix.WaitStatus(1 << 8)}
	killed := &intercept.Result{Status: unix.WaitStatus(unix.SIGKILL)}
	gone := errors.New("restart t2: restart: no such process")
	for _, c := range []struct {
		name        string
		ctx, runCtx context.Context
		res         *intercept.Result
		err         error
		kind        sched.OutcomeKind
		want        bool
	}{
		{"timeout error", bg, expired, nil, context.Canceled, sched.Finished, true},
		{"teardown error", bg, expired, nil, gone, sched.Finished, true},
		{"killed, no error", bg, expired, killed, nil, sched.Finished, true},
		{"lost track while killed", bg, expired, exited, nil, sched.Internal, true},
		{"finished as the timeout passed", bg, expired, exited, nil, sched.Finished, false},
		{"no timeout", bg, bg, killed, nil, sched.Finished, false},
		{"cancelled by the caller", cancelled, child, nil, context.Canceled, sched.Finished, false},
	} {
		if got := hungUp(c.ctx, c.runCtx, c.res, c.err, c.kind); got != c.want {
			t.Errorf("%s: hungUp = %v, want %v", c.name, got, c.want)
		}
	}
}
