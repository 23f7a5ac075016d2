package intercept_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/internal/testprog"
)

// counter is a tool that sees every syscall and lets it run.
type counter struct {
	intercept.NopTool
	n int
}

func (c *counter) Subscription() intercept.Subscription { return intercept.SubscribeAll() }

func (c *counter) SyscallEnter(*intercept.Thread, *intercept.Syscall) intercept.Action {
	c.n++
	return intercept.Continue()
}

// TestUnpinContendedCPU: a run pinned to a CPU that a CPU hog is pinned
// to as well is unpinned, runs to its end as it would on a free CPU, and
// reports that it waited for its CPU.
func TestUnpinContendedCPU(t *testing.T) {
	testenv.RequirePtrace(t)
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs: with one, there is nowhere else to run")
	}
	path := testprog.Build(t, "syscall_loop")
	hog := exec.Command("/bin/sh", "-c", "while :; do :; done")
	if err := hog.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		hog.Process.Kill()
		hog.Wait()
	}()
	cpu := testenv.QuietCPU(t)
	var one unix.CPUSet
	one.Set(cpu)
	if err := unix.SchedSetaffinity(hog.Process.Pid, &one); err != nil {
		t.Fatal(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	c := &counter{}
	res, err := intercept.Run(context.Background(), &intercept.Command{Path: path, Args: []string{path, "20000"}, Stdout: null},
		c, intercept.Options{Pin: true, CPU: cpu})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode() != 0 || c.n < 20000 {
		t.Fatalf("exit %d after %d syscalls, want 0 after 20000", res.ExitCode(), c.n)
	}
	if !res.Unpinned {
		t.Fatalf("a run pinned to CPU %d with a hog pinned there too stayed pinned (%d stops)", cpu, res.Stops)
	}
	if res.CPUWait <= 0 {
		t.Fatalf("a run unpinned for waiting for its CPU reports CPUWait %v", res.CPUWait)
	}
}
