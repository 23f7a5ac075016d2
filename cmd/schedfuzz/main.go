// Command schedfuzz hunts concurrency bugs: it runs an unmodified program
// many times under a scheduler that serializes its threads and chooses,
// at every syscall, which thread goes next; a failing run is saved as a
// seed file that replays exactly.
//
//	schedfuzz [-runs N] [-seed S] [-timeout D] [-corpus DIR] [-cpus N] [--] PROG [ARGS...]
//	schedfuzz replay FILE
//	schedfuzz trace [-f] [-e name,...] [-c] [-s N] [-o FILE] [--] PROG [ARGS...]
//
// Exit codes: 0 no failure (or: replay now passes), 1 a failure was found
// (or reproduced), 2 usage error or unusable program file, 125 schedfuzz
// itself failed or a replay diverged, 126 PROG is not executable, 127 PROG
// was not found. trace exits with the guest's status (128+N for signal N).
package main

import (
	"context"
	crand "crypto/rand"
	"debug/elf"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/sched"
)

const version = "schedfuzz 0.1"

// Exit codes.
const (
	exitOK       = 0
	exitFound    = 1
	exitUsage    = 2
	exitTool     = 125
	exitNoExec   = 126
	exitNotFound = 127
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "replay":
			return replayMain(args[1:], stdout, stderr)
		case "trace":
			return traceMain(args[1:], stdout, stderr)
		}
	}
	return runMain(args, stdout, stderr)
}

// cliError is an error with its exit code.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

func fail(stderr io.Writer, err error) int {
	var ce *cliError
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "schedfuzz: %s\n", ce.msg)
		return ce.code
	}
	fmt.Fprintf(stderr, "schedfuzz: %v\n", err)
	return exitTool
}

// resolveTarget finds PROG like a shell and checks it is something we can
// run: an x86-64 ELF program or a script.
func resolveTarget(prog string) (string, error) {
	path := prog
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil {
			return "", &cliError{exitNotFound, prog + ": command not found"}
		}
		path = p
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", &cliError{exitNotFound, prog + ": no such file"}
	}
	if st.IsDir() || st.Mode()&0o111 == 0 || unix.Access(path, unix.X_OK) != nil {
		return "", &cliError{exitNoExec, prog + ": not executable"}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", &cliError{exitNoExec, prog + ": " + err.Error()}
	}
	defer f.Close()
	var head [2]byte
	if _, err := io.ReadFull(f, head[:]); err == nil && string(head[:]) == "#!" {
		return path, nil
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return "", &cliError{exitUsage, prog + ": not an x86-64 ELF program or script"}
	}
	if ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_X86_64 {
		return "", &cliError{exitUsage, fmt.Sprintf("%s: not an x86-64 ELF program (%v %v)", prog, ef.Class, ef.Machine)}
	}
	return path, nil
}

// runSeed derives run i's seed from the session seed (SplitMix64).
func runSeed(base uint64, i int) uint64 {
	z := base + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func runMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schedfuzz", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runs := fs.Int("runs", 100, "number of runs")
	seedFlag := fs.String("seed", "", "session seed (default: random; always printed)")
	timeout := fs.Duration("timeout", 10*time.Second, "wall-clock limit per run; a run past it is a hang")
	corpus := fs.String("corpus", "testdata/schedfuzz", "directory for seed files of failing runs")
	cpus := fs.Int("cpus", 4, "CPU count the guest sees")
	verbose := fs.Bool("v", false, "print every run")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: schedfuzz [-runs N] [-seed S] [-timeout D] [-corpus DIR] [-cpus N] [--] PROG [ARGS...]\n       schedfuzz replay FILE\n       schedfuzz trace [-f] [-e name,...] [-c] [-s N] [-o FILE] [--] PROG [ARGS...]")
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
	if *runs <= 0 || *cpus <= 0 || *timeout <= 0 {
		return fail(stderr, &cliError{exitUsage, "-runs, -cpus and -timeout must be positive"})
	}
	var base uint64
	if *seedFlag == "" {
		var b [8]byte
		crand.Read(b[:])
		base = binary.LittleEndian.Uint64(b[:])
	} else {
		var err error
		if base, err = parseUint(*seedFlag); err != nil {
			return fail(stderr, &cliError{exitUsage, "bad -seed " + *seedFlag})
		}
	}
	path, err := resolveTarget(fs.Arg(0))
	if err != nil {
		return fail(stderr, err)
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return fail(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer stop()
	tgt := &explore.Target{Path: path, Args: fs.Args()}
	fmt.Fprintf(stderr, "schedfuzz: seed %#016x, %d runs of %s\n", base, *runs, fs.Arg(0))
	start := time.Now()
	for i := 0; i < *runs; i++ {
		seed := runSeed(base, i)
		r, err := explore.Run(ctx, tgt, explore.Config{Seed: seed, Timeout: *timeout, CPU: 0, CPUs: *cpus})
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "schedfuzz: interrupted after %d runs\n", i)
			return exitTool
		}
		if err != nil {
			return fail(stderr, fmt.Errorf("run %d: %w", i, err))
		}
		if *verbose {
			fmt.Fprintf(stderr, "run %d seed %#016x: %s (%d steps, %d decisions, %v)\n", i, seed, r.Describe(), r.Outcome.Steps, len(r.Decisions), r.Wall.Round(time.Microsecond))
		}
		switch r.Outcome.Kind {
		case sched.Unsupported, sched.Internal:
			return fail(stderr, fmt.Errorf("run %d: %s", i, r.Outcome.Report))
		}
		if !r.Failed() {
			continue
		}
		sf := &seedFile{Tool: version, Target: fs.Arg(0), SHA256: sum, Args: fs.Args()[1:],
			Seed: seed, Run: i, Strategy: "random", CPUs: *cpus, Outcome: r.Describe(), Decisions: r.Decisions}
		file, err := sf.write(*corpus)
		if err != nil {
			return fail(stderr, fmt.Errorf("save seed: %w", err))
		}
		report(stderr, r, i)
		fmt.Fprintf(stderr, "schedfuzz: failure in run %d of %d (seed %#016x) after %v\n", i+1, *runs, seed, time.Since(start).Round(time.Millisecond))
		fmt.Fprintf(stderr, "replay: schedfuzz replay %s\n", file)
		return exitFound
	}
	fmt.Fprintf(stderr, "schedfuzz: no failure in %d runs (%v)\n", *runs, time.Since(start).Round(time.Millisecond))
	return exitOK
}

func parseUint(s string) (uint64, error) {
	var v uint64
	_, err := fmt.Sscan(s, &v)
	if err != nil || strings.HasPrefix(s, "0x") {
		return parseHex(s)
	}
	return v, nil
}

func parseHex(s string) (uint64, error) {
	var v uint64
	_, err := fmt.Sscanf(strings.TrimPrefix(s, "0x"), "%x", &v)
	return v, err
}

// report prints what a failing run did.
func report(w io.Writer, r *explore.Result, run int) {
	fmt.Fprintf(w, "==================\nFAILURE: %s\n", r.Describe())
	if r.Outcome.Report != "" {
		fmt.Fprintln(w, r.Outcome.Report)
	}
	fmt.Fprintf(w, "%d scheduling points, %d decisions, virtual time %v\n", r.Outcome.Steps, len(r.Decisions), time.Duration(r.Outcome.VirtualTime))
	if len(r.Stdout) > 0 {
		fmt.Fprintf(w, "--- guest stdout ---\n%s", tail(r.Stdout))
	}
	if len(r.Stderr) > 0 {
		fmt.Fprintf(w, "--- guest stderr ---\n%s", tail(r.Stderr))
	}
	for _, n := range r.Outcome.Nondeterministic {
		fmt.Fprintf(w, "note: may not replay exactly: %s\n", n)
	}
	fmt.Fprintln(w, "==================")
}

func tail(b []byte) string {
	const max = 2048
	s := string(b)
	if len(s) > max {
		s = "..." + s[len(s)-max:]
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

func replayMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schedfuzz replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 10*time.Second, "wall-clock limit; a run past it is a hang")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: schedfuzz replay [-timeout D] FILE")
		return exitUsage
	}
	fh, err := os.Open(fs.Arg(0))
	if err != nil {
		return fail(stderr, &cliError{exitUsage, err.Error()})
	}
	sf, err := parseSeedFile(fh)
	fh.Close()
	if err != nil {
		return fail(stderr, &cliError{exitUsage, fs.Arg(0) + ": " + err.Error()})
	}
	path, err := resolveTarget(sf.Target)
	if err != nil {
		return fail(stderr, err)
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return fail(stderr, err)
	}
	if sum != sf.SHA256 {
		return fail(stderr, &cliError{exitTool, fmt.Sprintf("%s changed since the seed was recorded (sha256 %.12s, recorded %.12s): the schedule no longer applies", sf.Target, sum, sf.SHA256)})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer stop()
	decisions := sf.Decisions
	if decisions == nil {
		decisions = []sched.Decision{}
	}
	r, err := explore.Run(ctx, &explore.Target{Path: path, Args: append([]string{sf.Target}, sf.Args...)},
		explore.Config{Seed: sf.Seed, Timeout: *timeout, CPU: 0, CPUs: sf.CPUs, Replay: decisions})
	if err != nil {
		return fail(stderr, err)
	}
	if r.Outcome.Kind == sched.Diverged {
		return fail(stderr, &cliError{exitTool, r.Outcome.Report})
	}
	if len(r.Decisions) != len(sf.Decisions) {
		return fail(stderr, &cliError{exitTool, fmt.Sprintf("replay diverged: the run ended after %d of %d recorded decisions (%s)", len(r.Decisions), len(sf.Decisions), r.Describe())})
	}
	os.Stdout.Write(r.Stdout)
	os.Stderr.Write(r.Stderr)
	if r.Failed() {
		report(stderr, r, sf.Run)
		fmt.Fprintf(stderr, "schedfuzz: reproduced: %s (recorded: %s)\n", r.Describe(), sf.Outcome)
		return exitFound
	}
	fmt.Fprintf(stderr, "schedfuzz: the run now passes (recorded: %s)\n", sf.Outcome)
	return exitOK
}
