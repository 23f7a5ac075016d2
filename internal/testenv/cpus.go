package testenv

import (
	"bufio"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// QuietCPUs returns n CPUs this process may run on, the least busy first
// over a short sample of /proc/stat, for a test that must pin runs
// (Options.Pin): such a test must not depend on CPU 0, or any one CPU,
// being free. It skips tb if fewer than n CPUs are allowed. Which CPUs it
// returns never changes what a test checks: a pinned run that finds its
// CPU contended is unpinned (Result.Unpinned), and tests allow for that.
func QuietCPUs(tb testing.TB, n int) []int {
	tb.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		tb.Fatalf("sched_getaffinity: %v", err)
	}
	var allowed []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			allowed = append(allowed, c)
		}
	}
	if len(allowed) < n {
		tb.Skipf("needs %d CPUs, %d allowed", n, len(allowed))
	}
	before := busyTicks()
	time.Sleep(100 * time.Millisecond)
	after := busyTicks()
	busy := map[int]uint64{}
	for _, c := range allowed {
		busy[c] = after[c] - before[c]
	}
	sort.SliceStable(allowed, func(i, j int) bool { return busy[allowed[i]] < busy[allowed[j]] })
	return allowed[:n]
}

// QuietCPU is QuietCPUs(tb, 1)[0].
func QuietCPU(tb testing.TB) int {
	tb.Helper()
	return QuietCPUs(tb, 1)[0]
}

// busyTicks reads each CPU's non-idle time (clock ticks) from /proc/stat;
// a CPU missing from it reads as 0.
func busyTicks() map[int]uint64 {
	m := map[int]uint64{}
	f, err := os.Open("/proc/stat")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || !strings.HasPrefix(fields[0], "cpu") || fields[0] == "cpu" {
			continue
		}
		c, err := strconv.Atoi(fields[0][3:])
		if err != nil {
			continue
		}
		var busy uint64
		for i, v := range fields[1:] {
			if i == 3 || i == 4 { // idle, iowait
				continue
			}
			n, _ := strconv.ParseUint(v, 10, 64)
			busy += n
		}
		m[c] = busy
	}
	return m
}
