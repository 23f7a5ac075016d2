package intercept_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/internal/testprog"
)

// TestPrograms runs every guest of internal/testprog under a tool that
// sees all syscalls, checks the guest behaves exactly as it does natively,
// checks what the trace shows, and that no guest process is left.
func TestPrograms(t *testing.T) {
	testenv.RequirePtrace(t)
	for _, c := range testprog.Cases() {
		t.Run(c.ID, func(t *testing.T) {
			path := testprog.Build(t, c.Name, c.Opts...)
			r := newRecorder(intercept.SubscribeAll())
			res, out := runCase(t, r, c.Argv(path), c.Stdin)
			if err := c.Check(out, syscall.WaitStatus(res.Status)); err != nil {
				t.Errorf("under the tracer: %v", err)
			}
			checkTrace(t, c.ID, r)
			// Every guest process this run saw must be gone. (Matching
			// on the executable would also see other test binaries'
			// guests: packages are tested in parallel.)
			deadline := time.Now().Add(2 * time.Second)
			for pid := range r.pids {
				for !zombieOrGone(pid) {
					if time.Now().After(deadline) {
						t.Errorf("guest process %d left running", pid)
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
}

// checkTrace asserts what each program's trace must show.
func checkTrace(t *testing.T, id string, r *recorder) {
	t.Helper()
	count := func(prefix string) int {
		n := 0
		for _, l := range r.log {
			if strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}
	writers := map[string]bool{}
	for _, l := range r.log {
		if strings.HasPrefix(l, "write ") {
			writers[strings.Fields(l)[1]] = true
		}
	}
	want := func(cond bool, what string) {
		t.Helper()
		if !cond {
			t.Errorf("%s: trace does not show %s:\n%s", id, what, r)
		}
	}
	switch id {
	case "threads_pipe":
		want(count("thread-start") == 3, "three threads")
		want(len(writers) >= 2, "writes from two threads")
	case "fork_exec", "spawn":
		want(count("process-start") == 2, "two processes")
		want(r.execs == 1, "the child's exec")
		want(len(r.signals) >= 1 && r.signals[0] == unix.SIGCHLD, "SIGCHLD to the parent")
	case "thread_exec":
		want(r.execs == 1 && strings.Contains(r.String(), "former"), "an exec")
		for _, l := range r.log {
			if f := strings.Fields(l); f[0] == "exec" {
				want(f[1] != f[3], "the exec'ing thread changing tid")
			}
		}
	case "sigterm":
		want(len(r.signals) == 1 && r.signals[0] == unix.SIGTERM, "SIGTERM delivered")
	case "segv":
		want(len(r.signals) == 1 && r.signals[0] == unix.SIGSEGV, "SIGSEGV delivered")
	case "stopcont":
		want(count("process-start") == 2, "the helper child")
		want(strings.Contains(r.String(), "signal") && contains(r.signals, unix.SIGSTOP) && contains(r.signals, unix.SIGCONT), "SIGSTOP and SIGCONT")
	case "static_hello", "main_returns":
		want(count("thread-start") >= 2, "threads")
	case "goroutines":
		want(count("thread-start") >= 4, "the Go runtime's threads")
	case "pipeline":
		want(count("process-start") >= 2 && r.execs >= 1, "the shell's children")
	case "int80":
		want(strings.Contains(r.String(), "enter") && r.has("enter"), "syscalls")
		want(r.foreign > 0, "the int $0x80 call")
	}
}

func contains(s []unix.Signal, v unix.Signal) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func runCase(t *testing.T, tool intercept.Tool, argv []string, stdin string) (*intercept.Result, string) {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { io.WriteString(inW, stdin); inW.Close() }()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, outR); close(copied) }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := intercept.Run(ctx, &intercept.Command{Path: argv[0], Args: argv, Stdin: inR, Stdout: outW}, tool, intercept.Options{})
	outW.Close()
	inR.Close()
	<-copied
	outR.Close()
	if err != nil {
		t.Fatalf("run %v: %v", argv, err)
	}
	return res, out.String()
}
