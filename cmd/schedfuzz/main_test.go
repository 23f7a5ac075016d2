package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/internal/testprog"
)

var sfBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "schedfuzz-cli")
	if err != nil {
		panic(err)
	}
	sfBinary = filepath.Join(dir, "schedfuzz")
	if out, err := exec.Command("go", "build", "-o", sfBinary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sf runs the schedfuzz binary in dir.
func sf(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return sfWith(t, dir, nil, args...)
}

// sfWith runs the schedfuzz binary in dir with environment env (nil: the
// test's own).
func sfWith(t *testing.T, dir string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(sfBinary, args...)
	cmd.Dir, cmd.Env = dir, env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), o.String(), e.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, o.String(), e.String()
}

func buildExample(t *testing.T, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	buildC(t, filepath.Join("..", "..", "corpus", "examples", name+".c"), out)
	return out
}

func TestFindReplayCycle(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildExample(t, dir, "lost_update")
	code, _, stderr := sf(t, dir, "-runs", "1000", "-seed", "5", prog)
	if code != 1 {
		t.Fatalf("run: exit %d, want 1\n%s", code, stderr)
	}
	for _, want := range []string{"seed 0x0000000000000005", "WARNING: SCHEDFUZZ: exit 1", "counter=", "replay: schedfuzz replay testdata/schedfuzz/"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("run output lacks %q:\n%s", want, stderr)
		}
	}
	file := regexp.MustCompile(`replay: schedfuzz replay (\S+)`).FindStringSubmatch(stderr)[1]
	seed, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(seed, []byte("schedfuzz seed v1\n")) {
		t.Fatalf("seed file does not start with the magic line:\n%s", seed)
	}
	for i := 0; i < 10; i++ {
		code, out, stderr := sf(t, dir, "replay", file)
		if code != 1 || !strings.Contains(stderr, "reproduced: exit 1") || !strings.Contains(out, "counter=") {
			t.Fatalf("replay %d: exit %d\n%s%s", i, code, out, stderr)
		}
	}
	// A rebuilt target no longer matches the recorded SHA-256: 125.
	if err := os.WriteFile(prog, append(mustRead(t, prog), 0), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := sf(t, dir, "replay", file); code != 125 || !strings.Contains(stderr, "changed since the seed was recorded") {
		t.Fatalf("replay of a changed target: exit %d\n%s", code, stderr)
	}
}

func TestReplayDivergence(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildExample(t, dir, "lost_update")
	code, _, stderr := sf(t, dir, "-runs", "1000", "-seed", "9", prog)
	if code != 1 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	file := regexp.MustCompile(`replay: schedfuzz replay (\S+)`).FindStringSubmatch(stderr)[1]
	data := mustRead(t, filepath.Join(dir, file))
	// Claim that a different set of threads was runnable at the first
	// decision: replay must refuse and say where.
	edited := regexp.MustCompile(`(?m)^(pick \d+ of [\d,]+)`).ReplaceAll(data, []byte("${1},97"))
	if err := os.WriteFile(filepath.Join(dir, "edited.seed"), edited, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = sf(t, dir, "replay", "edited.seed")
	if code != 125 || !strings.Contains(stderr, "replay diverged at decision 0") || !strings.Contains(stderr, "options differ") {
		t.Fatalf("diverging replay: exit %d\n%s", code, stderr)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "noexec"), []byte("#!/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "garbage"), []byte("not a program"), 0o755)
	os.WriteFile(filepath.Join(dir, "bad.seed"), []byte("schedfuzz seed v2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "trunc.seed"), []byte("schedfuzz seed v1\ntarget: \"/bin/true\"\ndecisions: 3\npick 0 of 0,1 @t0:write\n"), 0o644)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{}, 2, "usage"},
		{[]string{"-runs", "0", "/bin/true"}, 2, "-runs 0 needs -time"},
		{[]string{"-seed", "zz", "/bin/true"}, 2, "-seed \"zz\""},
		{[]string{"./does-not-exist"}, 127, "no such file"},
		{[]string{"no-such-command-anywhere"}, 127, "command not found"},
		{[]string{"./noexec"}, 126, "not executable"},
		{[]string{"./garbage"}, 2, "not an x86-64 ELF"},
		{[]string{"replay"}, 2, "usage"},
		{[]string{"replay", "missing.seed"}, 2, "no such file"},
		{[]string{"replay", "bad.seed"}, 2, "unsupported seed file version"},
		{[]string{"replay", "trunc.seed"}, 2, "truncated"},
		{[]string{"trace"}, 2, "usage"},
		{[]string{"trace", "-e", "nosuchcall", "/bin/true"}, 2, "unknown syscall"},
		{[]string{"trace", "./does-not-exist"}, 127, "no such file"},
	}
	for _, c := range cases {
		code, _, stderr := sf(t, dir, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("schedfuzz %v: exit %d, want %d with %q; stderr:\n%s", c.args, code, c.code, c.msg, stderr)
		}
		if strings.Contains(stderr, "panic") || strings.Count(strings.TrimSpace(stderr), "\n") > 20 {
			t.Errorf("schedfuzz %v: not a clean error:\n%s", c.args, stderr)
		}
	}
}

func TestTrace(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := testprog.Build(t, "threads_pipe")
	code, stdout, stderr := sf(t, dir, "trace", prog)
	if code != 0 || !strings.Contains(stdout, "done") {
		t.Fatalf("trace: exit %d\n%s", code, stderr)
	}
	// Lines from both worker threads: the writer's and the reader's.
	writers := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\[(\d+)\] write\(`).FindAllStringSubmatch(stderr, -1) {
		writers[m[1]] = true
	}
	if len(writers) < 2 {
		t.Errorf("trace shows writes from %d threads, want 2:\n%s", len(writers), stderr)
	}
	if !regexp.MustCompile(`(?m)^\[\d+\] write\(4, "ping 1\\n", 7\) = 7$`).MatchString(stderr) {
		t.Errorf("no decoded pipe write:\n%s", stderr)
	}
	if !strings.Contains(stderr, "+++ exited with 0 +++") {
		t.Errorf("no exit line:\n%s", stderr)
	}
	// The reader's read(2) shows its out-buffer, decoded at the exit.
	if !regexp.MustCompile(`(?m)^\[\d+\] read\(\d+, "ping 1\\n[^"]*"(\.\.\.)?, 256\) = \d+$`).MatchString(stderr) {
		t.Errorf("no decoded pipe read:\n%s", stderr)
	}
	// Both threads were made with clone3 (or clone) with thread flags,
	// and each new tid shows up with lines of its own.
	clones := regexp.MustCompile(`(?m)^\[\d+\] (?:clone3\(\{flags=|clone\(child_stack=0x[0-9a-f]+, flags=)CLONE_VM\|CLONE_FS\|CLONE_FILES\|CLONE_SIGHAND\|CLONE_THREAD\|.*\) = (\d+)$`).FindAllStringSubmatch(stderr, -1)
	if len(clones) != 2 {
		t.Errorf("%d thread clones, want 2:\n%s", len(clones), stderr)
	}
	for _, m := range clones {
		if !strings.Contains(stderr, "\n["+m[1]+"] ") {
			t.Errorf("no lines from the new thread %s", m[1])
		}
	}

	// Exit status and death by signal pass through.
	if code, _, _ := sf(t, dir, "trace", testprog.Build(t, "exit_code"), "7"); code != 7 {
		t.Errorf("trace exit_code 7: exit %d", code)
	}
	if code, _, stderr := sf(t, dir, "trace", testprog.Build(t, "segv")); code != 128+11 || !strings.Contains(stderr, "killed by SIGSEGV") {
		t.Errorf("trace segv: exit %d\n%s", code, stderr)
	}

	// An int $0x80 call is named from the i386 table, not taken for the
	// x86-64 call of the same number (20 is writev there).
	if code, _, stderr := sf(t, dir, "trace", testprog.Build(t, "int80")); code != 0 || !regexp.MustCompile(`(?m)^\[\d+\] i386:getpid\(\) = \d+$`).MatchString(stderr) {
		t.Errorf("trace int80: exit %d\n%s", code, stderr)
	}

	// -e limits what is traced; -o writes to a file; -c summarizes.
	out := filepath.Join(dir, "trace.out")
	if code, _, _ := sf(t, dir, "trace", "-e", "write", "-o", out, prog); code != 0 {
		t.Fatalf("trace -e -o: exit %d", code)
	}
	text := string(mustRead(t, out))
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.Contains(line, "] write(") && !strings.Contains(line, "+++") {
			t.Errorf("-e write let through: %q", line)
		}
	}
	if !strings.Contains(text, "write(") {
		t.Errorf("-o file has no writes:\n%s", text)
	}
	code, _, stderr = sf(t, dir, "trace", "-c", prog)
	if code != 0 || !regexp.MustCompile(`(?m)^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+\d*\s*write$`).MatchString(stderr) || !strings.Contains(stderr, "total") {
		t.Errorf("trace -c: exit %d\n%s", code, stderr)
	}
}

// TestTraceDecodes checks the decoded arguments of a real run: a guest
// making one of each kind of call (testdata/decode.c).
func TestTraceDecodes(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "decode")
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", prog, filepath.Join("testdata", "decode.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	out := filepath.Join(dir, "trace.out")
	code, stdout, stderr := sf(t, dir, "trace", "-o", out, prog)
	if code != 0 || stdout != "decode done\n" {
		t.Fatalf("trace decode: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	text := string(mustRead(t, out))
	find := func(re string) []string {
		t.Helper()
		m := regexp.MustCompile(`(?m)^\[(\d+)\] ` + re + `$`).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("no line matching %s", re)
			return make([]string, 10)
		}
		return m
	}
	q := regexp.QuoteMeta
	find(q(`openat(AT_FDCWD, "/dev/null", O_RDONLY|O_CLOEXEC) = `) + `\d+`)
	pipe := find(q(`pipe2([`) + `(\d+), (\d+)` + q(`], O_NONBLOCK|O_CLOEXEC) = 0`))
	find(q(`write(` + pipe[3] + `, "decode-me\n", 10) = 10`))
	find(q(`read(` + pipe[2] + `, "decode-me\n", 64) = 10`))
	find(q(`socketpair(AF_UNIX, SOCK_STREAM, 0, [`) + `\d+, \d+` + q(`]) = 0`))
	sock := find(q(`socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = `) + `(\d+)`)
	find(q(`connect(`+sock[2]+`, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, 16) = `) + `.*`)
	find(q(`rt_sigprocmask(SIG_BLOCK, [INT TERM], NULL, 8) = 0`))
	find(q(`mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = `) + `0x[0-9a-f]+`)
	find(`(?:clock_nanosleep\(CLOCK_REALTIME, 0, |nanosleep\()` + q(`{tv_sec=0, tv_nsec=1000}, NULL) = 0`))
	// The thread: clone3 with its flags and the child's tid written back
	// (or clone on a libc without clone3), then the futex op by name
	// from the new thread.
	clone := find(`(?:clone3\(\{flags=|clone\(child_stack=0x[0-9a-f]+, flags=)CLONE_VM\|CLONE_FS\|CLONE_FILES\|CLONE_SIGHAND\|CLONE_THREAD\|CLONE_SYSVSEM\|CLONE_SETTLS\|CLONE_PARENT_SETTID\|CLONE_CHILD_CLEARTID.*\) = (\d+)`)
	if strings.Contains(clone[0], "clone3(") && !strings.Contains(clone[0], "=> {parent_tid=["+clone[2]+"]}, 88)") {
		t.Errorf("clone3 line without the written parent_tid %s: %s", clone[2], clone[0])
	}
	find(q(`futex(`) + `0x[0-9a-f]+` + q(`, FUTEX_WAKE_PRIVATE, 1) = `) + `[01]`)
	if m := regexp.MustCompile(`(?m)^\[(\d+)\] futex\(0x[0-9a-f]+, FUTEX_WAKE_PRIVATE, 1\)`).FindStringSubmatch(text); m != nil && m[1] != clone[2] {
		t.Errorf("futex wake from thread %s, want the new thread %s", m[1], clone[2])
	}
	find(q(`exit_group(0) = ?`))
	if t.Failed() {
		t.Logf("trace:\n%s", text)
	}

	// -e picks calls by name; -s limits the bytes shown.
	code, _, stderr = sf(t, dir, "trace", "-e", "write,futex", "-s", "4", prog)
	if code != 0 {
		t.Fatalf("trace -e -s: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, `write(1, "deco"..., 12) = 12`) || !strings.Contains(stderr, "FUTEX_WAKE_PRIVATE") {
		t.Errorf("trace -e write,futex -s 4:\n%s", stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !regexp.MustCompile(`^\[\d+\] (write|futex)\(|\+\+\+`).MatchString(line) {
			t.Errorf("-e write,futex let through: %q", line)
		}
	}
	if code, _, stderr := sf(t, dir, "trace", "-s", "0", prog); code != 2 || !strings.Contains(stderr, "-s must be positive") {
		t.Errorf("trace -s 0: exit %d\n%s", code, stderr)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
