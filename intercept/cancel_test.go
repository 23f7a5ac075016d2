package intercept_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/internal/testprog"
)

// TestCancelDuringStart: a run cancelled at any moment, the guest's
// start-up included (the kill then interrupts a seize or an injected
// call), returns the cancellation, never another error, and leaves no
// process behind.
func TestCancelDuringStart(t *testing.T) {
	testenv.RequirePtrace(t)
	for i := range 60 {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Duration(i%20)*50*time.Microsecond, cancel)
		res, err := intercept.Run(ctx, &intercept.Command{Path: "/bin/true", Args: []string{"true"}},
			intercept.NopTool{}, intercept.Options{DisableVDSO: true, TrapRDTSC: true})
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: %v, want nil or the cancellation", i, err)
		}
		if err == nil && res == nil {
			t.Fatalf("run %d: no result and no error", i)
		}
	}
	if left := testprog.Descendants(os.Getpid()); len(left) > 0 {
		t.Fatalf("processes left behind: %v", left)
	}
}
