package explore

import (
	"regexp"
	"slices"
	"strings"

	"github.com/schedfuzz/schedfuzz/sched"
)

// Signature names the failure r found, so that seeds failing the same way
// share a corpus directory (replay.Store): the outcome, " @", and the
// scheduling point of the last decision of the failing thread(s).
//
//   - A deadlock's failing threads are the blocked ones, each at the
//     point where it blocked (from the scheduler's report), sorted:
//     "deadlock @t0:futex,t1:futex,t2:futex".
//   - Otherwise the failing thread is the one that ended the process (the
//     last thread seen at exit_group in the trace; else the thread of the
//     last decision), at its last point before exiting: "exit 1 @t1:write".
//     Waker decisions ("futex:2") belong to no thread and are skipped.
//   - A run with no thread decisions is signed by its outcome alone.
//
// This is a first cut: it is stable for deadlocks, and for other failures
// it still depends on which teardown interleaving the run took. Changing it
// changes the directory names of new seeds only; existing seed files keep
// the signature they were saved with.
func Signature(r *Result) string {
	outcome := r.Describe()
	if r.Outcome.Kind == sched.Deadlock {
		if pts := blockedPoints(r.Outcome.Report); len(pts) > 0 {
			return outcome + " @" + strings.Join(pts, ",")
		}
	}
	var lastThread, exiter string
	lastPoint := map[string]string{} // thread ("t1") -> last point before exiting
	for _, d := range r.Decisions {
		thread, call, ok := strings.Cut(d.At, ":")
		if !ok || !isThread(thread) {
			continue
		}
		lastThread = thread
		switch call {
		case "exit_group":
			exiter = thread
		case "exit":
		default:
			lastPoint[thread] = d.At
		}
	}
	if exiter == "" {
		exiter = lastThread
	}
	if p := lastPoint[exiter]; p != "" {
		return outcome + " @" + p
	}
	return outcome
}

// blockedLine matches a thread line of sched's deadlock report:
// "  thread 1 (tid 123, pid 120) at t1:futex: waits on futex 0x...".
var blockedLine = regexp.MustCompile(`(?m)^\s*thread \d+ \([^)]*\) at (\S+):`)

func blockedPoints(report string) []string {
	var pts []string
	for _, m := range blockedLine.FindAllStringSubmatch(report, -1) {
		pts = append(pts, m[1])
	}
	slices.Sort(pts)
	return pts
}

// isThread reports whether s names a virtual thread ("t0", "t12").
func isThread(s string) bool {
	if len(s) < 2 || s[0] != 't' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
