// Package doctor checks what schedfuzz needs from the machine it runs on,
// and says what to fix when something is missing.
//
// Each check probes the real thing, not a proxy for it: ptrace is tested
// by tracing a child, the seccomp path by running a child under a real
// intercept.Run, namespaces by creating them in a child. A check that
// fails is Fail when schedfuzz cannot work without it (ptrace, seccomp,
// pidfd_getfd, /proc) and Warn when schedfuzz works with less (no
// namespaces: runs are not hermetic; one CPU: no parallel runs).
//
// Checks run in a fixed order and each one in a child process or on a
// locked OS thread of its own, so a failing probe leaves nothing behind.
package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// Status is a check's verdict.
type Status uint8

const (
	OK Status = iota
	Warn
	Fail
)

func (s Status) String() string { return [...]string{"ok", "warn", "FAIL"}[s] }

// Result is what one check found.
type Result struct {
	Name   string
	Status Status
	// Detail says what was found; Fix, for Warn and Fail, what to do.
	Detail string
	Fix    string
}

// Check is one probe of the machine.
type Check struct {
	Name string
	Run  func() Result
}

// Checks returns the checks in the order they run.
func Checks() []Check {
	return []Check{
		{"platform", checkPlatform},
		{"proc", checkProc},
		{"ptrace", checkPtrace},
		{"seccomp", checkSeccomp},
		{"intercept", checkIntercept},
		{"namespaces", checkNamespaces},
		{"cpus", checkCPUs},
		{"cpu-ticks", checkCPUTicks},
	}
}

// Run runs every check and returns their results in order.
func Run() []Result {
	var out []Result
	for _, c := range Checks() {
		r := c.Run()
		r.Name = c.Name
		out = append(out, r)
	}
	return out
}

// Worst returns the most severe status among results.
func Worst(results []Result) Status {
	w := OK
	for _, r := range results {
		w = max(w, r.Status)
	}
	return w
}

func ok(format string, a ...any) Result { return Result{Status: OK, Detail: fmt.Sprintf(format, a...)} }

func bad(st Status, fix, format string, a ...any) Result {
	return Result{Status: st, Detail: fmt.Sprintf(format, a...), Fix: fix}
}

func checkPlatform() Result {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return bad(Fail, "run schedfuzz on Linux x86-64", "%s/%s is not supported", runtime.GOOS, runtime.GOARCH)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return bad(Fail, "", "uname: %v", err)
	}
	rel := unix.ByteSliceToString(u.Release[:])
	maj, min := kernelVersion(rel)
	if maj < 5 || maj == 5 && min < 6 {
		return bad(Fail, "use Linux 5.6 or later (PTRACE_GET_SYSCALL_INFO, pidfd_getfd)", "Linux %s is too old", rel)
	}
	return ok("linux/amd64, kernel %s", rel)
}

// kernelVersion parses "6.18.0-1-amd64" into 6, 18.
func kernelVersion(rel string) (major, minor int) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0
	}
	digits := func(s string) int {
		i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
		if i >= 0 {
			s = s[:i]
		}
		v, _ := strconv.Atoi(s)
		return v
	}
	return digits(parts[0]), digits(parts[1])
}

func checkProc() Result {
	for _, p := range []string{"/proc/self/maps", "/proc/self/status", "/proc/self/mem"} {
		if _, err := os.Stat(p); err != nil {
			return bad(Fail, "mount procfs on /proc (mount -t proc proc /proc)", "%s: %v", p, err)
		}
	}
	return ok("/proc is mounted")
}

// yamaScope reads the Yama LSM's ptrace_scope (-1: Yama is absent).
func yamaScope() int {
	b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
	if err != nil {
		return -1
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return v
}

func checkPtrace() Result {
	scope := yamaScope()
	err := onLockedThread(probeTraceme)
	yama := "no Yama LSM"
	if scope >= 0 {
		yama = fmt.Sprintf("Yama ptrace_scope=%d", scope)
	}
	if err != nil {
		fix := "allow ptrace for this user: in a container, run it with --cap-add=SYS_PTRACE and a seccomp profile that allows ptrace"
		if scope >= 2 {
			fix = "sysctl kernel.yama.ptrace_scope=1 (2 needs CAP_SYS_PTRACE, 3 forbids ptrace until reboot)"
		}
		return bad(Fail, fix, "cannot trace a child (%s): %v", yama, err)
	}
	return ok("children can be traced (%s)", yama)
}

// probeTraceme starts /bin/true under PTRACE_TRACEME and checks that it
// stops at its exec.
func probeTraceme() error {
	pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{
		Sys: &syscall.SysProcAttr{Ptrace: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return err
	}
	var ws unix.WaitStatus
	defer func() {
		unix.Kill(pid, unix.SIGKILL)
		unix.Wait4(pid, &ws, unix.WALL, nil)
	}()
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		return fmt.Errorf("wait4: %w", err)
	}
	if !ws.Stopped() {
		return fmt.Errorf("the child did not stop at its exec (status %#x)", uint32(ws))
	}
	return nil
}

// onLockedThread runs f on a locked OS thread: ptrace requests must come
// from the thread that became the tracer.
func onLockedThread(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done <- f()
	}()
	return <-done
}

func checkSeccomp() Result {
	// seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action): 0 when the kernel
	// supports the action, EOPNOTSUPP when not, ENOSYS/EINVAL without
	// seccomp.
	for _, a := range []struct {
		name string
		act  uint32
	}{{"SECCOMP_RET_TRACE", 0x7ff00000}, {"SECCOMP_RET_ALLOW", 0x7fff0000}} {
		act := a.act
		_, _, e := unix.Syscall(unix.SYS_SECCOMP, 2 /* SECCOMP_GET_ACTION_AVAIL */, 0, uintptr(unsafe.Pointer(&act)))
		if e != 0 {
			return bad(Fail, "use a kernel built with CONFIG_SECCOMP_FILTER", "seccomp action %s unavailable: %v", a.name, e)
		}
	}
	mode := statusField("Seccomp")
	if mode != "" && mode != "0" {
		return ok("seccomp filters work (schedfuzz itself runs under seccomp mode %s: its filters must allow ptrace)", mode)
	}
	return ok("seccomp filters with SECCOMP_RET_TRACE work")
}

// statusField returns a field of /proc/self/status ("" if absent).
func statusField(name string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// probeTool checks, inside a real run, the kernel features the scheduler
// uses at every stop: PTRACE_GET_SYSCALL_INFO (through intercept),
// process_vm_readv of the guest's memory and pidfd_getfd of its fds.
type probeTool struct {
	intercept.NopTool
	calls    int
	memErr   error
	pidfdErr error
}

func (p *probeTool) Subscription() intercept.Subscription {
	return intercept.SubscribeTo(unix.SYS_WRITE)
}

func (p *probeTool) SyscallEnter(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
	p.calls++
	buf := make([]byte, c.Args[2])
	if _, err := t.Memory().ReadAt(buf, int64(c.Args[1])); err != nil {
		p.memErr = err
	}
	pidfd, err := unix.PidfdOpen(t.Proc.Pid, 0)
	if err != nil {
		p.pidfdErr = fmt.Errorf("pidfd_open: %w", err)
		return intercept.Continue()
	}
	defer unix.Close(pidfd)
	fd, err := unix.PidfdGetfd(pidfd, int(c.Args[0]), 0)
	if err != nil {
		p.pidfdErr = fmt.Errorf("pidfd_getfd: %w", err)
		return intercept.Continue()
	}
	unix.Close(fd)
	return intercept.Continue()
}

func checkIntercept() Result {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return bad(Fail, "install a POSIX shell as sh", "no sh to run a probe with: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return bad(Fail, "", "pipe: %v", err)
	}
	defer r.Close()
	tool := &probeTool{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := intercept.Run(ctx, &intercept.Command{Path: sh, Args: []string{"sh", "-c", "echo probe"}, Stdout: w},
		tool, intercept.Options{DisableVDSO: true})
	w.Close()
	var out bytes.Buffer
	out.ReadFrom(r)
	switch {
	case err != nil:
		return bad(Fail, "see the error; `schedfuzz trace true` shows the same failure", "a traced run failed: %v", err)
	case tool.calls == 0 || out.String() != "probe\n" || !res.Status.Exited() || res.Status.ExitStatus() != 0:
		return bad(Fail, "", "a traced `sh -c 'echo probe'` misbehaved: %d write stops, output %q, status %#x",
			tool.calls, out.String(), uint32(res.Status))
	case tool.memErr != nil:
		return bad(Fail, "allow process_vm_readv (it needs the same rights as ptrace)", "reading guest memory: %v", tool.memErr)
	case tool.pidfdErr != nil:
		return bad(Fail, "use Linux 5.6 or later and allow pidfd_getfd (it needs the same rights as ptrace)", "%v", tool.pidfdErr)
	}
	var tsc int32
	if _, _, e := unix.Syscall(unix.SYS_PRCTL, unix.PR_GET_TSC, uintptr(unsafe.Pointer(&tsc)), 0); e != 0 {
		return bad(Fail, "use an x86-64 kernel with PR_SET_TSC (rdtsc must trap to keep guest time virtual)", "prctl(PR_GET_TSC): %v", e)
	}
	return ok("a traced run works: seccomp stops, guest memory, pidfd_getfd; rdtsc can be trapped")
}

// nsFlags are the namespaces a hermetic run uses.
const nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET

func checkNamespaces() Result {
	attr := &syscall.SysProcAttr{Cloneflags: nsFlags, Pdeathsig: syscall.SIGKILL}
	how := "as root"
	if os.Geteuid() != 0 {
		how = "through a user namespace"
		attr.Cloneflags |= unix.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = attr
	if err := cmd.Run(); err != nil {
		fix := "runs still work but are not hermetic (shared /tmp, pids, network);"
		switch {
		case readInt("/proc/sys/user/max_user_namespaces") == 0:
			fix += " sysctl user.max_user_namespaces=15000"
		case readInt("/proc/sys/kernel/unprivileged_userns_clone") == 0:
			fix += " sysctl kernel.unprivileged_userns_clone=1"
		case readInt("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1:
			fix += " sysctl kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile for schedfuzz"
		default:
			fix += " allow unshare(2) of mount, pid, uts, ipc and net namespaces (in a container: --privileged or a seccomp profile that allows it)"
		}
		return bad(Warn, fix, "cannot create namespaces %s: %v", how, errors.Unwrap(err))
	}
	return ok("mount, pid, uts, ipc and network namespaces can be created %s", how)
}

// readInt reads a number from a /proc/sys file (-1 if unreadable).
func readInt(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return v
}

func checkCPUs() Result {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return bad(Warn, "", "sched_getaffinity: %v", err)
	}
	n := set.Count()
	if n < 2 {
		return bad(Warn, "give schedfuzz more CPUs for parallel runs (-p)", "%d CPU usable: runs go one at a time", n)
	}
	return ok("%d CPUs usable: -p %d runs at once", n, n)
}

// checkCPUTicks opens the perf software event the scheduler's watchdog
// uses to catch a thread that spins without a scheduling point after a
// quantum of its own CPU time (intercept.Options.CPUTick): a software
// task clock, user mode only, which needs no hardware counters.
func checkCPUTicks() Result {
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_TASK_CLOCK,
		Sample: uint64(5 * time.Millisecond), Bits: unix.PerfBitExcludeKernel | unix.PerfBitExcludeHv | unix.PerfBitDisabled}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, 0, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		paranoid, _ := os.ReadFile("/proc/sys/kernel/perf_event_paranoid")
		return bad(Warn, "allow unprivileged user-mode perf events: sysctl kernel.perf_event_paranoid=2 (or run with CAP_PERFMON)",
			"perf software events unavailable (%v; perf_event_paranoid %s): a spinning thread is caught by a timer instead, whose catches depend on the machine's load",
			err, strings.TrimSpace(string(paranoid)))
	}
	unix.Close(fd)
	return ok("perf software task clock available: spin loops are caught after a quantum of their own CPU time, whatever the load")
}
