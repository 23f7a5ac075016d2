package explore

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// startRetries bounds how long a run waits for the process limit: about
// 5 s in all, in growing steps.
const startRetries = 12

// startRetrying is intercept.Run, retried while the guest cannot even be
// forked for lack of processes (EAGAIN: RLIMIT_NPROC or the system's
// limit). That is transient when the guest is a fork or thread storm: the
// processes of another run, or of this run's previous attempt, are still
// being reaped. A launch that fails has shown the tool nothing but its
// subscription, so the tool is reused. A guest that still cannot start
// after the retries is the error.
func startRetrying(ctx context.Context, cmd *intercept.Command, tool intercept.Tool, opts intercept.Options) (*intercept.Result, error) {
	wait := time.Millisecond
	for i := 0; ; i++ {
		res, err := intercept.Run(ctx, cmd, tool, opts)
		var se *intercept.StartError
		if i == startRetries || !errors.As(err, &se) || !errors.Is(se.Err, unix.EAGAIN) {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
