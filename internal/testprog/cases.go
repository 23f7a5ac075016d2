package testprog

import (
	"fmt"
	"strings"
	"syscall"
)

// A Case is one run of a guest program with its expected outcome, as
// documented at the top of the guest's source. The tracer's tests can run
// every Case under the tracer and Check the result the same way this
// package's tests check native runs.
type Case struct {
	ID    string   // unique, usable as a subtest name
	Name  string   // guest program, for Build
	Opts  []Option // build options
	Args  []string // arguments after argv[0]
	Stdin string   // fed on stdin (empty: empty stdin)
	// Shell, if set, makes the case a shell command: it is run as
	// /bin/sh -c Shell with every "$PROG" replaced by the quoted path of
	// the built program, and Args are ignored.
	Shell string

	Stdout string         // exact expected stdout
	Exit   int            // expected exit status (when Signal == 0)
	Signal syscall.Signal // expected terminating signal, or 0
}

// Cases returns the standard runs of the guest programs. Each call
// returns a fresh slice.
func Cases() []Case {
	return []Case{
		{ID: "threads_pipe", Name: "threads_pipe",
			Stdout: "got ping 1\ngot ping 2\ngot ping 3\ngot ping 4\ngot ping 5\ndone\n"},
		{ID: "fork_exec", Name: "fork_exec",
			Stdout: "child-exec\nchild exited 0\n"},
		{ID: "spawn", Name: "spawn",
			Stdout: "spawned\nspawned exited 0\n"},
		{ID: "thread_exec", Name: "thread_exec",
			Stdout: "from-thread\n"},
		{ID: "sigterm", Name: "sigterm",
			Stdout: "caught SIGTERM\n", Exit: 3},
		{ID: "segv", Name: "segv",
			Stdout: "about to crash\n", Signal: syscall.SIGSEGV},
		{ID: "stopcont", Name: "stopcont",
			Stdout: "stopping\nresumed\nhelper exited 0\n"},
		{ID: "static_hello", Name: "static_hello", Opts: []Option{Static()},
			Stdout: "static hello\nthread ran\n"},
		{ID: "exit_code_default", Name: "exit_code",
			Stdout: "argc=1\n"},
		{ID: "exit_code_7", Name: "exit_code", Args: []string{"7", "a b", "c"},
			Stdout: "argc=4\narg1=7\narg2=a b\narg3=c\n", Exit: 7},
		{ID: "syscall_loop", Name: "syscall_loop",
			Stdout: "syscall_loop: 1000 syscalls nr=110\n"},
		{ID: "syscall_loop_getpid", Name: "syscall_loop", Args: []string{"50", "39"},
			Stdout: "syscall_loop: 50 syscalls nr=39\n"},
		{ID: "main_returns", Name: "main_returns",
			Stdout: "thread 1 alive\nthread 2 alive\nmain returning\n"},
		{ID: "goroutines", Name: "go/goroutines",
			Stdout: fmt.Sprintf("checksum %016x\ngo done\n", goroutinesChecksum())},
		{ID: "upper", Name: "upper", Stdin: "Hello, World 42\n",
			Stdout: "HELLO, WORLD 42\n"},
		{ID: "pipeline", Name: "upper", Shell: "echo hi | $PROG",
			Stdout: "HI\n"},
		{ID: "int80", Name: "int80",
			Stdout: "int80 getpid ok\nafter int80\n"},
		{ID: "points_threads", Name: "points", Args: []string{"threads"},
			Stdout: "worker done\nworker done\nthreads: sum=209300\n"},
		{ID: "points_libc", Name: "points", Args: []string{"libc"},
			Stdout: "libc line\nlibc line\nlibc line\n"},
		{ID: "points_fork", Name: "points", Args: []string{"fork"},
			Stdout: "fork: child exited 0\nvfork: child exited 0\n"},
		{ID: "points_exec", Name: "points", Args: []string{"exec"},
			Stdout: "exec: done\n"},
		{ID: "points_traps", Name: "points", Args: []string{"traps"},
			Stdout: "traps: handled=2 codes=-6,128\n"},
		{ID: "points_watch", Name: "points", Args: []string{"watch"},
			Stdout: "watch: counter=100\n"},
		{ID: "points_store", Name: "points", Args: []string{"store"},
			Stdout: "store: counter=5 wide=2\n"},
		{ID: "points_syscall", Name: "points", Args: []string{"syscall"},
			Stdout: "syscall: ok\n"},
		{ID: "points_sysblock", Name: "points", Args: []string{"sysblock"},
			Stdout: "sysblock: read 4\n"},
		{ID: "points_signal_step", Name: "points", Args: []string{"signal", "step"},
			Stdout: "signal: handled=1 r=4\n"},
		{ID: "points_signal_push", Name: "points", Args: []string{"signal", "push"},
			Stdout: "signal: handled=1 r=4\n"},
		{ID: "points_alu", Name: "points", Args: []string{"alu"},
			Stdout: "alu: ok 4785\n"},
		{ID: "points_offsetof", Name: "points", Args: []string{"offsetof"},
			Stdout: "u_debugreg=848\n"},
	}
}

// Argv returns the command line that runs c with the guest built at path.
func (c Case) Argv(path string) []string {
	if c.Shell != "" {
		return []string{"/bin/sh", "-c", strings.ReplaceAll(c.Shell, "$PROG", shellQuote(path))}
	}
	return append([]string{path}, c.Args...)
}

// Check compares a run's stdout and wait status with the expectation.
func (c Case) Check(stdout string, ws syscall.WaitStatus) error {
	var problems []string
	switch {
	case c.Signal != 0:
		if !ws.Signaled() || ws.Signal() != c.Signal {
			problems = append(problems, fmt.Sprintf("status %s, want killed by %v", describeStatus(ws), c.Signal))
		}
	default:
		if !ws.Exited() || ws.ExitStatus() != c.Exit {
			problems = append(problems, fmt.Sprintf("status %s, want exit %d", describeStatus(ws), c.Exit))
		}
	}
	if stdout != c.Stdout {
		problems = append(problems, fmt.Sprintf("stdout %q, want %q", stdout, c.Stdout))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", c.ID, strings.Join(problems, "; "))
	}
	return nil
}

func describeStatus(ws syscall.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit %d", ws.ExitStatus())
	case ws.Signaled():
		s := fmt.Sprintf("killed by %v", ws.Signal())
		if ws.CoreDump() {
			s += " (core dumped)"
		}
		return s
	case ws.Stopped():
		return fmt.Sprintf("stopped by %v", ws.StopSignal())
	}
	return fmt.Sprintf("wait status %#x", uint32(ws))
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// goroutinesChecksum mirrors the computation in src/go/goroutines.
func goroutinesChecksum() uint64 {
	const stages, items = 8, 1000
	var sum uint64 = 14695981039346656037
	for v := uint64(1); v <= items; v++ {
		x := v
		for i := 0; i < stages; i++ {
			x = x*31 + uint64(i)
		}
		sum = (sum ^ x) * 1099511628211
	}
	return sum
}
