package intercept_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
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

// TestPinnedFromFork: a pinned run's guest is on the run's CPU from its
// first instruction (it inherits the tracer thread's mask at the fork),
// and a CPU that cannot be had fails the run before anything is started.
func TestPinnedFromFork(t *testing.T) {
	testenv.RequirePtrace(t)
	cpu := testenv.QuietCPU(t)
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	res, err := intercept.Run(context.Background(), &intercept.Command{Path: "/bin/grep",
		Args: []string{"grep", "Cpus_allowed_list", "/proc/self/status"}, Stdout: out},
		&counter{}, intercept.Options{Pin: true, CPU: cpu})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("Cpus_allowed_list:\t%d\n", cpu)
	if res.Unpinned {
		// The CPU was contended (a loaded test run): grep may have
		// read its mask after the unpinning.
		want = string(got)
	}
	if res.ExitCode() != 0 || string(got) != want {
		t.Fatalf("guest pinned to CPU %d: exit %d, printed %q, want %q", cpu, res.ExitCode(), got, want)
	}
	_, err = intercept.Run(context.Background(), &intercept.Command{Path: "/bin/true", Args: []string{"true"}},
		&counter{}, intercept.Options{Pin: true, CPU: 1000})
	if err == nil || !strings.Contains(err.Error(), "pin to CPU 1000") {
		t.Fatalf("a run pinned to CPU 1000: error %v, want one about pinning", err)
	}
}
