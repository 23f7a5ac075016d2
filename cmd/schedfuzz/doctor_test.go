package main

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept/seccomp"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// denyPtraceEnv makes the test binary, run as a helper, install a seccomp
// filter that fails ptrace(2) and perf_event_open(2) with EPERM and exec
// the schedfuzz binary with the given arguments: a machine where both are
// forbidden (as in a container's default seccomp profile).
const denyPtraceEnv = "SCHEDFUZZ_TEST_DENY_PTRACE"

func init() {
	if os.Getenv(denyPtraceEnv) != "" {
		denyPtraceAndExec(os.Args[1:])
	}
}

// denyPtraceAndExec is the helper's body.
func denyPtraceAndExec(args []string) {
	runtime.LockOSThread()
	f := seccomp.Filter{
		Syscalls: map[uint32]seccomp.Action{unix.SYS_PTRACE: seccomp.Errno(unix.EPERM),
			unix.SYS_PERF_EVENT_OPEN: seccomp.Errno(unix.EPERM)},
		Default:     seccomp.Allow,
		ForeignArch: seccomp.Allow,
		X32:         seccomp.Allow,
	}
	prog, err := f.Build()
	if err == nil {
		err = seccomp.Install(prog)
	}
	if err == nil {
		err = syscall.Exec(args[0], args, os.Environ())
	}
	os.Stderr.WriteString("deny-ptrace helper: " + err.Error() + "\n")
	os.Exit(3)
}

func TestDoctor(t *testing.T) {
	testenv.RequirePtrace(t)
	code, stdout, stderr := sf(t, t.TempDir(), "doctor")
	if code != 0 {
		t.Fatalf("doctor: exit %d on a machine the tests run on, want 0\n%s%s", code, stdout, stderr)
	}
	for _, check := range []string{"platform", "proc", "ptrace", "seccomp", "intercept", "namespaces", "cpus", "cpu-ticks"} {
		if !strings.Contains(stdout, check) {
			t.Errorf("doctor output lacks the %s check:\n%s", check, stdout)
		}
	}
	if strings.Contains(stdout, "FAIL") {
		t.Errorf("doctor reports a failure but exits 0:\n%s", stdout)
	}
}

func TestDoctorPtraceDenied(t *testing.T) {
	testenv.RequirePtrace(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, sfBinary, "doctor")
	cmd.Env = append(os.Environ(), denyPtraceEnv+"=1")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	code, stdout, stderr := cmd.ProcessState.ExitCode(), o.String(), e.String()
	if code < 0 {
		t.Fatal(err)
	}
	if code != 1 {
		t.Fatalf("doctor without ptrace: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	var ptraceLine, ticksLine string
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == "ptrace" {
			ptraceLine = line
		} else if len(f) > 1 && f[1] == "cpu-ticks" {
			ticksLine = line
		}
	}
	if !strings.HasPrefix(ticksLine, "warn") || !strings.Contains(ticksLine, "operation not permitted") {
		t.Errorf("doctor's cpu-ticks line = %q, want a warning naming EPERM\n%s", ticksLine, stdout)
	}
	if !strings.HasPrefix(ptraceLine, "FAIL") || !strings.Contains(ptraceLine, "operation not permitted") {
		t.Errorf("doctor's ptrace line = %q, want a FAIL naming EPERM\n%s", ptraceLine, stdout)
	}
	if !strings.Contains(stdout, "fix: ") || !strings.Contains(stdout, "cannot run here") {
		t.Errorf("doctor says neither what to fix nor that it cannot run:\n%s", stdout)
	}
}
