package intercept_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

func TestEmulateGetpid(t *testing.T) {
	r := newRecorder(intercept.SubscribeTo(unix.SYS_GETPID))
	r.enter = func(th *intercept.Thread, c *intercept.Syscall) intercept.Action {
		return intercept.Emulate(424242)
	}
	_, out := run(t, r, intercept.Options{}, "/bin/sh", "-c", "echo $$")
	if out != "424242\n" {
		t.Fatalf("emulated getpid: got %q", out)
	}
}

func TestEmulateErrno(t *testing.T) {
	r := newRecorder(intercept.SubscribeTo(unix.SYS_OPENAT))
	r.enter = func(th *intercept.Thread, c *intercept.Syscall) intercept.Action {
		p, _, _ := th.Memory().ReadString(c.Args[1], 256)
		if p == "/etc/hostname" {
			return intercept.Emulate(intercept.Errno(unix.EACCES))
		}
		return intercept.Continue()
	}
	res, _ := run(t, r, intercept.Options{}, "/bin/cat", "/etc/hostname")
	if res.ExitCode() != 1 {
		t.Fatalf("cat of an emulated EACCES: exit %d, want 1", res.ExitCode())
	}
}

func TestModifyArgs(t *testing.T) {
	r := newRecorder(intercept.SubscribeTo(unix.SYS_WRITE))
	r.enter = func(th *intercept.Thread, c *intercept.Syscall) intercept.Action {
		if c.Args[0] == 1 {
			c.Args[2] = 2 // write only the first two bytes
		}
		return intercept.TraceExit()
	}
	_, out := run(t, r, intercept.Options{}, "/bin/echo", "hello")
	// echo retries short writes: "hello\n" takes three writes of two.
	if out != "hello\n" {
		t.Fatalf("output: got %q", out)
	}
	if n := strings.Count(r.String(), "\nexit "); n != 3 || strings.Count(r.String(), " = 2") != 3 {
		t.Fatalf("want three writes returning 2, got:\n%s", r)
	}
}

func TestInject(t *testing.T) {
	var injected []int64
	var pids []int
	r := newRecorder(intercept.SubscribeTo(unix.SYS_WRITE))
	r.enter = func(th *intercept.Thread, c *intercept.Syscall) intercept.Action {
		// Two injections in a row, then the original call goes on.
		a, err := th.Inject(unix.SYS_GETPID)
		if err != nil {
			t.Errorf("inject: %v", err)
		}
		b, err := th.Inject(unix.SYS_GETTID)
		if err != nil {
			t.Errorf("inject: %v", err)
		}
		injected = append(injected, a, b)
		pids = append(pids, th.Proc.Pid, th.Tid)
		return intercept.TraceExit()
	}
	_, out := run(t, r, intercept.Options{}, "/bin/echo", "hello")
	if out != "hello\n" {
		t.Fatalf("original write after injection: got %q", out)
	}
	if len(injected) != 2 || injected[0] != int64(pids[0]) || injected[1] != int64(pids[1]) {
		t.Fatalf("injected getpid/gettid = %v, want %v", injected, pids)
	}
	if !strings.Contains(r.String(), " = 6") {
		t.Fatalf("re-issued write did not return 6:\n%s", r)
	}
}

func TestInjectThenEmulate(t *testing.T) {
	r := newRecorder(intercept.SubscribeTo(unix.SYS_GETPID))
	r.enter = func(th *intercept.Thread, c *intercept.Syscall) intercept.Action {
		real, err := th.Inject(unix.SYS_GETPID)
		if err != nil {
			t.Errorf("inject: %v", err)
		}
		return intercept.Emulate(real + 1)
	}
	res, out := run(t, r, intercept.Options{}, "/bin/sh", "-c", "echo $$")
	got, _ := strconv.Atoi(strings.TrimSpace(out))
	if got != int(res.Pid)+1 {
		t.Fatalf("emulated getpid after injection: got %q, want %d", out, res.Pid+1)
	}
}

// TestNoGuestOutlivesTracer kills a tracer process with SIGKILL and checks
// that its guest dies with it.
func TestNoGuestOutlivesTracer(t *testing.T) {
	testenv.RequirePtrace(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SCHEDFUZZ_HELPER_TRACER=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	var pids []int
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "guest "); ok {
			pid, _ := strconv.Atoi(rest)
			pids = append(pids, pid)
			if len(pids) == 2 {
				break
			}
		}
	}
	if len(pids) != 2 {
		t.Fatalf("helper tracer did not report its guests")
	}
	cmd.Process.Signal(unix.SIGKILL)
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for unix.Kill(pid, 0) == nil {
			if zombieOrGone(pid) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("guest %d survived its tracer", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func zombieOrGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

// pidReporter prints the pid of every guest process as it starts.
type pidReporter struct{ intercept.NopTool }

func (pidReporter) ProcessStart(p *intercept.Process, _ *intercept.Process) {
	os.Stdout.WriteString("guest " + strconv.Itoa(p.Pid) + "\n")
}

func TestMain(m *testing.M) {
	if os.Getenv("SCHEDFUZZ_HELPER_TRACER") == "1" {
		// Helper process for TestNoGuestOutlivesTracer: a guest tree
		// of two processes that would live for a minute.
		intercept.Run(context.Background(), &intercept.Command{Path: "/bin/sh",
			Args: []string{"sh", "-c", "sleep 60 & sleep 61; wait"}}, pidReporter{}, intercept.Options{})
		os.Exit(0)
	}
	os.Exit(m.Run())
}
