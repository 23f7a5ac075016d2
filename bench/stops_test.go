package bench

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/schedfuzz/schedfuzz/bench/ctracer"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// The tools are built once per test binary, into a directory TestMain
// removes at the end.
var (
	toolsOnce sync.Once
	toolsDir  string
	tools     *Tools
	toolsErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "schedfuzz-bench-")
	if err != nil {
		panic(err)
	}
	toolsDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testTools(tb testing.TB) *Tools {
	tb.Helper()
	testenv.RequirePtrace(tb)
	if _, err := exec.LookPath(ctracer.Compiler()); err != nil {
		// Like bench/ctracer's tests: fail, or skip on request.
		if os.Getenv("SCHEDFUZZ_SKIP_UNSUPPORTED") == "1" {
			tb.Skipf("no C compiler (%s): %v", ctracer.Compiler(), err)
		}
		tb.Fatalf("no C compiler (%s): %v (set SCHEDFUZZ_SKIP_UNSUPPORTED=1 to skip)", ctracer.Compiler(), err)
	}
	toolsOnce.Do(func() {
		tools, toolsErr = BuildTools(toolsDir)
	})
	if toolsErr != nil {
		tb.Fatal(toolsErr)
	}
	return tools
}

// TestHarness runs every configuration with N=1000 and checks the counts:
// the guest made 1000 calls, the tracer (ctracer's summary, or our intercept
// tool) saw exactly 1000 getppid stops, and none for unsubscribed getpid.
// It makes no timing assertion; the numbers are in RESULTS.md.
func TestHarness(t *testing.T) {
	tl := testTools(t)
	cpu, cpu2 := CPUs()
	const n = 1000
	for _, tr := range []Tracer{Native, CTracer, CTracerX, Intercept} {
		for _, pl := range []Placement{Pinned, Unpinned, Cross} {
			for _, w := range []Workload{Subscribed, Unsubscribed} {
				cfg := Config{Tracer: tr, Place: pl, Work: w, CPU: cpu, CPU2: cpu2}
				t.Run(cfg.Name(), func(t *testing.T) {
					if pl == Cross && (tr == Native || cpu2 < 0 || tl.Taskset == "") {
						t.Skip("cross-CPU needs a tracer, two CPUs and taskset")
					}
					res, err := tl.Run(context.Background(), cfg, n)
					if err != nil {
						t.Fatal(err)
					}
					// Run already checks these; check them here too, so
					// that a change to Run cannot silently drop them.
					wantStops := int64(n)
					switch {
					case tr == Native:
						wantStops = -1
					case w == Unsubscribed:
						wantStops = 0
					}
					if res.Calls != n || res.Stops != wantStops {
						t.Errorf("calls=%d stops=%d, want %d and %d", res.Calls, res.Stops, n, wantStops)
					}
					if tr == Intercept {
						want := map[Placement]string{Pinned: strconv.Itoa(cpu), Cross: strconv.Itoa(cpu2), Unpinned: allCPUs(t)}[pl]
						if res.GuestCPUs != want {
							t.Errorf("guest ran on CPUs %q, want %q", res.GuestCPUs, want)
						}
					}
					if res.NsPerCall <= 0 {
						t.Errorf("ns_per_call=%v, want > 0", res.NsPerCall)
					}
				})
			}
		}
	}
}

// allCPUs is the Cpus_allowed_list of the calling thread. (Not of
// /proc/self: the main thread may be one that a locked goroutine pinned and
// exited on; the runtime parks such a main thread instead of ending it.)
func allCPUs(t *testing.T) string {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	v := cpusAllowed("/proc/thread-self/status")
	if v == "" {
		t.Fatal("no Cpus_allowed_list in /proc/thread-self/status")
	}
	return v
}

// TestStartOn checks the in-process pinning used for native and ctracer
// runs: the child of startOn(cpu) is restricted to cpu, and the thread that
// forked it does not leak its affinity to later unpinned children.
func TestStartOn(t *testing.T) {
	cpu, _ := CPUs()
	all := allCPUs(t)
	for _, c := range []int{cpu, -1} {
		cmd := exec.Command("/bin/cat", "/proc/self/status")
		var out strings.Builder
		cmd.Stdout = &out
		if err := startOn(c, cmd); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		want := all
		if c >= 0 {
			want = strconv.Itoa(c)
		}
		if !strings.Contains(out.String(), "Cpus_allowed_list:\t"+want+"\n") {
			t.Errorf("startOn(%d): child status has no Cpus_allowed_list %q:\n%s", c, want, out.String())
		}
	}
}

// benchGuest runs the guest with b.N calls under cfg, pinned, and reports
// the guest's own in-loop time per call as ns/syscall (ns/op includes the
// startup of the processes and is not the number to read).
func benchGuest(b *testing.B, tr Tracer, w Workload) {
	tl := testTools(b)
	cpu, _ := CPUs()
	cfg := Config{Tracer: tr, Place: Pinned, Work: w, CPU: cpu}
	res, err := tl.Run(context.Background(), cfg, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.NsPerCall, "ns/syscall")
}

// BenchmarkStop is the cost of one seccomp stop, tracer and guest pinned to
// one CPU (native: the bare getppid). ctracer-x is ctracer doing the same
// work per stop as intercept (PTRACE_GET_SYSCALL_INFO).
func BenchmarkStop(b *testing.B) {
	for _, tr := range []Tracer{Native, CTracer, CTracerX, Intercept} {
		b.Run(tr.String(), func(b *testing.B) { benchGuest(b, tr, Subscribed) })
	}
}

// BenchmarkUnsubscribed is the cost of getpid, which the filters allow,
// pinned: native (no filter), under ctracer's filter, under intercept's.
func BenchmarkUnsubscribed(b *testing.B) {
	for _, tr := range []Tracer{Native, CTracer, Intercept} {
		b.Run(tr.String(), func(b *testing.B) { benchGuest(b, tr, Unsubscribed) })
	}
}
