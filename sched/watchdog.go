package sched

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// watchdog catches a guest thread that runs user code without reaching a
// scheduling point for too long (a spin loop waiting for a thread that is
// held would otherwise run forever), and keeps the run's time for the
// per-run timeout. It is the one piece of the scheduler that looks at
// clocks; what it finds becomes deterministic through spin sites (spin.go).
//
// "Too long" is a quantum of CPU time since the thread's release, not of
// wall time: on a loaded machine a guest thread that is merely waiting for
// a CPU must not be caught (that would make the run depend on the
// machine's load). Only one thread of a guest runs at a time (the others
// are held in ptrace-stops), so the CPU clock of the running thread's
// process advances only while that thread runs; the tracer reads it at
// each release (base), and the thread's CPU time since is that clock
// minus base.
//
// Two things look at it:
//   - the thread's CPU ticks (intercept.Options.CPUTick, a quarter of the
//     quantum): the kernel stops the thread after each tick of its own
//     CPU time, and the tracer catches it at the first tick at which it
//     has used a quantum (Scheduler.CPUTick). This does not depend on
//     when the tracer gets a CPU: the thread is caught after one quantum
//     and at most a tick more of its CPU time, however loaded the
//     machine;
//   - a timer of the Go runtime (check), for threads without ticks (perf
//     events unavailable), and as a backstop for those with ticks (after
//     backstop quanta: a tick may be lost, a SIGSTOP of the guest's own
//     merging with it): it sends the thread a SIGSTOP
//     (intercept.StopThread), again at each of its ticks until the
//     scheduler has handled the catch. It ticks at least every maxPeriod,
//     sooner when the running thread's quantum runs out sooner, so a
//     thread without ticks is caught after one quantum and the wake-up
//     latency of the tracer's process.
//
// The timer runs on some runtime thread and re-arms itself; a run too
// short to reach a tick costs one timer. It shares atomics with the tracer
// thread (the generation, bumped at every release, the running thread's
// ids, its base and the virtual clock) and, under w.mu (a leaf), the set
// of guest processes whose CPU time the run is charged.
type watchdog struct {
	gen      atomic.Uint64
	pid, tid atomic.Int64
	base     atomic.Int64  // CPU time of the running thread's process at its release (ns, -1: unknown)
	limit    atomic.Int64  // CPU time after which the timer stops it (ns)
	vnow     atomic.Int64  // virtual ns since the start of the run, at the last release
	external atomic.Bool   // the scheduler waits for input from outside the guest
	fired    atomic.Uint64 // the generation a SIGSTOP was last sent for
	handled  atomic.Uint64 // the generation whose catch the scheduler handles

	quantum time.Duration
	period  time.Duration // between ticks at most: min(quantum, maxPeriod)
	// cpuTime returns the CPU time process pid has used (false if it
	// cannot be read); stopThread preempts a thread. Tests replace them.
	cpuTime    func(pid int) (time.Duration, bool)
	stopThread func(pid, tid int)

	mu      sync.Mutex // held by a tick and by stop: no re-arm after stop
	timer   *time.Timer
	stopped bool
	acct    account
}

// maxPeriod bounds the time between ticks: the run's time is sampled at
// least this often, whatever the preemption quantum (a replay may set it
// to an hour). minPeriod bounds it from below.
const (
	maxPeriod = 20 * time.Millisecond
	minPeriod = time.Millisecond
)

// backstop is how many quanta of CPU time a thread with CPU ticks may
// run without a point before the timer stops it too.
const backstop = 2

func newWatchdog(quantum time.Duration) *watchdog {
	w := &watchdog{quantum: quantum, period: min(quantum, maxPeriod), cpuTime: processCPUTime,
		stopThread: func(pid, tid int) { intercept.StopThread(pid, tid) }}
	w.acct.init()
	return w
}

// tickPeriod is the CPU tick a run needs for quantum (0: none, for a
// quantum so long that a backstop timer does).
func tickPeriod(quantum time.Duration) time.Duration {
	if quantum > time.Minute {
		return 0
	}
	return quantum / 4
}

// arm starts the ticks. limit > 0 makes the watchdog call expire once
// the run's time (see account) reaches limit, or once it has not grown
// for StallFactor times limit of wall time. Arm it before the guest is
// started: the start-up is covered too.
func (w *watchdog) arm(limit time.Duration, expire func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		return
	}
	w.acct.limit, w.acct.expire = limit, expire
	w.acct.last = time.Now()
	w.acct.progress = w.acct.last
	w.timer = time.AfterFunc(w.period, w.tick)
}

func (w *watchdog) tick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	next := w.check()
	w.acct.tick(w)
	w.timer.Reset(next)
}

// check stops the running thread if it has used its limit of CPU time
// since its release and the scheduler has not handled its catch yet. It
// returns when to look again: when the thread could reach its limit at
// the earliest (its CPU time grows no faster than wall time), within
// [minPeriod, period].
func (w *watchdog) check() time.Duration {
	gen := w.gen.Load()
	pid, tid := int(w.pid.Load()), int(w.tid.Load())
	base, limit := time.Duration(w.base.Load()), time.Duration(w.limit.Load())
	if gen%2 != 0 || w.gen.Load() != gen {
		return minPeriod // being released: the ids and the generation may not match
	}
	if tid == 0 || base < 0 || w.handled.Load() == gen {
		return w.period
	}
	if _, live := w.acct.procs[pid]; !live {
		// Gone (the run may be over): the pid may be another process's
		// by now, another run's guest even.
		return w.period
	}
	now, ok := w.cpuTime(pid)
	if !ok {
		return w.period
	}
	if used := now - base; used < limit {
		return min(max(limit-used, minPeriod), w.period)
	}
	w.fired.Store(gen)
	w.stopThread(pid, tid)
	return w.period
}

// running records the thread just released (tid 0: none), the CPU time
// of its process and the virtual time; ticking says whether the thread
// has CPU ticks (the timer is then only a backstop). The generation is
// odd while they change (a seqlock: check reads them only between two
// equal, even generations). It runs on the tracer thread.
func (w *watchdog) running(pid, tid int, vnow int64, ticking bool) {
	base := time.Duration(-1)
	if tid != 0 {
		if c, ok := w.cpuTime(pid); ok {
			base = c
		}
	}
	limit := w.quantum
	if ticking {
		limit *= backstop
	}
	w.gen.Add(1)
	w.pid.Store(int64(pid))
	w.tid.Store(int64(tid))
	w.base.Store(int64(base))
	w.limit.Store(int64(limit))
	w.vnow.Store(vnow)
	w.gen.Add(1)
}

// used returns the CPU time the thread released last has used since its
// release (false if unknown). It runs on the tracer thread.
func (w *watchdog) used() (time.Duration, bool) {
	base := time.Duration(w.base.Load())
	if base < 0 {
		return 0, false
	}
	now, ok := w.cpuTime(int(w.pid.Load()))
	return now - base, ok
}

// caughtNow reports whether the timer stopped the thread released last
// (not one released before: its SIGSTOP may arrive late).
func (w *watchdog) caughtNow() bool {
	gen := w.gen.Load()
	return gen%2 == 0 && w.fired.Load() == gen
}

// handling tells the timer whether the scheduler is handling the catch
// of the thread released last (then it stops it no more) or gave it up
// (another stop came first: the thread is stopped again if it goes on).
func (w *watchdog) handling(on bool) {
	if on {
		w.handled.Store(w.gen.Load())
	} else {
		w.handled.Store(0)
	}
}

// process adds (gone: removes) a guest process whose CPU time the run is
// charged.
func (w *watchdog) process(pid int, gone bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if gone {
		w.acct.gone(pid)
	} else if _, ok := w.acct.procs[pid]; !ok {
		w.acct.procs[pid] = 0
	}
}

// charged returns the run's time so far (see account).
func (w *watchdog) charged() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acct.total(w)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
}

// account is a run's time as the per-run timeout counts it: the time the
// run used, not the time the machine took to give it a CPU. It is the sum
// of
//   - the CPU time of every guest process (sampled each tick; a process
//     that ends is charged what the last tick saw);
//   - the time the guest was blocked for real: its released thread asleep
//     in the kernel (a call the scheduler let block, such as opening a
//     FIFO), or the tracer asleep while every guest thread is stopped (it
//     waits for input from outside). Each tick that finds it so adds the
//     time since the previous tick;
//   - the virtual time: what the guest slept, as natively it would have
//     (not what a strategy let pass while threads could run: chaos's
//     delays of a Python program's 5 ms GIL waits made 9 s of it in a
//     run that takes 0.1 s natively).
//
// Time spent runnable but waiting for a CPU counts nowhere, so two CPU
// hogs on the machine do not make a slow run a hang. Wall time is a last
// resort: a run whose time has not grown for StallFactor times the limit
// (a guest that neither runs nor sleeps, say a tracer bug) expires too.
type account struct {
	limit   time.Duration
	expire  func()
	expired bool
	// charged is the run's time at progress, the last tick it grew.
	charged  time.Duration
	progress time.Time

	procs   map[int]time.Duration // live guest processes: CPU time at the last tick
	dead    time.Duration         // CPU time of guest processes gone
	blocked time.Duration
	last    time.Time // the previous tick
}

func (a *account) init() { a.procs = map[int]time.Duration{} }

func (a *account) gone(pid int) {
	a.dead += a.procs[pid]
	delete(a.procs, pid)
}

func (a *account) tick(w *watchdog) {
	now := time.Now()
	d := now.Sub(a.last)
	a.last = now
	if a.blockedNow(w) {
		a.blocked += d
	}
	if a.limit <= 0 || a.expired {
		return
	}
	if t := a.total(w); t > a.charged {
		a.charged, a.progress = t, now
	}
	if a.charged >= a.limit || now.Sub(a.progress) >= StallFactor*a.limit {
		a.expired = true
		if a.expire != nil {
			a.expire()
		}
	}
}

// StallFactor is how many times its time limit a run may go without its
// time growing before it expires anyway (see account).
const StallFactor = 10

// blockedNow reports whether the guest is blocked for real: its released
// thread sleeps in the kernel, or the scheduler waits for input from
// outside the guest. A thread that is runnable ('R') is running or
// waiting for a CPU (the machine's load, never charged); one in a
// ptrace-stop ('t') waits for the tracer: its CPU time is the tool's
// cost, not the program's, and is not charged (a correct node program
// makes 1.8 million points: the tracer's share of them made every run a
// false hang at the 10 s default).
func (a *account) blockedNow(w *watchdog) bool {
	if w.external.Load() {
		return true
	}
	pid, tid := int(w.pid.Load()), int(w.tid.Load())
	if tid == 0 {
		return false
	}
	switch taskState(pid, tid) {
	case 'S', 'D':
		return true
	}
	return false
}

func (a *account) total(w *watchdog) time.Duration {
	t := a.dead + a.blocked + time.Duration(w.vnow.Load())
	for pid, last := range a.procs {
		if c, ok := w.cpuTime(pid); ok && c >= last {
			a.procs[pid], last = c, c
		}
		t += last
	}
	return t
}

// taskState returns the state letter of thread tid of process pid
// (/proc/PID/task/TID/stat, proc(5)), 0 if it cannot be read.
func taskState(pid, tid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/stat")
	if err != nil {
		return 0
	}
	// The state follows the command, which is in parentheses and may
	// contain anything: look after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// processCPUTime reads the CPU clock of another process
// (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED), see clock_getcpuclockid(3)).
func processCPUTime(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	var ts unix.Timespec
	clock := int32(^uint32(pid)<<3 | 2)
	if unix.ClockGettime(clock, &ts) != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
