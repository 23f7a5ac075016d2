package intercept

import (
	"bytes"
	"maps"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Pinning. Options.Pin keeps the tracer thread and the guest on one CPU:
// only one of them runs at a time, and a stop costs several times less
// when neither has to be woken on another CPU. But a CPU that other
// processes want too (a CPU hog, another tracer pinned there) makes the
// run wait for it however idle the other CPUs are. The tracer thread is
// pinned before it forks the guest, which inherits the mask: the
// start-up (sandbox, fork, exec) runs on the run's CPU as well, not
// wherever the kernel wakes it (beside another run's pinned pair, or
// behind a hog: with two CPU hogs an unpinned fork and exec took 1.3-2.2
// ms a run of a tiny program against 0.35 pinned; bench/RESULTS.md). A
// pinner watches how long the tracer and the guest wait on a run
// queue: when they wait for a good part of the time, the run is unpinned
// (the tracer thread and every guest thread get the tracer's former mask
// back) and stays so until it ends. Which CPU the run ends up on never
// changes what the guest sees (the scheduler virtualizes the CPU number
// and count). Result.CPUWait reports what the run waited for its CPU
// from the pinning on: the tracer thread's wait, and each guest thread's
// as last read (at a tick, or at its exit stop, the last moment it can
// be read), so that a session can pick its next run's CPU by it.

// Pinner thresholds: a run is unpinned when its threads waited for a CPU
// for at least contendedShare of the wall time of pinStrikes consecutive
// periods of pinPeriod.
const (
	pinPeriod      = 50 * time.Millisecond
	pinStrikes     = 2
	contendedShare = 4 // 1/4
	maxPinTasks    = 64
)

// pinner runs on a Go timer; it shares the live set (under its lock) and
// its own state (under mu, a leaf) with the tracer thread.
type pinner struct {
	cpu    int
	wide   unix.CPUSet // the tracer thread's mask before pinning
	tracer int         // the tracer thread's tid
	live   *liveSet

	mu       sync.Mutex
	timer    *time.Timer
	stopped  bool
	unpinned bool
	strikes  int
	wall     time.Time
	delay    time.Duration // run-queue wait of the watched threads at wall
	watched  map[int]time.Duration
	// The tracer thread's run-queue wait at the pinning, and the watched
	// threads' when the watch began (those of the guest already there).
	tracerBase time.Duration
	base       map[int]time.Duration
}

// pin moves the tracer thread to the run's CPU. It runs on the tracer
// thread, before the fork: the guest inherits the mask.
func (tr *Tracer) pin() error {
	cpu := tr.opts.CPU
	var wide unix.CPUSet
	if err := unix.SchedGetaffinity(0, &wide); err != nil {
		return err
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return err
	}
	p := &pinner{cpu: cpu, wide: wide, tracer: unix.Gettid(), live: tr.live, watched: map[int]time.Duration{}}
	p.tracerBase, _ = runDelay(os.Getpid(), p.tracer)
	tr.pinner = p
	return nil
}

// watch starts watching for contention, once the guest is started (in the
// live set). It runs on the tracer thread.
func (p *pinner) watch() {
	p.mu.Lock()
	p.wall = time.Now()
	p.delay = p.sample()
	p.base = maps.Clone(p.watched)
	p.timer = time.AfterFunc(pinPeriod, p.tick)
	p.mu.Unlock()
}

func (p *pinner) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.unpinned {
		return
	}
	now := time.Now()
	delay := p.sample()
	if (delay-p.delay)*contendedShare >= now.Sub(p.wall) {
		p.strikes++
	} else {
		p.strikes = 0
	}
	p.wall, p.delay = now, delay
	if p.strikes >= pinStrikes {
		p.unpin()
		return
	}
	p.timer.Reset(pinPeriod)
}

// sample returns the time the tracer thread and the guest's threads have
// waited on a run queue (schedstat's run_delay), summed. A guest thread
// seen once is remembered until the run ends, so that one that exits does
// not make the sum go back; new ones count from their first sample.
func (p *pinner) sample() time.Duration {
	var sum time.Duration
	if d, ok := runDelay(os.Getpid(), p.tracer); ok {
		sum += d
	}
	n := 0
	for _, pid := range p.live.snapshot() {
		tids, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		for _, e := range tids {
			if n++; n > maxPinTasks {
				break
			}
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if d, ok := runDelay(pid, tid); ok {
				p.watched[tid] = d
			}
		}
	}
	for _, d := range p.watched {
		sum += d
	}
	return sum
}

// unpin gives every thread of the run the tracer's former mask.
func (p *pinner) unpin() {
	p.unpinned = true
	unix.SchedSetaffinity(p.tracer, &p.wide)
	for _, pid := range p.live.snapshot() {
		tids, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		for _, e := range tids {
			if tid, err := strconv.Atoi(e.Name()); err == nil {
				unix.SchedSetaffinity(tid, &p.wide)
			}
		}
	}
}

// exiting samples a guest thread at its exit stop, the last moment its
// wait can be read (stop sums them).
func (p *pinner) exiting(pid, tid int) {
	if d, ok := runDelay(pid, tid); ok {
		p.mu.Lock()
		p.watched[tid] = d
		p.mu.Unlock()
	}
}

// stop ends the watch; it reports whether the run was unpinned and how
// long the tracer thread and the guest's threads waited for a CPU since
// the pinning (a thread as last sampled: at a tick or at its exit). It
// runs on the tracer thread.
func (p *pinner) stop() (unpinned bool, waited time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
	}
	if d, ok := runDelay(os.Getpid(), p.tracer); ok {
		waited = max(d-p.tracerBase, 0)
	}
	for tid, d := range p.watched {
		waited += max(d-p.base[tid], 0)
	}
	return p.unpinned, waited
}

// runDelay reads the time thread tid of process pid has spent waiting on
// a run queue (/proc/PID/task/TID/schedstat, second field, ns).
func runDelay(pid, tid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/schedstat")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(v), true
}
