package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept"
)

// startTimer is a tool that notes when the guest is started (its first
// thread announced, the start-up over).
type startTimer struct {
	intercept.NopTool
	at time.Time
}

func (s *startTimer) ThreadStart(t *intercept.Thread, parent *intercept.Thread) {
	if s.at.IsZero() {
		s.at = time.Now()
	}
}

// TestLoadCost measures what two CPU hogs do to a run: the start-up of a
// guest (intercept.Run until the first thread is announced) and the fixed
// cost of a scheduled run (explore.Run of /bin/true) and the time of a
// run of a few thousand syscalls (find), pinned to CPU 0 and
// unpinned, idle and with two hogs, and prints each cell's median and its
// ratio to the idle pinned one measured in the same run. It is a
// measurement, not a check: it runs only with SCHEDFUZZ_BENCH=1.
//
//	SCHEDFUZZ_BENCH=1 go test -run TestLoadCost -v ./bench
func TestLoadCost(t *testing.T) {
	if os.Getenv("SCHEDFUZZ_BENCH") != "1" {
		t.Skip("a measurement: set SCHEDFUZZ_BENCH=1")
	}
	const n = 60
	type cell struct {
		hogs       int
		pinnedHog  bool // the hog is pinned to CPU 0, as another tracer would be
		cpu        int
		start, run time.Duration
		long       time.Duration
	}
	cells := []*cell{{hogs: 0, cpu: 0}, {hogs: 0, cpu: NoPin}, {hogs: 2, cpu: 0}, {hogs: 2, cpu: NoPin},
		{hogs: 1, pinnedHog: true, cpu: 0}}
	for _, c := range cells {
		var hogs []*exec.Cmd
		for range c.hogs {
			h := exec.Command("/bin/sh", "-c", "while :; do :; done")
			if err := h.Start(); err != nil {
				t.Fatal(err)
			}
			if c.pinnedHog {
				var one unix.CPUSet
				one.Set(0)
				unix.SchedSetaffinity(h.Process.Pid, &one)
			}
			hogs = append(hogs, h)
		}
		var starts, runs []time.Duration
		for i := range n {
			tool := &startTimer{}
			t0 := time.Now()
			if _, err := intercept.Run(context.Background(), &intercept.Command{Path: "/bin/true", Args: []string{"true"}},
				tool, pinned(intercept.Options{}, c.cpu)); err != nil {
				t.Fatal(err)
			}
			starts = append(starts, tool.at.Sub(t0))
			t0 = time.Now()
			r, err := explore.Run(context.Background(), &explore.Target{Path: "/bin/true", Args: []string{"true"}},
				explore.Config{Seed: uint64(i), Pin: c.cpu >= 0, CPU: c.cpu, Timeout: 10 * time.Second})
			if err != nil || r.Failed() {
				t.Fatalf("run: %v %v", err, r)
			}
			runs = append(runs, time.Since(t0))
		}
		var longs []time.Duration
		for i := range n / 6 {
			t0 := time.Now()
			r, err := explore.Run(context.Background(), &explore.Target{Path: "/usr/bin/find", Args: []string{"find", "/usr/lib", "-maxdepth", "2"}},
				explore.Config{Seed: uint64(i), Pin: c.cpu >= 0, CPU: c.cpu, Timeout: 60 * time.Second})
			if err != nil || r.Failed() {
				t.Fatalf("run: %v %v", err, r.Describe())
			}
			longs = append(longs, time.Since(t0))
		}
		for _, h := range hogs {
			h.Process.Kill()
			h.Wait()
		}
		c.start, c.run, c.long = median(starts), median(runs), median(longs)
	}
	base := cells[0]
	for _, c := range cells {
		pin := "CPU 0"
		if c.cpu < 0 {
			pin = "unpinned"
		}
		hogs := fmt.Sprintf("%d hogs", c.hogs)
		if c.pinnedHog {
			hogs = "1 hog on CPU 0"
		}
		t.Logf("%-14s, %-8s: start-up %8v (%.2fx), run of /bin/true %8v (%.2fx)", hogs, pin,
			c.start.Round(time.Microsecond), ratio(c.start, base.start), c.run.Round(time.Microsecond), ratio(c.run, base.run))
		t.Logf("%-14s, %-8s: run of find /usr/lib -maxdepth 2 %8v (%.2fx)", hogs, pin, c.long.Round(time.Microsecond), ratio(c.long, base.long))
	}
	fmt.Fprintln(os.Stderr)
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
