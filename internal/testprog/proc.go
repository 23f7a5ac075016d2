package testprog

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// procStat is the part of /proc/<pid>/stat the helpers need.
type procStat struct {
	pid, ppid, pgrp int
	state           byte
}

// readStat parses /proc/<pid>/stat. The comm field may contain spaces and
// parentheses, so parsing starts after the last ')'.
func readStat(pid int) (procStat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return procStat{}, false
	}
	return procStat{pid: pid, ppid: ppid, pgrp: pgrp, state: f[0][0]}, true
}

// pids lists the processes (thread-group leaders) in /proc.
func pids() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var out []int
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

func allStats() []procStat {
	var out []procStat
	for _, pid := range pids() {
		if st, ok := readStat(pid); ok {
			out = append(out, st)
		}
	}
	return out
}

// Descendants returns the pids of all processes descending from pid
// (children, grandchildren, ...), following the parent pids in
// /proc/<pid>/stat, sorted and not including pid itself. Zombies are
// included. The parent pid is the real parent, not a ptrace tracer.
//
// A process whose parent exited has been re-parented to init or to a
// child subreaper (see PR_SET_CHILD_SUBREAPER) and is no longer found
// through the chain, so to assert that a guest left nothing behind either
// make the test process a subreaper or use ProcessesWithExe /
// ProcessGroupMembers.
func Descendants(pid int) []int {
	children := map[int][]int{}
	for _, st := range allStats() {
		if st.pid != st.ppid {
			children[st.ppid] = append(children[st.ppid], st.pid)
		}
	}
	var out []int
	seen := map[int]bool{pid: true}
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	sort.Ints(out)
	return out
}

// ProcessGroupMembers returns the pids of all processes (zombies included)
// whose process group is pgid, sorted.
func ProcessGroupMembers(pgid int) []int {
	var out []int
	for _, st := range allStats() {
		if st.pgrp == pgid {
			out = append(out, st.pid)
		}
	}
	sort.Ints(out)
	return out
}

// ProcessesWithExe returns the pids of the live processes running the
// executable at path (as returned by Build), sorted: those whose
// /proc/<pid>/exe link names path, also after the file was deleted or
// replaced ("path (deleted)"). path is compared both as given (made
// absolute) and with symbolic links resolved.
//
// Zombies have no executable and are not reported. A process whose leader
// thread has exited while other threads still run is found through its
// remaining threads (/proc/<pid>/task/<tid>/exe).
func ProcessesWithExe(path string) []int {
	want := map[string]bool{}
	if abs, err := filepath.Abs(path); err == nil {
		want[abs] = true
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			want[r] = true
		}
	} else {
		want[path] = true
	}
	var out []int
	for _, pid := range pids() {
		for _, exe := range exesOf(pid) {
			if want[strings.TrimSuffix(exe, " (deleted)")] {
				out = append(out, pid)
				break
			}
		}
	}
	sort.Ints(out)
	return out
}

// exesOf returns the executable of process pid, or, if the leader's link
// is gone (zombie leader, kernel thread, or exited), those of its threads.
func exesOf(pid int) []string {
	dir := "/proc/" + strconv.Itoa(pid)
	if exe, err := os.Readlink(dir + "/exe"); err == nil {
		return []string{exe}
	}
	d, err := os.Open(dir + "/task")
	if err != nil {
		return nil
	}
	defer d.Close()
	tids, _ := d.Readdirnames(-1)
	if len(tids) <= 1 {
		return nil
	}
	var out []string
	for _, tid := range tids {
		if exe, err := os.Readlink(dir + "/task/" + tid + "/exe"); err == nil {
			out = append(out, exe)
		}
	}
	return out
}

// WaitNoProcessesWithExe polls ProcessesWithExe(path) until it is empty or
// timeout has passed, and returns the last result (nil when none is left).
// A killed process takes a moment to actually exit and release its memory
// (and with it the exe link), so a test should use this rather than a
// single ProcessesWithExe call right after sending SIGKILL.
func WaitNoProcessesWithExe(path string, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	delay := time.Millisecond
	for {
		left := ProcessesWithExe(path)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(delay)
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}
