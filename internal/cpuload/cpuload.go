// Package cpuload picks, among CPUs a session may pin a run to, the one
// other processes used least lately, so that a run pinned at its start
// (intercept.Options.CPU) does not queue behind another engineer's tests
// pinned to CPU 0 while CPU 1 idles.
//
// Two signals, the fresher first. What the session's own runs met: each
// run reports how long its threads (tracer and guest) waited for its CPU
// (Done), and a CPU whose runs waited for a good part of their time is
// avoided while the memory lasts (it halves every waitHalfLife). This is
// known after one run, and a short session (runs of a tiny program: a few
// ms each) has nothing else. Then load: each CPU's busy time from
// /proc/stat (user, nice, system, irq, softirq; in 10 ms ticks, so a
// window is at least minWindow long and differences under a tenth of it
// count as ties). What this process and its reaped children ran
// (getrusage) is taken off the CPUs its runs were pinned to in the window,
// split evenly, so a session's own runs do not chase it from CPU to CPU.
// On a tie the CPU used last is kept, else the one the picking thread is
// on (where the kernel's own placement put it), else the lowest. Which CPU
// a run is on never changes what its guest sees: only how long it waits
// for a CPU.
package cpuload

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// minWindow is the shortest stretch load is compared over.
const minWindow = 200 * time.Millisecond

// A run's wait share is its threads' wait for its CPU (summed: tracer
// and guest) over its wall time. Shares differing by less than waitNoise are ties (a run on an
// idle CPU waits a few µs per ms: wake-ups); a CPU's remembered share
// halves every waitHalfLife, so that a CPU left for a contended one is
// tried again once the contention may be gone.
const (
	waitNoise    = 0.1
	waitHalfLife = time.Second
)

// waitRec is what the session's runs met on a CPU.
type waitRec struct {
	share float64
	at    time.Time
}

// Picker chooses CPUs; its methods are safe for concurrent use.
type Picker struct {
	mu    sync.Mutex
	start time.Time
	ran   map[int]int64 // per CPU, ns run at start
	own   int64         // this process's CPU time at start
	used  map[int]bool  // CPUs runs were pinned to since start
	runs  map[int]int   // per CPU, runs going on (Pick, Release)
	other map[int]int64 // per CPU, others' ns in the last closed window
	wait  map[int]waitRec
	last  int // the CPU picked last (-1: none)

	// The sources, replaced in tests.
	now  func() time.Time
	busy func() map[int]int64
	mine func() int64
	cur  func() int // the CPU the calling thread is on (-1: unknown)
}

// New returns a picker whose first window starts now.
func New() *Picker {
	return newPicker(time.Now, readRan, ownCPU, currentCPU)
}

func newPicker(now func() time.Time, busy func() map[int]int64, mine func() int64, cur func() int) *Picker {
	p := &Picker{last: -1, now: now, busy: busy, mine: mine, cur: cur, runs: map[int]int{}, wait: map[int]waitRec{}}
	p.reset(now())
	return p
}

func (p *Picker) reset(now time.Time) {
	p.start, p.ran, p.own, p.used = now, p.busy(), p.mine(), map[int]bool{}
	for c, n := range p.runs {
		if n > 0 {
			p.used[c] = true // a run going on keeps its CPU busy
		}
	}
}

// Pick returns the index in free (non-empty) of the CPU to pin the next
// run to, and notes that a run uses it until Release.
func (p *Picker) Pick(free []int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.start) >= minWindow {
		p.close(now)
	}
	cur := -1
	if len(free) > 1 {
		cur = p.cur()
	}
	best := -1
	for i, c := range free {
		if best < 0 || p.better(c, free[best], cur, now) {
			best = i
		}
	}
	p.last = free[best]
	p.used[p.last] = true
	p.runs[p.last]++
	return best
}

// Done notes that a run picked on cpu has ended after wall time, its
// threads having waited for the CPU for waited in all (0, 0: not known).
func (p *Picker) Done(cpu int, waited, wall time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.runs[cpu]--
	if wall <= 0 {
		return
	}
	now := p.now()
	share := min(float64(waited)/float64(wall), 1)
	if _, ok := p.wait[cpu]; ok {
		share = (share + p.waitShare(cpu, now)) / 2
	}
	p.wait[cpu] = waitRec{share, now}
}

// waitShare is cpu's remembered wait share at now (0: none).
func (p *Picker) waitShare(cpu int, now time.Time) float64 {
	r, ok := p.wait[cpu]
	if !ok {
		return 0
	}
	return r.share * math.Exp2(-float64(now.Sub(r.at))/float64(waitHalfLife))
}

// better reports whether CPU a is a better pick than b; cur is the CPU
// the picking thread is on.
func (p *Picker) better(a, b, cur int, now time.Time) bool {
	if wa, wb := p.waitShare(a, now), p.waitShare(b, now); math.Abs(wa-wb) >= waitNoise {
		return wa < wb
	}
	oa, ob := p.other[a], p.other[b]
	// Differences under a tenth of the window are noise (ticks).
	if d := oa - ob; d < -int64(minWindow/10) || d > int64(minWindow/10) {
		return oa < ob
	}
	if (a == p.last) != (b == p.last) {
		return a == p.last
	}
	if (a == cur) != (b == cur) {
		return a == cur
	}
	return a < b
}

// close ends the window at now: others' share of each CPU.
func (p *Picker) close(now time.Time) {
	ran, own := p.busy(), p.mine()
	mine := int64(0)
	if len(p.used) > 0 {
		mine = (own - p.own) / int64(len(p.used))
	}
	other := map[int]int64{}
	span := now.Sub(p.start)
	for c, ns := range ran {
		d := ns - p.ran[c]
		if p.used[c] {
			d -= mine
		}
		// Normalized to minWindow, so shares compare across windows.
		other[c] = max(d, 0) * int64(minWindow) / int64(span)
	}
	p.other = other
	p.reset(now)
}

// readRan reads each CPU's busy time, in ns, from /proc/stat
// ("cpuN user nice system idle iowait irq softirq steal ...").
func readRan() map[int]int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	out := map[int]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		c, err := strconv.Atoi(f[0][3:])
		if err != nil {
			continue
		}
		var ticks int64
		for _, j := range []int{1, 2, 3, 6, 7} {
			x, _ := strconv.ParseInt(f[j], 10, 64)
			ticks += x
		}
		const userHZ = 100 // USER_HZ on Linux x86
		out[c] = ticks * int64(time.Second) / userHZ
	}
	return out
}

// currentCPU is the CPU the calling thread runs on (getcpu(2)), or -1.
func currentCPU() int {
	var cpu uint32
	if _, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); e != 0 {
		return -1
	}
	return int(cpu)
}

// ownCPU is the CPU time of this process and its reaped children, in ns.
func ownCPU() int64 {
	var self, kids unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &self)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &kids)
	return unix.TimevalToNsec(self.Utime) + unix.TimevalToNsec(self.Stime) +
		unix.TimevalToNsec(kids.Utime) + unix.TimevalToNsec(kids.Stime)
}
