package intercept_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// tracerTid records the guest's TracerPid: the tid of the tracer thread.
type tracerTid struct {
	intercept.NopTool
	tid int
}

func (tt *tracerTid) ThreadStart(t *intercept.Thread, parent *intercept.Thread) {
	if parent == nil {
		v := statusField("/proc/"+strconv.Itoa(t.Tid)+"/status", "TracerPid")
		tt.tid, _ = strconv.Atoi(v)
	}
}

func statusField(file, key string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestGuestAttributes: the guest runs with no_new_privs, on the CPU it
// was pinned to, and without ASLR when asked, although the tracer thread
// keeps none of these (see TestTracerThreadReused).
func TestGuestAttributes(t *testing.T) {
	cpu := testenv.QuietCPU(t)
	res, out := run(t, intercept.NopTool{}, intercept.Options{Pin: true, CPU: cpu, DisableASLR: true},
		"/bin/sh", "-c", "grep -E '^(NoNewPrivs|Cpus_allowed_list)' /proc/self/status; cat /proc/self/personality")
	const format = "NoNewPrivs:\t1\nCpus_allowed_list:\t%v\n00040000\n"
	want := fmt.Sprintf(format, cpu)
	// A run whose CPU turned out contended is unpinned (pin_linux.go),
	// maybe before the guest read its mask: it has the tracer's then.
	if wide := fmt.Sprintf(format, statusField("/proc/self/status", "Cpus_allowed_list")); res.Unpinned && out == wide {
		t.Logf("unpinned: CPU %d was contended", cpu)
		want = wide
	}
	if out != want {
		t.Errorf("guest attributes:\n%s\nwant:\n%s", out, want)
	}
}

// TestTracerThreadReused: after a run the tracer thread goes back to the
// runtime with its attributes restored: later runs reuse it, and no thread
// of this process is left pinned, with no_new_privs or without ASLR.
func TestTracerThreadReused(t *testing.T) {
	self := statusField("/proc/self/status", "Cpus_allowed_list")
	tids := map[int]bool{}
	const runs = 10
	cpu := testenv.QuietCPU(t)
	for range runs {
		tt := &tracerTid{}
		res, _ := run(t, tt, intercept.Options{Pin: true, CPU: cpu, DisableASLR: true}, "/bin/true")
		if res.ExitCode() != 0 || tt.tid == 0 {
			t.Fatalf("exit %d, tracer tid %d", res.ExitCode(), tt.tid)
		}
		tids[tt.tid] = true
	}
	if len(tids) == runs {
		t.Errorf("%d runs had %d different tracer threads: none was reused", runs, len(tids))
	}
	tasks, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if v := statusField(task+"/status", "NoNewPrivs"); v != "0" {
			t.Errorf("thread %s: NoNewPrivs %q", filepath.Base(task), v)
		}
		if v := statusField(task+"/status", "Cpus_allowed_list"); v != self {
			t.Errorf("thread %s: Cpus_allowed_list %q, the process's is %q", filepath.Base(task), v, self)
		}
		if b, err := os.ReadFile(task + "/personality"); err == nil && strings.TrimSpace(string(b)) != "00000000" {
			t.Errorf("thread %s: personality %s", filepath.Base(task), b)
		}
	}
}
