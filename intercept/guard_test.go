package intercept_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

var buildHostile = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hostile")
	if err != nil {
		return "", err
	}
	prog := filepath.Join(dir, "hostile")
	if b, err := exec.Command("gcc", "-O1", "-o", prog, filepath.Join("testdata", "hostile.c")).CombinedOutput(); err != nil {
		return "", &buildError{string(b)}
	}
	return prog, nil
})

type buildError struct{ out string }

func (e *buildError) Error() string { return "gcc: " + e.out }

func hostile(t *testing.T) string {
	t.Helper()
	p, err := buildHostile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runGuarded runs argv under tool and returns its output and the tool.
func runGuarded(t *testing.T, tool intercept.Tool, keepGroup bool, argv ...string) string {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, outR); close(copied) }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = intercept.Run(ctx, &intercept.Command{Path: argv[0], Args: argv, Stdout: outW, KeepProcessGroup: keepGroup},
		tool, intercept.Options{})
	outW.Close()
	<-copied
	outR.Close()
	if err != nil {
		t.Fatalf("run %v: %v\n%s", argv, err, out.String())
	}
	return out.String()
}

// guardTools are the tools the guard must hold under: one that sees
// nothing (the guarded calls stop for the guard alone), one that sees
// everything and asks for exits, one that holds each call and resumes it
// from the next callback.
func guardTools() map[string]func() (intercept.Tool, map[int]bool) {
	return map[string]func() (intercept.Tool, map[int]bool){
		"none": func() (intercept.Tool, map[int]bool) {
			r := newRecorder(intercept.SubscribeTo())
			return r, r.pids
		},
		"all": func() (intercept.Tool, map[int]bool) {
			r := newRecorder(intercept.SubscribeAll())
			return r, r.pids
		},
		"hold": func() (intercept.Tool, map[int]bool) {
			r := newRecorder(intercept.SubscribeAll())
			r.enter = func(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
				t.Hold()
				if err := t.Resume(intercept.TraceExit()); err != nil {
					panic(err)
				}
				return intercept.Hold()
			}
			return r, r.pids
		},
	}
}

// TestGuestCannotSignalTracer: every way a guest can name the tracer
// (its parent, its tracer thread, its process group, a pidfd or a /proc
// directory fd, an fd's owner) is refused with EPERM; the tracer gets no
// signal; harmless calls still work.
func TestGuestCannotSignalTracer(t *testing.T) {
	testenv.RequirePtrace(t)
	prog := hostile(t)
	got := make(chan os.Signal, 16)
	signal.Notify(got, unix.SIGWINCH)
	defer signal.Stop(got)
	for name, mk := range guardTools() {
		t.Run(name, func(t *testing.T) {
			tool, pids := mk()
			out := runGuarded(t, tool, false, prog, "signals", "28")
			for _, want := range []string{"kill-parent=EPERM", "kill-tracer=EPERM", "tkill=EPERM", "tgkill=EPERM",
				"sigqueueinfo=EPERM", "tgsigqueueinfo=EPERM", "pidfd_send_signal=EPERM", "pidfd_send_signal-proc=EPERM",
				"kill-group=EPERM", "setpgid=EPERM", "f_setown=EPERM", "f_setown-group=EPERM", "f_setown_ex=EPERM",
				"fiosetown=EPERM", "kill-self=0", "setpgid-own=0", "f_setown-self=0"} {
				if !strings.Contains(out, want+"\n") {
					t.Errorf("guest output lacks %q:\n%s", want, out)
				}
			}
			checkGone(t, pids)
		})
	}
	select {
	case s := <-got:
		t.Fatalf("the tracer received %v from its guest", s)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestGuestGroupSignalSparesTracer: a guest in the tracer's process group
// (as trace runs it) that signals its group with kill(0, sig) reaches
// itself and not the tracer; kill(-1, sig) reaches the other guest
// processes only.
func TestGuestGroupSignalSparesTracer(t *testing.T) {
	testenv.RequirePtrace(t)
	prog := hostile(t)
	got := make(chan os.Signal, 16)
	signal.Notify(got, unix.SIGWINCH)
	defer signal.Stop(got)
	for name, mk := range guardTools() {
		t.Run(name, func(t *testing.T) {
			tool, _ := mk()
			out := runGuarded(t, tool, true, prog, "group", "28")
			if !strings.Contains(out, "kill-0=0\n") || !strings.Contains(out, "caught=1\n") {
				t.Errorf("kill(0) in the tracer's group: %s", out)
			}
			tool, _ = mk()
			out = runGuarded(t, tool, false, prog, "all", "28")
			if !strings.Contains(out, "kill-all=0\n") || !strings.Contains(out, "child-status=0\n") {
				t.Errorf("kill(-1): %s", out)
			}
		})
	}
	select {
	case s := <-got:
		t.Fatalf("the tracer received %v from its guest", s)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestCloneUntracedIsTraced: clone and clone3 with CLONE_UNTRACED create
// traced children all the same (the flag is removed), so none escapes the
// run.
func TestCloneUntracedIsTraced(t *testing.T) {
	testenv.RequirePtrace(t)
	prog := hostile(t)
	for name, mk := range guardTools() {
		t.Run(name, func(t *testing.T) {
			tool, pids := mk()
			out := runGuarded(t, tool, false, prog, "untraced")
			if n := strings.Count(out, "child "); n != 2 {
				t.Fatalf("want two children, got:\n%s", out)
			}
			if len(pids) != 3 {
				t.Errorf("the tool saw %d processes, want 3 (the guest and both children)", len(pids))
			}
			checkGone(t, pids)
		})
	}
}
