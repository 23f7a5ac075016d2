package hunt

import (
	"context"

	"github.com/schedfuzz/schedfuzz/explore"
)

// stacks is the pipeline's last step: the failure is replayed once more
// with call stacks captured (explore.ReplayStacks: at both events of the
// critical pair and each thread's last points) and a timeline, and the
// report shows that run, so that the text report, the HTML page, the
// -json event, JUnit and the trace name the functions and lines. With a
// critical pair the run replayed is the one its events are numbered in
// (the minimized schedule's); without, the failing run itself. A replay
// that does not reproduce leaves the report without stacks (logged).
func (h *Hunt) stacks(ctx context.Context, fd *Found) {
	fr := fd.Report
	r, err := explore.ReplayStacks(ctx, h.Program.Target(), h.RunConfig(fd.Run, fd.Run.Result), fr.Result, fr.Cause)
	if err != nil {
		if ctx.Err() == nil {
			h.logf("%v (the report has no stacks)", err)
		}
		return
	}
	fr.Result, fr.Stacks = r, r.Outcome.Stacks
}
