package ctracer

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unsupported fails the test, or skips it if SCHEDFUZZ_SKIP_UNSUPPORTED=1.
func unsupported(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("SCHEDFUZZ_SKIP_UNSUPPORTED") == "1" {
		t.Skipf("unsupported here: "+format, args...)
	}
	t.Fatalf("unsupported here (set SCHEDFUZZ_SKIP_UNSUPPORTED=1 to skip): "+format, args...)
}

type result struct {
	exit   int
	stderr string
	stops  uint64
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%q timed out; stderr:\n%s", args, stderr.String())
	}
	r := result{stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.exit = ee.ExitCode()
	default:
		t.Fatalf("%q: %v; stderr:\n%s", args, err, r.stderr)
	}
	if strings.Contains(r.stderr, "ctracer: unsupported:") {
		unsupported(t, "ptrace/seccomp: %s", strings.TrimSpace(r.stderr))
	}
	stops, _, ok := ParseTracer(r.stderr)
	if !ok {
		t.Fatalf("%q (exit %d): no ctracer summary line in stderr:\n%s", args, r.exit, r.stderr)
	}
	r.stops = stops
	return r
}

func (r result) want(t *testing.T, exit int, stops uint64) {
	t.Helper()
	if r.exit != exit || r.stops != stops {
		t.Errorf("exit=%d stops=%d, want exit=%d stops=%d; stderr:\n%s", r.exit, r.stops, exit, stops, r.stderr)
	}
}

// firstCPU returns a CPU this process may run on.
func firstCPU() string {
	b, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
				v = strings.TrimSpace(v)
				if i := strings.IndexAny(v, ",-"); i >= 0 {
					v = v[:i]
				}
				if _, err := strconv.Atoi(v); err == nil {
					return v
				}
			}
		}
	}
	return "0"
}

// Every seccomp stop ctracer counts is a traced syscall of the tree: the
// guest's N calls and nothing else (neither ctracer's child before exec nor
// the dynamic loader calls getppid), so the counts below are exact.
func TestCTracer(t *testing.T) {
	if _, err := exec.LookPath(Compiler()); err != nil {
		unsupported(t, "no C compiler: %v", err)
	}
	tr, g, err := BuildTools(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("stops", func(t *testing.T) {
		r := run(t, tr, "--", g, "1000")
		r.want(t, 0, 1000)
		if calls, _, ok := ParseGuest(r.stderr); !ok || calls != 1000 {
			t.Errorf("guest line: calls=%d ok=%v; stderr:\n%s", calls, ok, r.stderr)
		}
	})
	t.Run("syscall info", func(t *testing.T) {
		r := run(t, tr, "-x", "--", g, "1000")
		r.want(t, 0, 1000)
		if strings.Contains(r.stderr, "unsubscribed") {
			t.Errorf("PTRACE_GET_SYSCALL_INFO saw a wrong nr:\n%s", r.stderr)
		}
	})
	t.Run("pinned", func(t *testing.T) {
		run(t, tr, "-p", firstCPU(), "-x", "--", g, "1000").want(t, 0, 1000)
	})
	t.Run("unsubscribed", func(t *testing.T) {
		run(t, tr, "--", g, "1000", "unsub").want(t, 0, 0)
	})
	t.Run("nr list", func(t *testing.T) {
		run(t, tr, "-x", "-n", "39", "--", g, "300", "unsub").want(t, 0, 300)
		run(t, tr, "-x", "-n", "39,110", "--", g, "300", "unsub").want(t, 0, 300)
		run(t, tr, "-x", "-n", "39,110", "--", g, "300").want(t, 0, 300)
		run(t, tr, "-n", "39", "--", g, "300").want(t, 0, 0)
	})
	t.Run("trapped rdtsc", func(t *testing.T) {
		// A static program (no ld.so, which reads the TSC itself) that
		// calls getppid, then executes rdtsc: under -t it dies of
		// SIGSEGV (128+11) after its one stop, without -t it exits 0.
		dir := t.TempDir()
		src := dir + "/rdtsc.c"
		os.WriteFile(src, []byte("#include <unistd.h>\nint main(void) { getppid(); return (int)(__builtin_ia32_rdtsc() & 0); }\n"), 0o644)
		bin := dir + "/rdtsc"
		if out, err := exec.Command(Compiler(), "-O1", "-static", "-o", bin, src).CombinedOutput(); err != nil {
			t.Fatalf("compile: %v\n%s", err, out)
		}
		run(t, tr, "-t", "--", bin).want(t, 128+11, 1)
		run(t, tr, "--", bin).want(t, 0, 1)
	})
	t.Run("guest exit status", func(t *testing.T) {
		run(t, tr, "--", g).want(t, 2, 0) // usage error
	})
	t.Run("fork and exec tree", func(t *testing.T) {
		// The shell itself may call getppid at startup (dash does once), so
		// compare with the same script doing zero calls.
		script := `"$0" "$1"; "$0" "$2" & wait; exit 3`
		base := run(t, tr, "-x", "--", "/bin/sh", "-c", script, g, "0", "0")
		base.want(t, 3, base.stops)
		run(t, tr, "-x", "--", "/bin/sh", "-c", script, g, "10", "5").want(t, 3, base.stops+15)
	})
	t.Run("signal delivery", func(t *testing.T) {
		r := run(t, tr, "--", "/bin/sh", "-c", `trap "exit 4" USR1; kill -USR1 $$; sleep 5; exit 1`)
		if r.exit != 4 {
			t.Errorf("exit=%d, want 4 (SIGUSR1 not delivered?); stderr:\n%s", r.exit, r.stderr)
		}
		r = run(t, tr, "--", "/bin/sh", "-c", `kill -KILL $$`)
		if r.exit != 128+9 {
			t.Errorf("exit=%d, want %d; stderr:\n%s", r.exit, 128+9, r.stderr)
		}
	})
	t.Run("stop and continue", func(t *testing.T) {
		// A group-stop must be honoured (PTRACE_LISTEN) and ended by SIGCONT.
		// The marker only exists once SIGCONT is due: exit 6 means the shell
		// ran on while it should have been stopped.
		marker := t.TempDir() + "/continued"
		r := run(t, tr, "--", "/bin/sh", "-c",
			`(sleep 0.3; : > "$0"; kill -CONT $$) & kill -STOP $$; test -e "$0" || exit 6; wait; exit 5`, marker)
		if r.exit != 5 {
			t.Errorf("exit=%d, want 5; stderr:\n%s", r.exit, r.stderr)
		}
	})
	t.Run("exec failure", func(t *testing.T) {
		run(t, tr, "--", "/nonexistent/prog").want(t, 127, 0)
	})
}
