package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Load is a snapshot of the machine's busy CPU time and of this process's
// own (itself and its reaped children), to tell how much CPU other
// processes used during a measurement on a shared machine.
type Load struct {
	wall        time.Time
	busy, ourNs int64 // ns of busy CPU time: the whole machine; this process and its reaped children
	perCPU      []int64
}

// SampleLoad takes a snapshot.
func SampleLoad() Load {
	all, per := cpuBusy()
	return Load{wall: time.Now(), busy: all, perCPU: per, ourNs: ownCPU()}
}

// ForeignStringOn is ForeignString plus what ForeignOn says of cpu.
func (l Load) ForeignStringOn(cpu int) string {
	_, wall := l.Foreign()
	on := l.ForeignOn(cpu)
	return fmt.Sprintf("%s; on CPU %d at least %v (%.1f%%)", l.ForeignString(), cpu,
		on.Round(time.Millisecond), 100*on.Seconds()/wall.Seconds())
}

// ForeignOn is the busy time of one CPU since l minus all of this
// process's (and its children's) CPU time: how much of that CPU other
// processes took at least, when the benchmark pins its tracer and guests
// there (other engineers' tests pin to CPU 0, so CPU 0 can be saturated
// while CPU 1 is idle).
func (l Load) ForeignOn(cpu int) time.Duration {
	now := SampleLoad()
	if cpu < 0 || cpu >= len(l.perCPU) || cpu >= len(now.perCPU) {
		return 0
	}
	d := (now.perCPU[cpu] - l.perCPU[cpu]) - (now.ourNs - l.ourNs)
	return time.Duration(max(d, 0))
}

// Foreign returns the CPU time other processes used since l and the wall
// time that passed. /proc/stat counts in ticks of 10 ms.
func (l Load) Foreign() (other, wall time.Duration) {
	now := SampleLoad()
	other = time.Duration((now.busy - l.busy) - (now.ourNs - l.ourNs))
	if other < 0 {
		other = 0 // tick granularity
	}
	return other, now.wall.Sub(l.wall)
}

// ForeignString describes Foreign in words, as stopbench prints it.
func (l Load) ForeignString() string {
	other, wall := l.Foreign()
	return fmt.Sprintf("wall %v, CPU time used by other processes meanwhile %v (%.1f%% of one CPU)",
		wall.Round(time.Millisecond), other.Round(time.Millisecond), 100*other.Seconds()/wall.Seconds())
}

// cpuBusy is the non-idle CPU time of all CPUs and of each, from
// /proc/stat.
func cpuBusy() (all int64, perCPU []int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, nil
	}
	for i, line := range strings.Split(string(b), "\n") {
		// "cpu  user nice system idle iowait irq softirq steal ...", then "cpuN ..."
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "cpu") {
			break
		}
		var busy int64
		for j, v := range f[1:] {
			if j == 3 || j == 4 || j >= 7 { // idle, iowait; steal, guest (already in user)
				continue
			}
			x, _ := strconv.ParseInt(v, 10, 64)
			busy += x
		}
		const userHZ = 100 // USER_HZ is 100 on Linux/x86
		busy = busy * int64(time.Second) / userHZ
		if i == 0 {
			all = busy
		} else {
			perCPU = append(perCPU, busy)
		}
	}
	return all, perCPU
}

func ownCPU() int64 {
	var self, kids unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &self)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &kids)
	return unix.TimevalToNsec(self.Utime) + unix.TimevalToNsec(self.Stime) +
		unix.TimevalToNsec(kids.Utime) + unix.TimevalToNsec(kids.Stime)
}

// ownSwitches is the number of context switches (voluntary and
// involuntary) of this process's threads and of its reaped children.
func ownSwitches() int64 {
	var self, kids unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &self)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &kids)
	return self.Nvcsw + self.Nivcsw + kids.Nvcsw + kids.Nivcsw
}

// LoadAvg is the content of /proc/loadavg.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// Kernel is the running kernel's release.
func Kernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// CommandLine is how the current program was invoked, as a shell would
// take it, with argv[0] replaced by name.
func CommandLine(name string) string {
	args := []string{name}
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t'\"\\$|&;<>*?()[]{}") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

// Median returns the median of sorted values (0 for none).
func Median(sorted []float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Usage is a snapshot of this process's CPU time and its reaped
// children's (the guests of its runs), user and system apart.
type Usage struct {
	wall       time.Time
	self, kids unix.Rusage
}

// SampleUsage takes a snapshot.
func SampleUsage() Usage {
	u := Usage{wall: time.Now()}
	unix.Getrusage(unix.RUSAGE_SELF, &u.self)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &u.kids)
	return u
}

// PerRun describes the CPU time used since u per run: this process's
// (tracers and everything else, user+system) and its children's (the
// guests), and how many CPUs the two kept busy on average.
func (u Usage) PerRun(runs int) string {
	now := SampleUsage()
	ns := func(r unix.Rusage) (user, sys int64) {
		return unix.TimevalToNsec(r.Utime), unix.TimevalToNsec(r.Stime)
	}
	su0, ss0 := ns(u.self)
	su1, ss1 := ns(now.self)
	ku0, ks0 := ns(u.kids)
	ku1, ks1 := ns(now.kids)
	per := func(d int64) float64 { return float64(d) / 1e6 / float64(max(runs, 1)) }
	wall := now.wall.Sub(u.wall)
	busy := float64(su1-su0+ss1-ss0+ku1-ku0+ks1-ks0) / float64(wall)
	return fmt.Sprintf("CPU ms/run: tracer process %.2f user + %.2f sys, guests %.2f user + %.2f sys (%.2f CPUs busy)",
		per(su1-su0), per(ss1-ss0), per(ku1-ku0), per(ks1-ks0), busy)
}

// WaitQuiet waits until other processes have used less than share of one
// CPU over a second, or until limit has passed, and reports whether the
// machine was quiet: on a shared machine a measurement that needs the
// whole machine (runs at once on every CPU) is taken in a quiet moment.
func WaitQuiet(share float64, limit time.Duration) bool {
	end := time.Now().Add(limit)
	for {
		l := SampleLoad()
		time.Sleep(time.Second)
		other, wall := l.Foreign()
		if other.Seconds() < share*wall.Seconds() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// MachineBusy is the busy CPU time of all CPUs so far (/proc/stat).
func MachineBusy() time.Duration {
	all, _ := cpuBusy()
	return time.Duration(all)
}

// ProcessCPU is the CPU time process pid has used so far (user and
// system, /proc/PID/stat), 0 if it cannot be read.
func ProcessCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const userHZ = 100
	return time.Duration(u+st) * time.Second / userHZ
}
