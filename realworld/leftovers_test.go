package realworld

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// No guest process may outlive its run. tracedByUs lists the processes
// that a thread of this test process still traces (their TracerPid is one
// of our thread ids), with their command lines: after a session has
// returned there must be none.
func tracedByUs() []string {
	ours := map[string]bool{}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		ours[t.Name()] = true
	}
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		status, err := os.ReadFile(filepath.Join(d, "status"))
		if err != nil {
			continue
		}
		i := bytes.Index(status, []byte("\nTracerPid:\t"))
		if i < 0 {
			continue
		}
		tracer, _, _ := strings.Cut(string(status[i+len("\nTracerPid:\t"):]), "\n")
		if tracer == "0" || !ours[tracer] {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		out = append(out, fmt.Sprintf("%s (%s)", filepath.Base(d), strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))))
	}
	return out
}

// leftovers waits up to 5 s for every process traced by us to be gone
// (a killed guest takes a moment to exit), then SIGKILLs and reports
// those that are not.
func leftovers() []string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := tracedByUs()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			killAll(left)
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killAll SIGKILLs the listed processes ("PID (cmdline)"): guests of ours
// that the tracer lost, so that the test can go on.
func killAll(procs []string) {
	for _, p := range procs {
		pidStr, _, _ := strings.Cut(p, " ")
		if pid, err := strconv.Atoi(pidStr); err == nil {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
}
