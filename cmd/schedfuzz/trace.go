package main

import (
	"bufio"
	"context"
	"errors"
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

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/sysname"
)

// tracer is the strace-like tool behind `schedfuzz trace`.
type tracer struct {
	intercept.NopTool
	sub     intercept.Subscription
	out     *bufio.Writer
	summary bool
	stats   map[string]*callStats
	pending map[int]*pendingCall
}

type pendingCall struct {
	text  string
	start time.Time
}

type callStats struct {
	calls, errors int
	total         time.Duration
}

func (tr *tracer) Subscription() intercept.Subscription { return tr.sub }

func (tr *tracer) SyscallEnter(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
	name := sysname.Name(c.Nr)
	if c.Arch != intercept.ArchX86_64 {
		name = fmt.Sprintf("%s:syscall_%d", c.Arch, c.Nr)
	}
	p := &pendingCall{start: time.Now()}
	if !tr.summary {
		p.text = name + "(" + formatArgs(t, c) + ")"
	} else {
		p.text = name
	}
	tr.pending[t.Tid] = p
	return intercept.TraceExit()
}

func (tr *tracer) SyscallExit(t *intercept.Thread, c *intercept.Syscall, ret int64) int64 {
	p := tr.pending[t.Tid]
	delete(tr.pending, t.Tid)
	if p == nil {
		return ret
	}
	if tr.summary {
		st := tr.stats[p.text]
		if st == nil {
			st = &callStats{}
			tr.stats[p.text] = st
		}
		st.calls++
		st.total += time.Since(p.start)
		if ret < 0 && ret > -4096 {
			st.errors++
		}
		return ret
	}
	fmt.Fprintf(tr.out, "[%d] %s = %s\n", t.Tid, p.text, formatRet(c.Nr, ret))
	return ret
}

func (tr *tracer) Signal(t *intercept.Thread, sig unix.Signal, info *unix.Siginfo) unix.Signal {
	if !tr.summary {
		fmt.Fprintf(tr.out, "[%d] --- %s ---\n", t.Tid, unix.SignalName(sig))
	}
	return sig
}

func (tr *tracer) ThreadExit(t *intercept.Thread, status int) {
	if p := tr.pending[t.Tid]; p != nil && !tr.summary {
		fmt.Fprintf(tr.out, "[%d] %s = ?\n", t.Tid, p.text)
	}
	delete(tr.pending, t.Tid)
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
}

// formatArgs decodes the arguments of common calls: C strings for paths,
// buffer contents for writes; everything else in hex or decimal.
func formatArgs(t *intercept.Thread, c *intercept.Syscall) string {
	mem := t.Memory()
	str := func(addr uint64) string {
		if addr == 0 {
			return "NULL"
		}
		s, ok, err := mem.ReadString(addr, 4096)
		if err != nil && s == "" {
			return fmt.Sprintf("%#x", addr)
		}
		q := quote([]byte(s), 64)
		if !ok && err == nil {
			q += "..."
		}
		return q
	}
	buf := func(addr, n uint64) string {
		b := make([]byte, min(n, 32))
		got, _ := mem.ReadAt(b, int64(addr))
		q := quote(b[:got], 32)
		if n > 32 {
			q += "..."
		}
		return q
	}
	a := c.Args
	if c.Arch == intercept.ArchX86_64 {
		switch c.Nr {
		case unix.SYS_WRITE, unix.SYS_PWRITE64:
			return fmt.Sprintf("%d, %s, %d", int32(a[0]), buf(a[1], a[2]), a[2])
		case unix.SYS_READ, unix.SYS_PREAD64:
			return fmt.Sprintf("%d, %#x, %d", int32(a[0]), a[1], a[2])
		case unix.SYS_OPEN, unix.SYS_STAT, unix.SYS_LSTAT, unix.SYS_ACCESS, unix.SYS_UNLINK, unix.SYS_CHDIR, unix.SYS_MKDIR:
			return fmt.Sprintf("%s, %#x", str(a[0]), a[1])
		case unix.SYS_OPENAT, unix.SYS_NEWFSTATAT, unix.SYS_FACCESSAT, unix.SYS_UNLINKAT, unix.SYS_MKDIRAT:
			dir := strconv.Itoa(int(int32(a[0])))
			if int32(a[0]) == unix.AT_FDCWD {
				dir = "AT_FDCWD"
			}
			return fmt.Sprintf("%s, %s, %#x", dir, str(a[1]), a[2])
		case unix.SYS_EXECVE:
			return fmt.Sprintf("%s, %#x, %#x", str(a[0]), a[1], a[2])
		case unix.SYS_CLOSE, unix.SYS_EXIT, unix.SYS_EXIT_GROUP, unix.SYS_DUP:
			return strconv.Itoa(int(int32(a[0])))
		case unix.SYS_GETPID, unix.SYS_GETTID, unix.SYS_GETPPID, unix.SYS_SCHED_YIELD, unix.SYS_FORK, unix.SYS_VFORK, unix.SYS_PAUSE:
			return ""
		}
	}
	parts := make([]string, 6)
	for i, v := range a {
		parts[i] = fmt.Sprintf("%#x", v)
	}
	return strings.Join(parts, ", ")
}

func quote(b []byte, limit int) string {
	if len(b) > limit {
		b = b[:limit]
	}
	q := strconv.Quote(string(b))
	return q
}

func formatRet(nr int, ret int64) string {
	if ret < 0 && ret > -4096 {
		e := unix.Errno(-ret)
		return fmt.Sprintf("-1 %s (%s)", unix.ErrnoName(e), e.Error())
	}
	switch nr {
	case unix.SYS_MMAP, unix.SYS_BRK, unix.SYS_MREMAP:
		return fmt.Sprintf("%#x", uint64(ret))
	}
	return strconv.FormatInt(ret, 10)
}

func (tr *tracer) writeSummary(w io.Writer) {
	names := make([]string, 0, len(tr.stats))
	var total time.Duration
	calls, errs := 0, 0
	for n, st := range tr.stats {
		names = append(names, n)
		total += st.total
		calls += st.calls
		errs += st.errors
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := tr.stats[names[i]], tr.stats[names[j]]
		if a.total != b.total {
			return a.total > b.total
		}
		return names[i] < names[j]
	})
	fmt.Fprintf(w, "%% time     seconds  usecs/call     calls    errors syscall\n")
	fmt.Fprintf(w, "------ ----------- ----------- --------- --------- ----------------\n")
	for _, n := range names {
		st := tr.stats[n]
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(st.total) / float64(total)
		}
		fmt.Fprintf(w, "%6.2f %11.6f %11d %9d %9s %s\n", pct, st.total.Seconds(), st.total.Microseconds()/int64(st.calls), st.calls, errCount(st.errors), n)
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
	fs.SetOutput(stderr)
	fs.Bool("f", true, "follow threads and child processes (always on)")
	only := fs.String("e", "", "trace only these syscalls (comma-separated names); the seccomp filter stops no others")
	summary := fs.Bool("c", false, "print a per-syscall count and time summary instead of lines (time: wall clock between entry and exit stops)")
	outPath := fs.String("o", "", "write the trace to `file` instead of stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: schedfuzz trace [-f] [-e name,...] [-c] [-o FILE] [--] PROG [ARGS...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	sub := intercept.SubscribeAll()
	if *only != "" {
		sub = intercept.SubscribeTo()
		for _, name := range strings.Split(*only, ",") {
			nr, ok := sysname.Number(strings.TrimSpace(name))
			if !ok {
				return fail(stderr, &cliError{exitUsage, "trace: unknown syscall " + strconv.Quote(name)})
			}
			sub.Add(nr)
		}
	}
	path, err := resolveTarget(fs.Arg(0))
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
	tool := &tracer{sub: sub, out: bufio.NewWriter(w), summary: *summary,
		stats: map[string]*callStats{}, pending: map[int]*pendingCall{}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer stop()
	res, err := intercept.Run(ctx, &intercept.Command{Path: path, Args: fs.Args(),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, tool, intercept.Options{CPU: intercept.NoCPU})
	if *summary {
		tool.writeSummary(tool.out)
	}
	tool.out.Flush()
	if err != nil {
		return fail(stderr, err)
	}
	return res.ExitCode()
}
