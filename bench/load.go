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
}

// SampleLoad takes a snapshot.
func SampleLoad() Load {
	return Load{wall: time.Now(), busy: machineBusy(), ourNs: ownCPU()}
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

// machineBusy is the non-idle CPU time of all CPUs, from /proc/stat.
func machineBusy() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n") // "cpu  user nice system idle iowait irq softirq steal ..."
	f := strings.Fields(line)
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 7 { // idle, iowait; steal, guest (already in user)
			continue
		}
		x, _ := strconv.ParseInt(v, 10, 64)
		busy += x
	}
	const userHZ = 100 // USER_HZ is 100 on Linux/x86
	return busy * int64(time.Second) / userHZ
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
