// Command faultinject fails chosen system calls of a program with a chosen
// errno at a seeded rate: Reverie's chaos example, on package intercept.
//
//	faultinject [-seed S] [-rate R] [-errno NAME] -calls read,write,... [--] PROG [ARGS...]
//
// Only the chosen calls are in the seccomp filter (Tool.Subscription): the
// program's other calls never stop and run at native cost. A failed call
// is emulated at its entry stop (intercept.Emulate): the kernel never runs
// it. Each thread draws from its own stream, seeded by (S, the thread's
// creation index), so a single-threaded program fails the same calls for
// the same seed; threads running at the same time make the same draws in
// an order the OS decides (schedfuzz's scheduler is what removes that).
// Every injected failure is logged to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

type injector struct {
	intercept.NopTool
	seed    uint64
	rate    float64
	errno   unix.Errno
	calls   []int // syscall numbers to fail
	threads int   // threads seen, for per-thread streams
	failed  int
}

func (in *injector) Subscription() intercept.Subscription { return intercept.SubscribeTo(in.calls...) }

func (in *injector) ThreadStart(t *intercept.Thread, parent *intercept.Thread) {
	t.State = rand.New(rand.NewPCG(in.seed, uint64(in.threads)))
	in.threads++
}

func (in *injector) SyscallEnter(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
	if c.Arch != syscalls.X86_64 || t.State.(*rand.Rand).Float64() >= in.rate {
		return intercept.Continue()
	}
	in.failed++
	fmt.Fprintf(os.Stderr, "faultinject: [%d] %s = -%s (injected)\n", t.Tid, syscalls.Name(c.Nr), unix.ErrnoName(in.errno))
	return intercept.Emulate(intercept.Errno(in.errno))
}

// parseErrno accepts a name ("EIO") or a number.
func parseErrno(s string) (unix.Errno, error) {
	if e, ok := syscalls.ErrnoValue(strings.ToUpper(s)); ok {
		return unix.Errno(e), nil
	}
	var n int
	if _, err := fmt.Sscan(s, &n); err == nil && n > 0 && n < 4096 {
		return unix.Errno(n), nil
	}
	return 0, fmt.Errorf("unknown errno %q", s)
}

// parseCalls turns "read,write" into syscall numbers.
func parseCalls(s string) ([]int, error) {
	var nrs []int
	for _, name := range strings.Split(s, ",") {
		nr, ok := syscalls.Number(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("unknown system call %q", name)
		}
		nrs = append(nrs, nr)
	}
	return nrs, nil
}

func main() {
	seed := flag.Uint64("seed", 1, "seed of the fault stream")
	rate := flag.Float64("rate", 0.1, "probability that a chosen call fails (0..1)")
	errname := flag.String("errno", "EIO", "the error the failed calls return")
	callList := flag.String("calls", "", "comma-separated system calls to fail (required)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: faultinject [-seed S] [-rate R] [-errno NAME] -calls read,... [--] PROG [ARGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	errno, err := parseErrno(*errname)
	calls, cerr := parseCalls(*callList)
	switch {
	case flag.NArg() == 0 || *callList == "":
		flag.Usage()
		os.Exit(2)
	case err != nil || cerr != nil || *rate < 0 || *rate > 1:
		fmt.Fprintln(os.Stderr, "faultinject:", err, cerr, "(-rate must be in 0..1)")
		os.Exit(2)
	}
	path, err := exec.LookPath(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultinject:", err)
		os.Exit(127)
	}
	in := &injector{seed: *seed, rate: *rate, errno: errno, calls: calls}
	res, err := intercept.Run(context.Background(), &intercept.Command{
		Path: path, Args: flag.Args(), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	}, in, intercept.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultinject:", err)
		os.Exit(125)
	}
	fmt.Fprintf(os.Stderr, "faultinject: %d calls failed with %s\n", in.failed, unix.ErrnoName(errno))
	os.Exit(res.ExitCode())
}
