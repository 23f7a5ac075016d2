package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/hunt"
	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// tracer is the strace-like tool behind `schedfuzz trace`. Decoding is
// package syscalls': in-arguments at the entry stop, out-arguments and the
// result at the exit stop, one reused Event per thread, so a traced call
// costs its memory reads and the formatted line.
type tracer struct {
	intercept.NopTool
	sub     intercept.Subscription
	only    map[string]bool // -e names, for calls through a foreign ABI
	out     *bufio.Writer
	printer syscalls.Printer
	summary bool
	lines   bool // flush every line (the output is a terminal)
	stats   map[callKey]*callStats
	line    []byte
}

// Guest memory is read through the interface the formatter takes.
var _ syscalls.Memory = (*intercept.Memory)(nil)

// callState is a thread's call in progress (Thread.State).
type callState struct {
	ev      syscalls.Event
	pending bool
	start   time.Time
}

type callKey struct {
	arch syscalls.Arch
	nr   int
}

type callStats struct {
	calls, errors int
	total         time.Duration
}

func (tr *tracer) Subscription() intercept.Subscription { return tr.sub }

func (tr *tracer) state(t *intercept.Thread) *callState {
	st, _ := t.State.(*callState)
	if st == nil {
		st = &callState{}
		t.State = st
	}
	return st
}

func (tr *tracer) SyscallEnter(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
	arch := c.Arch
	if tr.only != nil && arch != syscalls.X86_64 && !tr.only[arch.Name(c.Nr)] {
		return intercept.Continue() // foreign ABIs always stop; -e still applies
	}
	st := tr.state(t)
	st.pending = true
	if tr.summary {
		st.ev.Arch, st.ev.Nr = arch, c.Nr
		st.start = time.Now()
	} else {
		tr.printer.Enter(&st.ev, t.Memory(), arch, c.Nr, c.Args)
	}
	return intercept.TraceExit()
}

func (tr *tracer) SyscallExit(t *intercept.Thread, c *intercept.Syscall, ret int64) int64 {
	st := tr.state(t)
	if !st.pending {
		return ret
	}
	st.pending = false
	if tr.summary {
		k := callKey{st.ev.Arch, st.ev.Nr}
		cs := tr.stats[k]
		if cs == nil {
			cs = &callStats{}
			tr.stats[k] = cs
		}
		cs.calls++
		cs.total += time.Since(st.start)
		if syscalls.IsError(ret) {
			cs.errors++
		}
		return ret
	}
	tr.printer.Exit(&st.ev, t.Memory(), ret)
	tr.writeLine(t.Tid, &st.ev)
	return ret
}

// endLine ends a line of output: on a terminal it is shown at once, as
// strace shows it; elsewhere lines are written in blocks.
func (tr *tracer) endLine() {
	if tr.lines {
		tr.out.Flush()
	}
}

// writeLine writes "[tid] call(args) = result".
func (tr *tracer) writeLine(tid int, ev *syscalls.Event) {
	b := append(tr.line[:0], '[')
	b = strconv.AppendInt(b, int64(tid), 10)
	b = append(b, "] "...)
	b = ev.AppendTo(b)
	b = append(b, '\n')
	tr.out.Write(b)
	tr.endLine()
	tr.line = b
}

func (tr *tracer) Signal(t *intercept.Thread, sig unix.Signal, info *unix.Siginfo) unix.Signal {
	if !tr.summary {
		fmt.Fprintf(tr.out, "[%d] --- %s ---\n", t.Tid, unix.SignalName(sig))
		tr.endLine()
	}
	return sig
}

func (tr *tracer) ThreadExit(t *intercept.Thread, status int) {
	st, _ := t.State.(*callState)
	if st == nil || !st.pending {
		return
	}
	st.pending = false
	if !tr.summary {
		tr.writeLine(t.Tid, &st.ev) // never returned: "= ?"
	}
}

func (tr *tracer) ProcessExit(p *intercept.Process, ws unix.WaitStatus) {
	if tr.summary {
		return
	}
	if ws.Signaled() {
		fmt.Fprintf(tr.out, "[%d] +++ killed by %s +++\n", p.Pid, unix.SignalName(ws.Signal()))
	} else {
		fmt.Fprintf(tr.out, "[%d] +++ exited with %d +++\n", p.Pid, ws.ExitStatus())
	}
	tr.endLine()
}

func (tr *tracer) writeSummary(w io.Writer) {
	type row struct {
		name string
		st   *callStats
	}
	rows := make([]row, 0, len(tr.stats))
	var total time.Duration
	calls, errs := 0, 0
	for k, st := range tr.stats {
		name := k.arch.Name(k.nr)
		if k.arch != syscalls.X86_64 {
			name = k.arch.String() + ":" + name
		}
		rows = append(rows, row{name, st})
		total += st.total
		calls += st.calls
		errs += st.errors
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i].st, rows[j].st
		if a.total != b.total {
			return a.total > b.total
		}
		return rows[i].name < rows[j].name
	})
	fmt.Fprintf(w, "%% time     seconds  usecs/call     calls    errors syscall\n")
	fmt.Fprintf(w, "------ ----------- ----------- --------- --------- ----------------\n")
	for _, r := range rows {
		st := r.st
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(st.total) / float64(total)
		}
		fmt.Fprintf(w, "%6.2f %11.6f %11d %9d %9s %s\n", pct, st.total.Seconds(), st.total.Microseconds()/int64(st.calls), st.calls, errCount(st.errors), r.name)
	}
	fmt.Fprintf(w, "------ ----------- ----------- --------- --------- ----------------\n")
	fmt.Fprintf(w, "100.00 %11.6f %11d %9d %9s total\n", total.Seconds(), int64(0), calls, errCount(errs))
}

func errCount(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func traceMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schedfuzz trace", flag.ContinueOnError)
	fs.Bool("f", true, "follow threads and child processes (always on)")
	onlyFlag := fs.String("e", "", "trace only these syscalls (comma-separated names); the seccomp filter stops no others")
	summary := fs.Bool("c", false, "print a per-syscall count and time summary instead of lines (time: wall clock between entry and exit stops)")
	outPath := fs.String("o", "", "write the trace to `file` instead of stderr")
	limit := fs.Int("s", syscalls.DefaultLimit, "show at most `n` bytes of each string and buffer")
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "usage: schedfuzz trace [-f] [-e name,...] [-c] [-s N] [-o FILE] [--] PROG [ARGS...]")
		printDefaults(fs, w)
	}
	if code, ok := parseFlags(fs, args, stderr, usage); !ok {
		return code
	}
	if fs.NArg() == 0 {
		usage(stderr)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer stop()
	if *limit <= 0 {
		return fail(stderr, &cliError{exitUsage, "trace: -s must be positive"})
	}
	sub := intercept.SubscribeAll()
	var only map[string]bool
	if *onlyFlag != "" {
		sub = intercept.SubscribeTo()
		only = map[string]bool{}
		for _, name := range strings.Split(strings.TrimPrefix(*onlyFlag, "trace="), ",") {
			name = strings.TrimSpace(name)
			nr, ok := syscalls.Number(name)
			if !ok {
				return fail(stderr, &cliError{exitUsage, "trace: unknown syscall " + strconv.Quote(name)})
			}
			sub.Add(nr)
			only[name] = true
		}
	}
	path, err := hunt.ResolveTarget(fs.Arg(0))
	if err != nil {
		return fail(stderr, err)
	}
	var w io.Writer = stderr
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			return fail(stderr, &cliError{exitUsage, err.Error()})
		}
		defer f.Close()
		w = f
	}
	tool := &tracer{sub: sub, only: only, out: bufio.NewWriter(w), summary: *summary,
		printer: syscalls.Printer{Limit: *limit}, stats: map[callKey]*callStats{}, lines: isTerminal(w)}
	// Like strace, the guest runs in our process group: on a terminal
	// it is in the foreground (reads it without SIGTTIN, gets Ctrl-C
	// with us), and its signals to the group cannot reach us.
	res, err := intercept.Run(ctx, &intercept.Command{Path: path, Args: fs.Args(),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, KeepProcessGroup: true}, tool, intercept.Options{})
	if *summary {
		tool.writeSummary(tool.out)
	}
	tool.out.Flush()
	if ctx.Err() != nil {
		return interrupted(stderr)
	}
	if err != nil {
		return fail(stderr, err)
	}
	return res.ExitCode()
}
