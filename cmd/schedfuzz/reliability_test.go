package main

// The reliability suite (README, "Reliability"): nothing found is ever
// lost, nothing escapes, every bad input gets a clear answer. This file:
// bad inputs and clear answers, outputs that cannot be written, escapes,
// resources. reliability_signals_test.go: kill -9 and SIGINT in every
// phase, storms under RLIMIT_NPROC, a full corpus disk.

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/internal/testprog"
)

// TestReliabilityBadInput: every bad flag, target and seed file gets one
// clean line and its documented exit code before any run.
func TestReliabilityBadInput(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Scripts with a missing interpreter, directly or through env.
	must(os.WriteFile(filepath.Join(dir, "nointerp.sh"), []byte("#!/nonexistent/interp -x\necho hi\n"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "noenv.sh"), []byte("#!/usr/bin/env no-such-interpreter-here\n"), 0o755))
	// A truncated ELF program, an object file, a core-like ELF file.
	lu := guest(t, "../../corpus/examples/lost_update")
	data := mustRead(t, lu)
	ef, err := elf.NewFile(bytes.NewReader(data))
	must(err)
	var lastLoad uint64
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			lastLoad = p.Off + p.Filesz
		}
	}
	// Section headers at the end are lost too; keep only the ELF header
	// and program headers, claiming no sections, as a truncated copy
	// (an interrupted download) of a stripped program would.
	trunc := append([]byte(nil), data[:lastLoad-100]...)
	for i := 0x28; i < 0x30; i++ { // e_shoff
		trunc[i] = 0
	}
	trunc[0x3c], trunc[0x3d], trunc[0x3e], trunc[0x3f] = 0, 0, 0, 0 // e_shnum, e_shstrndx
	must(os.WriteFile(filepath.Join(dir, "truncated"), trunc, 0o755))
	must(os.WriteFile(filepath.Join(dir, "cut"), data[:4096], 0o755))
	must(os.WriteFile(filepath.Join(dir, "obj.c"), []byte("int f(void) { return 1; }\n"), 0o644))
	if b, err := exec.Command("gcc", "-c", "-o", filepath.Join(dir, "obj.o"), filepath.Join(dir, "obj.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc -c: %v\n%s", err, b)
	}
	must(os.Chmod(filepath.Join(dir, "obj.o"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "weird\x1b[31mname\n"), []byte("#!/nonexistent\n"), 0o755))
	// Seed files: a bad strategy, a bad point set, a bad yield-at spec.
	sum, err := fileSHA(lu)
	must(err)
	seed := func(extra string) string {
		return "schedfuzz seed v1\ntarget: \"" + lu + "\"\nsha256: " + sum + "\nseed: 1\n" + extra + "decisions: 0\nend\n"
	}
	must(os.WriteFile(filepath.Join(dir, "strategy.seed"), []byte(seed("strategy: dfs\n")), 0o644))
	must(os.WriteFile(filepath.Join(dir, "points.seed"), []byte(seed("strategy: random\npoints: everything\n")), 0o644))
	must(os.WriteFile(filepath.Join(dir, "yield.seed"), []byte(seed("points: sync\npoint: \"yield-at a.c:b:c\" unresolved\n")), 0o644))
	must(os.WriteFile(filepath.Join(dir, "expect.seed"), []byte(seed("expect-exit: 256\n")), 0o644))
	must(os.WriteFile(filepath.Join(dir, "notafile"), nil, 0o644))
	must(os.Mkdir(filepath.Join(dir, "adir"), 0o755))

	cases := []struct {
		name string
		args []string
		code int
		msg  string // a regexp the line must match
	}{
		{"flag: -runs abc", []string{"-runs", "abc", lu}, 2, `invalid value "abc" for flag -runs`},
		{"flag: unknown", []string{"-nosuchflag", lu}, 2, `flag provided but not defined: -nosuchflag`},
		{"flag: -cpus 65537", []string{"-cpus", "65537", lu}, 2, `-cpus 65537: want 1\.\.65536`},
		{"flag: -cpus 0", []string{"-cpus", "0", lu}, 2, `-cpus 0`},
		{"flag: -p 0", []string{"-p", "0", lu}, 2, `-p 0`},
		{"flag: -p 100000", []string{"-p", "100000", lu}, 2, `-p 100000`},
		{"flag: -timeout 1us", []string{"-timeout", "1us", lu}, 2, `-timeout 1µs: want at least 100ms`},
		{"flag: -time -1s", []string{"-time", "-1s", lu}, 2, `-time -1s`},
		{"flag: -runs -1", []string{"-runs", "-1", lu}, 2, `-runs -1`},
		{"flag: -max-steps too large", []string{"-max-steps", "99999999999", lu}, 2, `-max-steps`},
		{"flag: -seed zz", []string{"-seed", "zz", lu}, 2, `-seed "zz"`},
		{"flag: -strategy dfs", []string{"-strategy", "dfs", lu}, 2, `unknown strategy`},
		{"flag: -expect-exit 256", []string{"-expect-exit", "256", lu}, 2, `-expect-exit "256"`},
		{"flag: -failure (", []string{"-failure", "(", lu}, 2, `-failure`},
		{"flag: -points nosuch", []string{"-points", "nosuch", lu}, 2, `nosuch`},
		{"output: -corpus under a file", []string{"-corpus", "notafile/seeds", lu}, 2, `-corpus notafile/seeds: .*not a directory`},
		{"output: -corpus in /proc", []string{"-corpus", "/proc/self/seeds", lu}, 2, `-corpus /proc/self/seeds`},
		{"output: -junit in a missing directory", []string{"-junit", "nodir/x.xml", lu}, 2, `-junit nodir/x.xml: no directory nodir`},
		{"output: -junit is a directory", []string{"-junit", "adir", lu}, 2, `-junit adir: is a directory`},
		{"output: -trace in a missing directory", []string{"-trace", "nodir/t.json", lu}, 2, `-trace nodir/t.json`},
		{"target: script without interpreter", []string{"./nointerp.sh"}, 127, `\./nointerp\.sh: interpreter /nonexistent/interp not found`},
		{"target: env without interpreter", []string{"./noenv.sh"}, 127, `interpreter no-such-interpreter-here \(through /usr/bin/env\) not found`},
		{"target: truncated ELF", []string{"./truncated"}, 2, `truncated ELF file`},
		{"target: ELF cut short", []string{"./cut"}, 2, `truncated`},
		{"target: object file", []string{"./obj.o"}, 2, `object file`},
		{"target: control characters in its name", []string{"./weird\x1b[31mname\n"}, 127, `weird\\x1b\[31mname\\n: interpreter /nonexistent not found`},
		{"trace: script without interpreter", []string{"trace", "./nointerp.sh"}, 127, `interpreter /nonexistent/interp not found`},
		{"trace: -s abc", []string{"trace", "-s", "abc", "/bin/true"}, 2, `invalid value "abc" for flag -s`},
		{"replay: bad strategy", []string{"replay", "strategy.seed"}, 2, `strategy\.seed: seed file line 5: recorded strategy: unknown strategy "dfs"`},
		{"replay: bad point set", []string{"replay", "points.seed"}, 2, `points\.seed: seed file line 6: recorded points`},
		{"replay: bad yield-at point", []string{"replay", "yield.seed"}, 2, `yield\.seed: seed file line 6: recorded points`},
		{"replay: bad expect-exit", []string{"replay", "expect.seed"}, 2, `expect\.seed: seed file line 5: bad expect-exit`},
		{"replay: -timeout 1us", []string{"replay", "-timeout", "1us", "strategy.seed"}, 2, `-timeout 1µs`},
		{"replay: -runs", []string{"replay", "-runs", "3", "strategy.seed"}, 2, `flag provided but not defined: -runs`},
		{"replay DIR: bad seed stops it before any run", []string{"replay", "."}, 2, `seed file line`},
		{"doctor: -x", []string{"doctor", "-x"}, 2, `flag provided but not defined: -x`},
	}
	for _, c := range cases {
		t.Run(strings.NewReplacer("/", "_", " ", "_").Replace(c.name), func(t *testing.T) {
			code, stdout, stderr := sf(t, dir, c.args...)
			if code != c.code || !regexp.MustCompile(c.msg).MatchString(stderr) {
				t.Errorf("exit %d, want %d with %q; stderr:\n%s", code, c.code, c.msg, stderr)
			}
			checkOneLine(t, c.name, stderr)
			if stdout != "" || strings.Contains(stderr, "schedfuzz: seed 0x") {
				t.Errorf("a run was made, or output printed:\n%s%s", stdout, stderr)
			}
		})
	}
}

func fileSHA(path string) (string, error) {
	out, err := exec.Command("sha256sum", path).Output()
	if err != nil {
		return "", err
	}
	return strings.Fields(string(out))[0], nil
}

// TestReliabilityClearAnswers: answers that come from a run: a guest that
// execs a 32-bit program, and replay's judgement by what was recorded
// (the exit-code filter and the outcome), symlinked seeds, a deleted
// working directory.
func TestReliabilityClearAnswers(t *testing.T) {
	testenv.RequirePtrace(t)
	t.Run("i386 exec is an answer", func(t *testing.T) {
		dir := t.TempDir()
		i386 := filepath.Join(dir, "i386")
		if b, err := exec.Command("gcc", "-m32", "-nostdlib", "-static", "-o", i386, filepath.Join("testdata", "reliability", "i386.S")).CombinedOutput(); err != nil {
			t.Skipf("cannot build a 32-bit program here (gcc -m32): %v\n%s", err, b)
		}
		exe := guest(t, "exec")
		code, _, stderr := sf(t, dir, "-runs", "3", "-timeout", tmo, exe, i386)
		if code != 2 || !strings.Contains(stderr, "schedfuzz: run 0: unsupported: i386 program "+i386+"\n") {
			t.Errorf("exit %d, want 2 with the unsupported program named\n%s", code, stderr)
		}
		checkNoGuest(t, exe)
		// trace follows it: it is only the scheduler that cannot.
		if code, _, stderr := sf(t, dir, "trace", exe, i386); code != 0 || !strings.Contains(stderr, "i386:exit(0)") {
			t.Errorf("trace: exit %d\n%s", code, stderr)
		}
	})
	t.Run("replay judges by the recorded exit-code filter", func(t *testing.T) {
		dir := t.TempDir()
		ok := guest(t, "closeout") // exits 0: a failure under -expect-exit 3
		code, _, stderr := sf(t, dir, "-runs", "2", "-timeout", tmo, "-expect-exit", "3", "-minimize=false", ok)
		if code != 1 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		file := replayLine.FindStringSubmatch(stderr)[1]
		if !strings.Contains(string(mustRead(t, filepath.Join(dir, file))), "\nexpect-exit: 3\n") {
			t.Errorf("seed lacks expect-exit")
		}
		if code, _, stderr := sf(t, dir, "replay", "-timeout", tmo, file); code != 1 || !strings.Contains(stderr, "reproduced: exit 0 (recorded: exit 0)") {
			t.Errorf("replay: exit %d\n%s", code, stderr)
		}
		// The recorded -failure regexp must match for the failure to
		// count: edited so that it cannot, the run passes.
		lu := guest(t, "../../corpus/examples/lost_update")
		code, _, stderr = sf(t, dir, "-runs", "1000", "-timeout", tmo, "-seed", "3", "-failure", "counter=", "-minimize=false", lu)
		if code != 1 {
			t.Fatalf("-failure: exit %d\n%s", code, stderr)
		}
		file = replayLine.FindStringSubmatch(stderr)[1]
		data := string(mustRead(t, filepath.Join(dir, file)))
		if !strings.Contains(data, "\nfailure: \"counter=\"\n") {
			t.Fatalf("seed lacks failure:\n%s", data)
		}
		if code, _, stderr := sf(t, dir, "replay", "-timeout", tmo, file); code != 1 {
			t.Errorf("replay: exit %d\n%s", code, stderr)
		}
		must(t, os.WriteFile(filepath.Join(dir, "nomatch.seed"), []byte(strings.Replace(data, "failure: \"counter=\"", "failure: \"no such output\"", 1)), 0o644))
		if code, _, stderr := sf(t, dir, "replay", "-timeout", tmo, "nomatch.seed"); code != 0 || !strings.Contains(stderr, "now passes") {
			t.Errorf("replay with a -failure that does not match: exit %d\n%s", code, stderr)
		}
		// Another outcome than the recorded one is not a reproduction.
		must(t, os.WriteFile(filepath.Join(dir, "hang.seed"), []byte(strings.Replace(data, "\noutcome: exit 1\n", "\noutcome: hang\n", 1)), 0o644))
		if code, _, stderr := sf(t, dir, "replay", "-timeout", tmo, "hang.seed"); code != 125 || !strings.Contains(stderr, "the replay fails otherwise: exit 1 (recorded: hang)") {
			t.Errorf("replay of another outcome: exit %d\n%s", code, stderr)
		}
	})
	t.Run("symlinked seeds are followed", func(t *testing.T) {
		dir := t.TempDir()
		lu := guest(t, "../../corpus/examples/lost_update")
		code, _, stderr := sf(t, dir, "-runs", "1000", "-timeout", tmo, "-seed", "5", "-minimize=false", "-corpus", "real", lu)
		if code != 1 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		file := replayLine.FindStringSubmatch(stderr)[1]
		links := filepath.Join(dir, "links")
		must(t, os.Mkdir(links, 0o755))
		must(t, os.Symlink(filepath.Join(dir, file), filepath.Join(links, "one.seed")))
		must(t, os.Symlink(filepath.Join(dir, "real"), filepath.Join(links, "dir")))
		must(t, os.Symlink(links, filepath.Join(links, "loop")))
		must(t, os.Symlink("/nonexistent", filepath.Join(links, "dangling.seed")))
		code, out, stderr := sf(t, dir, "replay", "-timeout", tmo, "links")
		if code != 1 || strings.Count(out, ": still failing: exit 1\n") != 2 || !strings.Contains(out, "2 seeds: 2 still failing") {
			t.Errorf("replay of a directory of links: exit %d\n%s%s", code, out, stderr)
		}
		must(t, os.Symlink(filepath.Join(dir, file), filepath.Join(dir, "direct.seed")))
		if code, _, stderr := sf(t, dir, "replay", "-timeout", tmo, "direct.seed"); code != 1 {
			t.Errorf("replay of a link: exit %d\n%s", code, stderr)
		}
		must(t, os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "corpuslink")))
		if code, out, _ := sf(t, dir, "replay", "-timeout", tmo, "corpuslink"); code != 1 || !strings.Contains(out, "1 seed: 1 still failing") {
			t.Errorf("replay of a linked directory: exit %d\n%s", code, out)
		}
	})
	t.Run("a deleted recorded directory is noted", func(t *testing.T) {
		dir := t.TempDir()
		lu := guest(t, "../../corpus/examples/lost_update")
		wd := filepath.Join(dir, "wd")
		must(t, os.Mkdir(wd, 0o755))
		code, _, stderr := sf(t, wd, "-runs", "1000", "-timeout", tmo, "-seed", "5", "-minimize=false", "-corpus", filepath.Join(dir, "seeds"), lu)
		if code != 1 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		file := replayLine.FindStringSubmatch(stderr)[1]
		must(t, os.RemoveAll(wd))
		code, _, stderr = sf(t, dir, "replay", "-timeout", tmo, file)
		if code != 1 || !strings.Contains(stderr, "note: the recorded working directory "+wd+" does not exist") {
			t.Errorf("exit %d\n%s", code, stderr)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestReliabilityEscapes: no guest process outlives schedfuzz, and none
// can signal it: CLONE_UNTRACED children are traced, SIGSTOP and SIGKILL
// to the parent, the tracer thread and its group are refused. trace on a
// terminal reads it (no SIGTTIN), and an interrupted trace says so.
func TestReliabilityEscapes(t *testing.T) {
	testenv.RequirePtrace(t)
	hostile := guest(t, "../../intercept/testdata/hostile")
	t.Run("CLONE_UNTRACED", func(t *testing.T) {
		dir := t.TempDir()
		for _, args := range [][]string{{"-runs", "5", "-timeout", tmo, hostile, "untraced"}, {"trace", hostile, "untraced"}} {
			if code, _, stderr := sf(t, dir, args...); code != 0 {
				t.Errorf("%v: exit %d\n%s", args, code, stderr)
			}
			checkNoGuest(t, hostile)
		}
	})
	for _, sig := range []string{"19", "9"} { // SIGSTOP, SIGKILL
		t.Run("signals "+sig+" to schedfuzz", func(t *testing.T) {
			dir := t.TempDir()
			// -hermetic=false: in a sandbox the guest's parent is
			// outside its pid namespace (getppid() is 0, and kill(0)
			// is its own group): only without one can it name us.
			for _, args := range [][]string{{"-runs", "3", "-timeout", tmo, "-hermetic=false", hostile, "signals", sig}, {"trace", hostile, "signals", sig, "nogroup"}} {
				p := startSF(t, dir, args...)
				code := p.wait(t)
				if code != 0 || args[0] == "trace" && !strings.Contains(p.stdout.String(), "kill-parent=EPERM\nkill-tracer=EPERM\n") {
					t.Errorf("%v: exit %d\n%s%s", args, code, p.stdout.String(), p.stderr.String())
				}
				checkNoGuest(t, hostile)
			}
		})
	}
	t.Run("trace on a terminal", func(t *testing.T) {
		out, code := traceOnPTY(t, "cat")
		if code != 0 || !strings.Contains(out, "hello from the terminal\r\n") || !strings.Contains(out, `read(0, "hello from the terminal\n"`) {
			t.Errorf("trace cat on a terminal: exit %d\n%s", code, out)
		}
	})
	t.Run("trace interrupted", func(t *testing.T) {
		dir := t.TempDir()
		slow := guest(t, "slow")
		p := startSF(t, dir, "trace", "-o", filepath.Join(dir, "trace.txt"), slow, "100000000")
		for len(testprog.ProcessesWithExe(slow)) == 0 {
			select {
			case <-p.done:
				t.Fatalf("exit %d before the guest ran\n%s", p.code, p.stderr.String())
			case <-time.After(time.Millisecond):
			}
		}
		sent := time.Now()
		p.signal(syscall.SIGINT)
		if code := p.wait(t); code != 130 || p.stderr.String() != "schedfuzz: interrupted\n" {
			t.Errorf("exit %d, want 130 and \"interrupted\"\n%s", code, p.stderr.String())
		}
		t.Logf("exited %v after SIGINT", p.exited.Sub(sent))
		checkNoGuest(t, slow)
	})
}

// traceOnPTY runs `schedfuzz trace PROG` as the session leader of a new
// pseudo-terminal (its controlling terminal, schedfuzz in the foreground
// group), types a line and end-of-file, and returns what the terminal
// showed and the exit code. A guest in a background process group would
// stop on SIGTTIN and never exit.
func traceOnPTY(t *testing.T, prog string) (string, int) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sfBinary, "trace", prog)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out lockedBuffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return // EIO: every slave fd is closed
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The terminal keeps the line until cat reads it; ^D at the start
	// of a line is then end-of-file.
	master.Write([]byte("hello from the terminal\n\x04"))
	select {
	case err := <-done:
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		select {
		case <-read:
		case <-time.After(liveness):
		}
		return out.String(), code
	case <-time.After(liveness):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("trace %s on a terminal did not exit (stopped by SIGTTIN?)\n%s", prog, out.String())
		return "", 0
	}
}

// TestReliabilityResources: a guest writing without bound costs a
// bounded capture (the tail is kept); temporary files of killed savers
// are cleaned; replay DIR holds one parsed seed at a time.
func TestReliabilityResources(t *testing.T) {
	testenv.RequirePtrace(t)
	t.Run("unbounded output", func(t *testing.T) {
		dir := t.TempDir()
		big := guest(t, "bigout")
		code, _, stderr := sf(t, dir, "-runs", "2", "-timeout", tmo, "-p", "2", "-minimize=false", big, "256")
		if code != 1 || !strings.Contains(stderr, "oooothe-end\n") {
			t.Fatalf("exit %d\n%.3000s", code, stderr)
		}
		file := replayLine.FindStringSubmatch(stderr)[1]
		code, out, stderr := sf(t, dir, "replay", "-timeout", tmo, file)
		if code != 1 || len(out) != 64<<10 || !strings.HasSuffix(out, "the-end\n") ||
			!strings.Contains(stderr, "note: the guest wrote 268435464 bytes to stdout; the last 65536 are shown") {
			t.Errorf("replay: exit %d, %d bytes of stdout\n%.3000s", code, len(out), stderr)
		}
	})
	t.Run("temporary files of killed savers", func(t *testing.T) {
		dir := t.TempDir()
		sig := filepath.Join(dir, "testdata", "schedfuzz", "exit-1-x-00000000")
		must(t, os.MkdirAll(sig, 0o755))
		stale := filepath.Join(sig, ".tmp-123")
		held := filepath.Join(sig, ".tmp-456")
		fresh := filepath.Join(sig, ".tmp-789")
		for _, p := range []string{stale, held, fresh} {
			must(t, os.WriteFile(p, []byte("schedfuzz seed v1\n"), 0o644))
		}
		old := time.Now().Add(-time.Hour)
		must(t, os.Chtimes(stale, old, old))
		must(t, os.Chtimes(held, old, old))
		h, err := os.Open(held)
		must(t, err)
		defer h.Close()
		must(t, unix.Flock(int(h.Fd()), unix.LOCK_EX)) // a live writer's
		if code, _, stderr := sf(t, dir, "-runs", "1", "-timeout", tmo, "/bin/true"); code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		for p, want := range map[string]bool{stale: false, held: true, fresh: true} {
			if _, err := os.Stat(p); (err == nil) != want {
				t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
			}
		}
	})
	t.Run("replay DIR streams", func(t *testing.T) {
		dir := t.TempDir()
		sum, err := fileSHA("/bin/true")
		must(t, err)
		// Seeds of 100000 decisions each (3 MiB of text, about 10 MiB
		// parsed): replay checks them all, then replays each (they
		// diverge at once).
		var b strings.Builder
		b.WriteString("schedfuzz seed v1\ntarget: \"/bin/true\"\nsha256: " + sum + "\nseed: 1\nstrategy: random\noutcome: exit 1\ndecisions: 100000\n")
		for i := 0; i < 100000; i++ {
			b.WriteString("pick 1 of 0,1 @t0:write#99999\n")
		}
		b.WriteString("end\n")
		one := filepath.Join(dir, "one")
		many := filepath.Join(dir, "many")
		must(t, os.MkdirAll(one, 0o755))
		must(t, os.MkdirAll(many, 0o755))
		must(t, os.WriteFile(filepath.Join(one, "s.seed"), []byte(b.String()), 0o644))
		for i := 0; i < 6; i++ {
			must(t, os.WriteFile(filepath.Join(many, "s"+strconv.Itoa(i)+".seed"), []byte(b.String()), 0o644))
		}
		rss := func(d string) int64 {
			cmd := exec.Command(sfBinary, "replay", "-timeout", tmo, d)
			// A small GOGC: the heap's peak is then close to what is
			// live, not up to twice it, whenever the collector runs.
			cmd.Env = append(os.Environ(), "GOGC=25")
			out, _ := cmd.CombinedOutput()
			if cmd.ProcessState.ExitCode() != 125 {
				t.Fatalf("replay %s: exit %d\n%.2000s", d, cmd.ProcessState.ExitCode(), out[max(0, len(out)-2000):])
			}
			return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
		}
		r1, r6 := rss(one), rss(many)
		t.Logf("max RSS: replay of 1 seed %d KiB, of 6 seeds %d KiB", r1, r6)
		// Holding every parsed seed would take about 6 seeds more than
		// the program itself: twice one seed's replay at least.
		if r6 > r1*8/5 {
			t.Errorf("replay of 6 seeds took %d KiB, of one %d KiB: seeds are held, not streamed", r6, r1)
		}
	})
}
