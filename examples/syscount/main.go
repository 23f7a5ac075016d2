// Command syscount counts a program's system calls per thread, per process
// and in all: Reverie's three kinds of tool state, on package intercept.
//
//	syscount [-top N] [--] PROG [ARGS...]
//
// Per-thread state hangs off Thread.State, per-process state off
// Process.State, and global state is the tool value itself. Every method
// of an intercept.Tool runs on the tracer's one thread, so none of it
// needs a lock. The table goes to stderr when the program ends; syscount
// exits with the program's status.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// counts counts calls by name.
type counts map[string]int

func (c counts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// top returns the n most frequent names, most frequent first (ties by name).
func (c counts) top(n int) []string {
	names := make([]string, 0, len(c))
	for k := range c {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if c[names[i]] != c[names[j]] {
			return c[names[i]] > c[names[j]]
		}
		return names[i] < names[j]
	})
	return names[:min(n, len(names))]
}

type process struct {
	pid     int
	calls   counts
	threads []*thread
}

type thread struct {
	tid   int
	calls counts
}

// counter is the tool: global state in its fields.
type counter struct {
	intercept.NopTool
	calls counts
	procs []*process // in creation order
}

func (c *counter) Subscription() intercept.Subscription { return intercept.SubscribeAll() }

func (c *counter) ProcessStart(p *intercept.Process, parent *intercept.Process) {
	ps := &process{pid: p.Pid, calls: counts{}}
	p.State = ps
	c.procs = append(c.procs, ps)
}

func (c *counter) ThreadStart(t *intercept.Thread, parent *intercept.Thread) {
	th := &thread{tid: t.Tid, calls: counts{}}
	t.State = th
	ps := t.Proc.State.(*process)
	ps.threads = append(ps.threads, th)
}

func (c *counter) SyscallEnter(t *intercept.Thread, call *intercept.Syscall) intercept.Action {
	name := syscalls.Name(call.Nr)
	if call.Arch != syscalls.X86_64 {
		name = call.Arch.String() + ":" + strconv.Itoa(call.Nr)
	}
	t.State.(*thread).calls[name]++
	t.Proc.State.(*process).calls[name]++
	c.calls[name]++
	return intercept.Continue()
}

// report writes the table: each process and its threads, then the totals.
func (c *counter) report(w io.Writer, top int) {
	for _, p := range c.procs {
		fmt.Fprintf(w, "process %d: %d calls%s\n", p.pid, p.calls.total(), list(p.calls, top))
		for _, t := range p.threads {
			fmt.Fprintf(w, "  thread %d: %d calls%s\n", t.tid, t.calls.total(), list(t.calls, top))
		}
	}
	fmt.Fprintf(w, "all: %d calls in %d processes%s\n", c.calls.total(), len(c.procs), list(c.calls, top))
}

func list(c counts, n int) string {
	s := ""
	for i, name := range c.top(n) {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		s += fmt.Sprintf("%s%s %d", sep, name, c[name])
	}
	return s
}

func main() {
	top := flag.Int("top", 5, "show the `N` most frequent calls of each line")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: syscount [-top N] [--] PROG [ARGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	path, err := exec.LookPath(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "syscount:", err)
		os.Exit(127)
	}
	c := &counter{calls: counts{}}
	res, err := intercept.Run(context.Background(), &intercept.Command{
		Path: path, Args: flag.Args(), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	}, c, intercept.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "syscount:", err)
		os.Exit(125)
	}
	c.report(os.Stderr, *top)
	os.Exit(res.ExitCode())
}
