package bench

import (
	"context"
	"sync"
	"testing"
)

var (
	pointsOnce  sync.Once
	pointsGuest *PointsGuest
	pointsErr   error
)

func testPointsGuest(tb testing.TB) *PointsGuest {
	tb.Helper()
	testTools(tb) // ptrace and compiler checks
	pointsOnce.Do(func() { pointsGuest, pointsErr = BuildPointsGuest(toolsDir) })
	if pointsErr != nil {
		tb.Fatal(pointsErr)
	}
	return pointsGuest
}

// TestPointsHarness runs every mode with N=1000 and checks the counts (Run
// checks the tool saw exactly N hits) and the stops per hit: 1 for an
// emulated breakpoint, a hardware breakpoint, a watchpoint and a syscall,
// 2 for a breakpoint stepped in place. No timing assertion.
func TestPointsHarness(t *testing.T) {
	g := testPointsGuest(t)
	cpu, _ := CPUs()
	const n = 1000
	base := map[PointMode]uint64{}
	for _, mode := range []PointMode{BreakpointEmulated, BreakpointStepped, HWBreakpoint, Watchpoint, SyscallStop} {
		r, err := g.Run(context.Background(), mode, n, cpu)
		if err != nil {
			t.Fatal(err)
		}
		if r.NsPerOp <= 0 {
			t.Errorf("%s: ns_per_op %v", mode, r.NsPerOp)
		}
		base[mode] = r.Stops
	}
	for _, mode := range []PointMode{NativeInt3, NativeStep} {
		if ns, err := g.RunNative(context.Background(), mode, n, cpu); err != nil || ns <= 0 {
			t.Errorf("%s: %v ns, %v", mode, ns, err)
		}
	}
	for mode, perHit := range map[PointMode]uint64{BreakpointEmulated: 1, HWBreakpoint: 1, Watchpoint: 1, BreakpointStepped: 2} {
		if got := base[mode] - base[SyscallStop]; got != (perHit-1)*n {
			t.Errorf("%s: %d stops more than getppid, want %d per hit", mode, got, perHit-1)
		}
	}
}

// benchPoint runs b.N hits of mode and b.N subscribed getppid stops, both
// pinned, and reports the guest's time per hit, per stop, and their ratio
// (ns/op includes process startup and is not the number to read).
func benchPoint(b *testing.B, mode PointMode) {
	g := testPointsGuest(b)
	cpu, _ := CPUs()
	hit, err := g.Run(context.Background(), mode, b.N, cpu)
	if err != nil {
		b.Fatal(err)
	}
	stop, err := g.Run(context.Background(), SyscallStop, b.N, cpu)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(hit.NsPerOp, "ns/hit")
	b.ReportMetric(stop.NsPerOp, "ns/syscall-stop")
	b.ReportMetric(hit.NsPerOp/stop.NsPerOp, "hit/syscall-stop")
}

// BenchmarkBreakpointHit is the cost of one int3 breakpoint hit (the tool
// continues at once) for an emulated and a stepped instruction, and of a
// debug-register exec breakpoint, against a subscribed syscall stop.
func BenchmarkBreakpointHit(b *testing.B) {
	for _, m := range []PointMode{BreakpointEmulated, BreakpointStepped, HWBreakpoint} {
		b.Run(string(m), func(b *testing.B) { benchPoint(b, m) })
	}
}

// BenchmarkNativeTrap is what the kernel alone spends on the traps behind
// a hit, with no tracer: an int3 and a single-step (debug exception), each
// delivered to a SIGTRAP handler in the guest.
func BenchmarkNativeTrap(b *testing.B) {
	for _, m := range []PointMode{NativeInt3, NativeStep} {
		b.Run(string(m), func(b *testing.B) {
			g := testPointsGuest(b)
			cpu, _ := CPUs()
			ns, err := g.RunNative(context.Background(), m, b.N, cpu)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(ns, "ns/trap")
		})
	}
}

// BenchmarkWatchpointHit is the cost of one write-watchpoint hit against a
// subscribed syscall stop.
func BenchmarkWatchpointHit(b *testing.B) { benchPoint(b, Watchpoint) }
