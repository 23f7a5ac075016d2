package intercept_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// recorder is a tool that logs what it sees, one line per event.
type recorder struct {
	intercept.NopTool
	sub     intercept.Subscription
	enter   func(t *intercept.Thread, c *intercept.Syscall) intercept.Action
	mu      sync.Mutex // only for the test goroutine reading log after Run
	log     []string
	tids    map[int]bool
	pids    map[int]bool
	signals []unix.Signal
	execs   int
	foreign int
}

func newRecorder(sub intercept.Subscription) *recorder {
	return &recorder{sub: sub, tids: map[int]bool{}, pids: map[int]bool{}}
}

func (r *recorder) Subscription() intercept.Subscription { return r.sub }

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.log = append(r.log, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) ProcessStart(p *intercept.Process, parent *intercept.Process) {
	r.pids[p.Pid] = true
	r.add("process-start %d", p.Pid)
}

func (r *recorder) ThreadStart(t *intercept.Thread, parent *intercept.Thread) {
	r.tids[t.Tid] = true
	r.add("thread-start %d", t.Tid)
}

func (r *recorder) SyscallEnter(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
	r.add("enter %d %d", t.Tid, c.Nr)
	if c.Arch != syscalls.X86_64 {
		r.foreign++
	}
	if c.Nr == unix.SYS_WRITE && c.Arch == syscalls.X86_64 {
		buf := make([]byte, min(c.Args[2], 256))
		n, _ := t.Memory().ReadAt(buf, int64(c.Args[1]))
		r.add("write %d %q", t.Tid, buf[:n])
	}
	if r.enter != nil {
		return r.enter(t, c)
	}
	return intercept.TraceExit()
}

func (r *recorder) SyscallExit(t *intercept.Thread, c *intercept.Syscall, ret int64) int64 {
	r.add("exit %d %d = %d", t.Tid, c.Nr, ret)
	return ret
}

func (r *recorder) Signal(t *intercept.Thread, sig unix.Signal, _ *unix.Siginfo) unix.Signal {
	r.signals = append(r.signals, sig)
	r.add("signal %d %v", t.Tid, sig)
	return sig
}

func (r *recorder) Exec(t *intercept.Thread, former int) {
	r.execs++
	r.add("exec %d former %d", t.Tid, former)
}

func (r *recorder) ThreadExit(t *intercept.Thread, status int) {
	r.add("thread-exit %d", t.Tid)
}

func (r *recorder) ProcessExit(p *intercept.Process, ws unix.WaitStatus) {
	r.add("process-exit %d %#x", p.Pid, uint32(ws))
}

func (r *recorder) has(prefix string) bool {
	for _, l := range r.log {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func (r *recorder) String() string { return strings.Join(r.log, "\n") }

// run runs argv under tool, returning the result and the guest's stdout.
func run(t *testing.T, tool intercept.Tool, opts intercept.Options, argv ...string) (*intercept.Result, string) {
	t.Helper()
	testenv.RequirePtrace(t)
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, outR); close(copied) }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := intercept.Run(ctx, &intercept.Command{Path: argv[0], Args: argv, Stdout: outW}, tool, opts)
	outW.Close()
	<-copied
	outR.Close()
	if err != nil {
		t.Fatalf("run %v: %v", argv, err)
	}
	return res, out.String()
}

func TestEchoWrite(t *testing.T) {
	r := newRecorder(intercept.SubscribeAll())
	res, out := run(t, r, intercept.Options{}, "/bin/echo", "hello")
	if out != "hello\n" {
		t.Errorf("stdout = %q", out)
	}
	if res.ExitCode() != 0 {
		t.Errorf("exit = %d", res.ExitCode())
	}
	if !r.has(`write `) || !r.has(fmt.Sprintf("exit %d %d = 6", res.Status, 0)[:5]) {
		t.Errorf("no write seen:\n%s", r)
	}
	if !strings.Contains(r.String(), `"hello\n"`) {
		t.Errorf("write contents not seen:\n%s", r)
	}
}

// TestCancelDuringThreadCreation: a guest killed while it starts or while
// it creates threads leaves no thread behind in an exit stop (a thread
// killed before its creator's clone event was reported, or during the
// tracer's start-up injections, stops only at its exit, and a thread at
// its exit stop can only be resumed, not killed): Run returns every time,
// and promptly.
func TestCancelDuringThreadCreation(t *testing.T) {
	testenv.RequirePtrace(t)
	prog := filepath.Join(t.TempDir(), "thread_storm")
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", prog, filepath.Join("testdata", "thread_storm.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	for i := 0; i < 100; i++ {
		// From during the start-up (the first 60) to well into the run.
		d := time.Duration(i%30) * 60 * time.Microsecond
		if i >= 60 {
			d = time.Duration(1+i%7) * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), d)
		done := make(chan error, 1)
		r := newRecorder(intercept.SubscribeAll())
		go func() {
			_, err := intercept.Run(ctx, &intercept.Command{Path: prog, Args: []string{prog}}, r, intercept.Options{})
			done <- err
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("iteration %d: Run did not return 20 s after its cancellation", i)
		}
		cancel()
		checkGone(t, r.pids)
	}
}
