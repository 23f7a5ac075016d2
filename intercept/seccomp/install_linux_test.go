package seccomp

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/schedfuzz/schedfuzz/intercept/bpf"
	"github.com/schedfuzz/schedfuzz/intercept/seccomp/internal/int80"
	"golang.org/x/sys/unix"
)

// The real-installation tests re-execute the test binary (the standard
// helper-process pattern): the child locks its goroutine to its thread,
// installs a filter there, makes raw system calls and prints one line per
// check ("PASS name" or "FAIL name: detail"). A child that cannot install
// a filter at all prints "UNSUPPORTED: reason" and exits 3.

const (
	helperEnv          = "SCHEDFUZZ_SECCOMP_HELPER"
	skipUnsupportedEnv = "SCHEDFUZZ_SKIP_UNSUPPORTED"
	exitUnsupported    = 3
)

// i386 syscall numbers used through int $0x80.
const (
	i386Getpid  = 20
	i386Getppid = 64
)

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for the Install tests; runs only when re-executed by them")
	}
	os.Exit(helperMain(mode))
}

// helper collects the results of the checks of a child.
type helper struct{ failed bool }

func (h *helper) check(name string, ok bool, format string, args ...any) {
	if ok {
		fmt.Printf("PASS %s\n", name)
		return
	}
	h.failed = true
	fmt.Printf("FAIL %s: %s\n", name, fmt.Sprintf(format, args...))
}

// install builds f and installs it on the calling thread; it returns the
// exit code for the child if that failed.
func (h *helper) install(f Filter) (prog []bpf.Instruction, exit int) {
	prog, err := f.Build()
	if err != nil {
		h.check("build", false, "%v", err)
		return nil, 1
	}
	return prog, h.installProg(prog)
}

func (h *helper) installProg(prog []bpf.Instruction) int {
	if err := Install(prog); err != nil {
		if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			fmt.Printf("UNSUPPORTED: %v\n", err)
			return exitUnsupported
		}
		h.check("install", false, "%v", err)
		return 1
	}
	fmt.Println("installed")
	return 0
}

func (h *helper) exit() int {
	if h.failed {
		return 1
	}
	return 0
}

// threadStatus returns the value of a field of /proc/thread-self/status.
func threadStatus(field string) string {
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return "error: " + err.Error()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "missing"
}

// plusOne returns the decimal number s plus one, or s if it is not a
// number (e.g. "missing" on kernels before 5.9).
func plusOne(s string) string {
	n, err := strconv.Atoi(s)
	if err != nil {
		return s
	}
	return strconv.Itoa(n + 1)
}

func raw(nr uintptr) (uintptr, unix.Errno) {
	r, _, e := unix.RawSyscall(nr, 0, 0, 0)
	return r, e
}

func helperMain(mode string) int {
	// Never unlocked: the filtered thread must not run other goroutines,
	// and it exits with the process.
	runtime.LockOSThread()
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}) // no core file from KillProcess
	h := &helper{}
	pid, ppid := os.Getpid(), os.Getppid()

	switch mode {
	case "basic":
		// The process may already be filtered (a container runtime's
		// profile): count filters rather than expect none.
		filtersBefore := threadStatus("Seccomp_filters")
		_, code := h.install(Filter{
			Syscalls: map[uint32]Action{
				unix.SYS_GETPPID: Errno(unix.EPERM),
				unix.SYS_GETUID:  Trace(7),
			},
			Default:     Allow,
			ForeignArch: Errno(unix.EACCES),
			X32:         Errno(unix.EXDEV),
		})
		if code != 0 {
			return code
		}
		r, e := raw(unix.SYS_GETPPID)
		h.check("filtered-errno", e == unix.EPERM, "getppid = %d, %v; want EPERM", r, e)
		r, e = raw(unix.SYS_GETPID)
		h.check("unsubscribed-runs", e == 0 && int(r) == pid, "getpid = %d, %v; want %d", r, e, pid)
		r, e = raw(unix.SYS_GETUID)
		h.check("trace-without-tracer-enosys", e == unix.ENOSYS, "getuid = %d, %v; want ENOSYS", r, e)
		r, e = raw(unix.SYS_GETPID | X32SyscallBit)
		h.check("x32", e == unix.EXDEV, "getpid|x32 bit = %d, %v; want EXDEV", r, e)
		r, e = raw(^uintptr(0))
		h.check("nr-minus-1-is-x32", e == unix.EXDEV, "syscall(-1) = %d, %v; want EXDEV (nr -1 has the x32 bit)", r, e)
		h.check("status-seccomp", threadStatus("Seccomp") == "2", "Seccomp: %q, want 2", threadStatus("Seccomp"))
		h.check("status-no-new-privs", threadStatus("NoNewPrivs") == "1", "NoNewPrivs: %q, want 1", threadStatus("NoNewPrivs"))
		filtersAfter := threadStatus("Seccomp_filters")
		h.check("status-one-more-filter", filtersAfter == plusOne(filtersBefore), "Seccomp_filters: %s before, %s after", filtersBefore, filtersAfter)
		// Another thread of the process is not filtered (no TSYNC).
		type res struct {
			r       uintptr
			e       unix.Errno
			filters string
		}
		ch := make(chan res)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r, e := raw(unix.SYS_GETPPID)
			ch <- res{r, e, threadStatus("Seccomp_filters")}
		}()
		o := <-ch
		h.check("other-thread-unfiltered", o.e == 0 && int(o.r) == ppid && o.filters == filtersBefore,
			"getppid on another thread = %d, %v (Seccomp_filters: %s); want %d, no error, Seccomp_filters %s", o.r, o.e, o.filters, ppid, filtersBefore)
		return h.exit()

	case "int80":
		r := int80.Syscall(i386Getpid, 0, 0, 0) // SIGSEGV here: no IA32 emulation
		h.check("int80-available", int(r) == pid, "int $0x80 getpid = %d, want %d", r, pid)
		_, code := h.install(Filter{Default: Allow, ForeignArch: Errno(unix.EACCES), X32: Allow})
		if code != 0 {
			return code
		}
		r = int80.Syscall(i386Getpid, 0, 0, 0)
		h.check("int80-foreign-arch", r == -int32(unix.EACCES), "int $0x80 getpid = %d, want -EACCES", r)
		r = int80.Syscall(i386Getppid, 0, 0, 0)
		h.check("int80-foreign-arch-2", r == -int32(unix.EACCES), "int $0x80 getppid = %d, want -EACCES", r)
		p, e := raw(unix.SYS_GETPID)
		h.check("native-still-allowed", e == 0 && int(p) == pid, "getpid = %d, %v", p, e)
		return h.exit()

	case "kill":
		_, code := h.install(Filter{Syscalls: map[uint32]Action{unix.SYS_GETPPID: KillProcess}, Default: Allow, ForeignArch: Allow, X32: Allow})
		if code != 0 {
			return code
		}
		r, e := raw(unix.SYS_GETPPID)
		h.check("killed", false, "getppid returned %d, %v instead of killing the process", r, e)
		return h.exit()

	case "differential":
		return h.differential()
	}
	fmt.Printf("FAIL mode: unknown helper mode %q\n", mode)
	return 1
}

// runtimeSyscalls are the calls the Go runtime may make on the filtered
// thread while the differential check runs (signals, parking the locked
// M, memory, output, exit). They are allowed; every other number gets an
// errno, so no call is actually executed.
var runtimeSyscalls = []uint32{
	unix.SYS_READ, unix.SYS_WRITE, unix.SYS_CLOSE, unix.SYS_MMAP, unix.SYS_MPROTECT,
	unix.SYS_MUNMAP, unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGRETURN,
	unix.SYS_SCHED_YIELD, unix.SYS_MADVISE, unix.SYS_NANOSLEEP, unix.SYS_GETPID,
	unix.SYS_CLONE, unix.SYS_EXIT, unix.SYS_FCNTL, unix.SYS_SIGALTSTACK, unix.SYS_GETTID,
	unix.SYS_TKILL, unix.SYS_FUTEX, unix.SYS_SCHED_GETAFFINITY, unix.SYS_EPOLL_WAIT,
	unix.SYS_EPOLL_CTL, unix.SYS_CLOCK_GETTIME, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_EXIT_GROUP,
	unix.SYS_TGKILL, unix.SYS_OPENAT, unix.SYS_EPOLL_PWAIT, unix.SYS_PIPE2, unix.SYS_GETRANDOM,
	unix.SYS_CLONE3,
	335, 336, // uretprobe, uprobe: always allowed by the kernel (and SIGILL when called directly)
}

// differential installs a filter that gives (almost) every native number
// its own errno, then makes every such call for real and checks the
// kernel's answer against the bpf interpreter's on the same program. The
// program has ~1000 spans, so it exercises long-jump trampolines in the
// kernel too.
func (h *helper) differential() int {
	f := Filter{Syscalls: map[uint32]Action{}, Default: Errno(4000), ForeignArch: Errno(4001), X32: Errno(4002)}
	for nr := uint32(0); nr < 1024; nr++ {
		f.Syscalls[nr] = Errno(unix.Errno(1000 + nr))
	}
	skip := map[uint32]bool{}
	for _, nr := range runtimeSyscalls {
		f.Syscalls[nr] = Allow
		skip[nr] = true
	}
	var nrs []uint32
	for nr := uint32(0); nr < 1100; nr++ {
		if !skip[nr] {
			nrs = append(nrs, nr)
		}
	}
	nrs = append(nrs, 5000, 0x3fffffff, 0x80000000, 0xbfffffff, X32SyscallBit, X32SyscallBit|1, X32SyscallBit|39, X32SyscallBit|512, 0xffffffff)
	// Compute every expectation before installing, so that nothing but
	// the raw calls runs on the filtered thread during the check.
	prog, err := f.Build()
	if err != nil {
		h.check("build", false, "%v", err)
		return 1
	}
	fmt.Printf("program: %d instructions\n", len(prog))
	want := make([]unix.Errno, len(nrs))
	for i, nr := range nrs {
		a, err := Evaluate(prog, Native(int32(nr)))
		if err != nil || a.Kind() != Errno(0) {
			h.check("interpreter", false, "nr %#x: %v, %v", nr, a, err)
			return 1
		}
		want[i] = unix.Errno(a.Data())
	}
	if code := h.installProg(prog); code != 0 {
		return code
	}
	got := make([]unix.Errno, len(nrs))
	for i, nr := range nrs {
		_, _, got[i] = unix.RawSyscall6(uintptr(int64(int32(nr))), 0, 0, 0, 0, 0, 0)
	}
	bad := 0
	for i, nr := range nrs {
		if got[i] != want[i] {
			bad++
			if bad <= 10 {
				h.check(fmt.Sprintf("nr-%#x", nr), false, "kernel errno %d, interpreter %d", int(got[i]), int(want[i]))
			}
		}
	}
	h.check("differential", bad == 0, "%d of %d numbers differ", bad, len(nrs))
	if bad == 0 {
		fmt.Printf("%d syscall numbers: kernel and interpreter agree\n", len(nrs))
	}
	return h.exit()
}

// runHelper runs the test binary as a helper in mode and returns its
// output and exit state. It fails or skips the test, per
// SCHEDFUZZ_SKIP_UNSUPPORTED, if the child could not install a filter.
func runHelper(t *testing.T, mode string) (string, *os.ProcessState) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running helper %q: %v", mode, err)
	}
	text := string(out)
	if cmd.ProcessState.ExitCode() == exitUnsupported {
		reason := text
		if i := strings.Index(text, "UNSUPPORTED:"); i >= 0 {
			reason = strings.TrimSpace(strings.SplitN(text[i:], "\n", 2)[0])
		}
		if os.Getenv(skipUnsupportedEnv) == "1" {
			t.Skipf("seccomp filters cannot be installed here (%s)", reason)
		}
		t.Fatalf("seccomp filters cannot be installed here (%s): schedfuzz needs seccomp-bpf; set %s=1 to skip this test", reason, skipUnsupportedEnv)
	}
	return text, cmd.ProcessState
}

// checkLines fails the test for every FAIL line and unless every wanted
// check has a PASS line.
func checkLines(t *testing.T, out string, wantPass ...string) {
	t.Helper()
	pass := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "PASS "); ok {
			pass[name] = true
		}
		if strings.HasPrefix(line, "FAIL ") {
			t.Errorf("child: %s", line)
		}
	}
	for _, w := range wantPass {
		if !pass[w] {
			t.Errorf("child did not pass %q; output:\n%s", w, out)
		}
	}
}

func TestInstall(t *testing.T) {
	t.Parallel()
	out, st := runHelper(t, "basic")
	checkLines(t, out, "filtered-errno", "unsubscribed-runs", "trace-without-tracer-enosys", "x32",
		"nr-minus-1-is-x32", "status-seccomp", "status-no-new-privs", "status-one-more-filter",
		"other-thread-unfiltered")
	if st.ExitCode() != 0 {
		t.Errorf("child exit: %v; output:\n%s", st, out)
	}
}

func TestInstallForeignArch(t *testing.T) {
	t.Parallel()
	if !int80.Available {
		t.Skip("int $0x80 is x86-64 only")
	}
	out, st := runHelper(t, "int80")
	if !strings.Contains(out, "PASS int80-available") && strings.Contains(out, "SIGSEGV") {
		t.Skipf("int $0x80 does not work in this kernel (IA32 emulation disabled?): %s", firstLine(out))
	}
	checkLines(t, out, "int80-available", "int80-foreign-arch", "int80-foreign-arch-2", "native-still-allowed")
	if st.ExitCode() != 0 {
		t.Errorf("child exit: %v; output:\n%s", st, out)
	}
}

func TestInstallKillProcess(t *testing.T) {
	t.Parallel()
	out, st := runHelper(t, "kill")
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGSYS || !strings.Contains(out, "installed") {
		t.Fatalf("child: %v, want killed by SIGSYS after installing; output:\n%s", st, out)
	}
	checkLines(t, out)
}

// TestInstallMatchesInterpreter checks, syscall number by syscall number,
// that the kernel takes the action bpf.Exec computes for the same program.
func TestInstallMatchesInterpreter(t *testing.T) {
	t.Parallel()
	out, st := runHelper(t, "differential")
	checkLines(t, out, "differential")
	if st.ExitCode() != 0 {
		t.Errorf("child exit: %v; output:\n%s", st, out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "instructions") || strings.Contains(l, "agree") {
			t.Log(l)
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestInstallRejectsInvalid checks that Install validates before touching
// the thread (so it is safe to call in the test process itself).
func TestInstallRejectsInvalid(t *testing.T) {
	for _, prog := range [][]bpf.Instruction{
		nil,
		{bpf.Stmt(bpf.Ld|bpf.W|bpf.Abs, OffsetNr)}, // no return
		{bpf.Stmt(bpf.Ld|bpf.W|bpf.Abs, 2), bpf.Stmt(bpf.Ret|bpf.RetA, 0)},
	} {
		runtime.LockOSThread()
		before := threadStatus("Seccomp_filters")
		var ve *bpf.ValidationError
		if err := Install(prog); !errors.As(err, &ve) {
			t.Errorf("Install(%v) = %v, want a validation error", prog, err)
		}
		if after := threadStatus("Seccomp_filters"); after != before {
			t.Errorf("Seccomp_filters went from %s to %s", before, after)
		}
		runtime.UnlockOSThread()
	}
}
