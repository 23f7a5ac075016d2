package intercept_test

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// ticker counts CPU ticks and steps the thread once at each.
type ticker struct {
	intercept.NopTool
	ticks, steps, ticking int
	signals               []string
}

func (k *ticker) Subscription() intercept.Subscription { return intercept.SubscribeTo() }

func (k *ticker) ThreadStart(t, _ *intercept.Thread) {
	if t.CPUTicking() {
		k.ticking++
	}
}

func (k *ticker) CPUTick(t *intercept.Thread) {
	k.ticks++
	if _, err := t.Step(); err == nil {
		k.steps++
	}
}

func (k *ticker) Signal(_ *intercept.Thread, sig unix.Signal, _ *unix.Siginfo) unix.Signal {
	k.signals = append(k.signals, unix.SignalName(sig))
	return sig
}

// TestCPUTick: a thread that spins 200 ms of CPU time in user code is
// stopped at a CPU tick about every period of it (perf's software task
// clock: no hardware counters), can be stepped there, and never sees the
// tick's SIGSTOP.
func TestCPUTick(t *testing.T) {
	testenv.RequirePtrace(t)
	prog := filepath.Join(t.TempDir(), "cpuspin")
	if b, err := exec.Command("gcc", "-O1", "-o", prog, filepath.Join("testdata", "cpuspin.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	k := &ticker{}
	res, out := run(t, k, intercept.Options{CPUTick: 10 * time.Millisecond}, prog)
	if k.ticking == 0 {
		t.Skip("perf software events unavailable here (perf_event_paranoid or a sandbox): no CPU ticks")
	}
	if out != "spun yes\n" || res.ExitCode() != 0 {
		t.Fatalf("exit %d, output %q", res.ExitCode(), out)
	}
	// 200 ms at 10 ms a tick: about 20 (time in the kernel does not count).
	if k.ticks < 5 || k.ticks > 40 {
		t.Errorf("%d ticks over 200 ms of CPU time at 10 ms each, want about 20", k.ticks)
	}
	if k.steps < k.ticks/2 {
		t.Errorf("%d of %d ticks could be stepped", k.steps, k.ticks)
	}
	if len(k.signals) != 0 {
		t.Errorf("signals reached the tool: %v", k.signals)
	}
}
