package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// hermeticSrc is where the guests of these tests live.
const hermeticSrc = "testdata/hermetic"

// buildHermetic builds a guest of testdata/hermetic (C, or Go for .go)
// into dir.
func buildHermetic(t *testing.T, dir, src string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(hermeticSrc, src))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, strings.TrimSuffix(strings.TrimSuffix(src, ".c"), ".go"))
	if strings.HasSuffix(src, ".go") {
		cmd := exec.Command("go", "build", "-o", out, abs)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", src, err, b)
		}
		return out
	}
	buildC(t, abs, out)
	return out
}

// cpuHogs starts n busy loops until the test ends.
func cpuHogs(t *testing.T, n int) {
	for i := 0; i < n; i++ {
		hog := exec.Command("/bin/sh", "-c", "while :; do :; done")
		if err := hog.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			hog.Process.Kill()
			hog.Wait()
		})
	}
}

// TestLeftoverTempFiles: a C program (mkstemp) and a Go program
// (os.CreateTemp) that leave their temporary file in /tmp when they fail.
// Outside a sandbox a replay of the failure finds its own leftover, picks
// another name and diverges, and says so in the program's terms. In a
// sandbox the failure is found and every replay reproduces it, with the
// leftovers of earlier sessions in /tmp and two CPU hogs running.
func TestLeftoverTempFiles(t *testing.T) {
	testenv.RequirePtrace(t)
	for _, src := range []string{"leftover.c", "leftover.go"} {
		t.Run(src, func(t *testing.T) {
			dir := t.TempDir()
			prog := buildHermetic(t, dir, src)
			prefix := fmt.Sprintf("sf-leftover-%d-%s-", os.Getpid(), strings.TrimSuffix(src, filepath.Ext(src)))
			t.Cleanup(func() {
				left, _ := filepath.Glob("/tmp/" + prefix + "*")
				for _, f := range left {
					os.Remove(f)
				}
			})
			// Without a sandbox: the failing run leaves its file, and
			// the replay trips over it. (Syscall points: the replays
			// need not parse the Go binary's DWARF every time.)
			code, _, stderr := sf(t, dir, "-timeout", "60s", "-hermetic=false", "-points", "syscalls", "-p", "1", "-runs", "300", "-seed", "1", "-minimize=false", "-corpus", "shared", prog, prefix)
			if code != 1 {
				t.Fatalf("session without a sandbox: exit %d\n%s", code, stderr)
			}
			if left, _ := filepath.Glob("/tmp/" + prefix + "*"); len(left) == 0 {
				t.Fatalf("the failing run left no file in /tmp:\n%s", stderr)
			}
			file := replayLine.FindStringSubmatch(stderr)[1]
			code, _, stderr = sf(t, dir, "replay", "-timeout", "60s", file)
			if code != 125 || !regexp.MustCompile(`the program's behaviour first differed at t\d+ point \d+: open(at)?\(.*`+prefix+`.*\) returned -EEXIST \(recorded: \d+\); then replay diverged`).MatchString(stderr) {
				t.Fatalf("replay with the run's own leftover present: exit %d, want 125 and where the program first behaved differently:\n%s", code, stderr)
			}

			// In a sandbox, with those leftovers still in /tmp.
			code, _, stderr = sf(t, dir, "-timeout", "60s", "-points", "syscalls", "-p", "1", "-runs", "300", "-seed", "1", "-corpus", "hermetic", prog, prefix)
			if code != 1 {
				t.Fatalf("session in a sandbox: exit %d\n%s", code, stderr)
			}
			file = replayLine.FindStringSubmatch(stderr)[1]
			if seed := string(mustRead(t, filepath.Join(dir, file))); !strings.Contains(seed, "\nhermetic: yes\n") {
				t.Fatalf("the seed file does not say hermetic: yes:\n%s", seed)
			}
			cpuHogs(t, 2)
			for i := 0; i < 10; i++ {
				code, _, stderr := sf(t, dir, "replay", "-timeout", "60s", file)
				if code != 1 || !strings.Contains(stderr, "reproduced: exit 1") {
					t.Fatalf("replay %d in a sandbox: exit %d\n%s", i, code, stderr)
				}
			}
		})
	}
}

// TestFixedPortServer: 40 runs of a server on a fixed loopback port, two
// at a time, each run with a network of its own: all pass.
func TestFixedPortServer(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildHermetic(t, dir, "server.c")
	port := strconv.Itoa(40000 + os.Getpid()%20000)
	code, _, stderr := sf(t, dir, "-timeout", "60s", "-runs", "40", "-p", "2", "-seed", "1", prog, port)
	if code != 0 || !strings.Contains(stderr, "no failure in 40 runs") {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
}

// digests runs a session with -json and returns each run's digest.
func digests(t *testing.T, dir string, args ...string) map[string]string {
	t.Helper()
	code, stdout, stderr := sf(t, dir, append([]string{"-json", "-keep-going", "-timeout", "120s"}, args...)...)
	if code != 0 {
		t.Fatalf("%v: exit %d\n%s", args, code, stderr)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var e struct{ Action, Test, Digest string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		if e.Action == "run" {
			if len(e.Digest) != 64 {
				t.Fatalf("run line without a digest: %s", sc.Text())
			}
			out[e.Test] = e.Digest
		}
	}
	return out
}

// TestSameSeedSameDigests: two sessions with the same seed on
// multi-process programs (make -j4 on a small tree; a JVM thread pool if
// java is installed) make the same schedules, run by run.
func TestSameSeedSameDigests(t *testing.T) {
	testenv.RequirePtrace(t)
	make, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make not installed")
	}
	dir := t.TempDir()
	mf := "parts := a.o b.o c.o d.o e.o f.o\nout: $(parts)\n\t@cat $(parts) > out\n\t@wc -c < out\n%.o: %.src\n\t@tr a-z A-Z < $< > $@\n"
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte(mf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range "abcdef" {
		os.WriteFile(filepath.Join(dir, string(p)+".src"), []byte("part "+string(p)+"\n"), 0o644)
	}
	cases := [][]string{{"-runs", "8", "-p", "2", "-seed", "7", make, "-j4"}}
	if java, err := exec.LookPath("java"); err == nil {
		src := "public class Pool { public static void main(String[] a) throws Exception {\n" +
			"java.util.concurrent.ExecutorService ex = java.util.concurrent.Executors.newFixedThreadPool(4);\n" +
			"java.util.List<java.util.concurrent.Future<Integer>> fs = new java.util.ArrayList<>();\n" +
			"for (int i = 0; i < 8; i++) { final int k = i; fs.add(ex.submit(() -> k * k)); }\n" +
			"int s = 0; for (java.util.concurrent.Future<Integer> f : fs) s += f.get();\n" +
			"ex.shutdown(); System.out.println(s); } }\n"
		os.WriteFile(filepath.Join(dir, "Pool.java"), []byte(src), 0o644)
		if b, err := exec.Command("javac", "-d", dir, filepath.Join(dir, "Pool.java")).CombinedOutput(); err != nil {
			t.Fatalf("javac: %v\n%s", err, b)
		}
		// Chaos is left out: its timer and starvation decisions are
		// covered by the corpus tests; four runs of the others.
		cases = append(cases, []string{"-runs", "3", "-p", "2", "-seed", "3", "-strategy", "random,pct,pos", java, "-Xint", "-XX:+UseSerialGC", "Pool"})
	} else {
		t.Log("java not installed: the JVM case is skipped")
	}
	for _, args := range cases {
		a, b := digests(t, dir, args...), digests(t, dir, args...)
		if len(a) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: the sessions' digests differ:\n%v\n%v", filepath.Base(args[len(args)-1]), a, b)
		}
		decided := false
		for _, d := range a {
			decided = decided || d != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" // no decision
		}
		if !decided {
			t.Errorf("%v: no run made a decision", args)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Errorf("make's output reached the host's directory")
	}
}

// TestCheckDeterminism: -check-determinism finds runs that depend on
// /proc/uptime, or on a file every run changes outside its sandbox, and
// names the file.
func TestCheckDeterminism(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildHermetic(t, dir, "world.c")
	code, _, stderr := sf(t, dir, "-timeout", "60s", "-runs", "8", "-seed", "1", "-check-determinism", prog, "uptime")
	if code != 0 || !regexp.MustCompile(`-check-determinism: [1-8] of 8 checked runs were not deterministic`).MatchString(stderr) ||
		!strings.Contains(stderr, "the files it read from its world (one may have changed): /proc/uptime") {
		t.Fatalf("uptime: exit %d\n%s", code, stderr)
	}
	// The counter file lies outside the sandbox (not under /tmp, not in
	// the working directory).
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Skip("no cache directory for a file outside the sandbox")
	}
	os.MkdirAll(cache, 0o755)
	out, err := os.MkdirTemp(cache, "schedfuzz-test-")
	if err != nil {
		t.Skipf("no directory outside the sandbox: %v", err)
	}
	defer os.RemoveAll(out)
	counter := filepath.Join(out, "counter")
	code, _, stderr = sf(t, dir, "-timeout", "60s", "-p", "1", "-runs", "4", "-seed", "1", "-check-determinism=2", prog, "counter", counter)
	if code != 0 || !strings.Contains(stderr, "-check-determinism: 2 of 2 checked runs were not deterministic") ||
		!strings.Contains(stderr, "the run written "+counter+" outside its sandbox") ||
		!strings.Contains(stderr, "read from its world (one may have changed): "+counter) {
		t.Fatalf("counter: exit %d\n%s", code, stderr)
	}
	code, _, stderr = sf(t, dir, "-timeout", "60s", "-runs", "8", "-seed", "1", "-check-determinism", "/bin/sh", "-c", "echo a > /tmp/x; cat /tmp/x")
	if code != 0 || !strings.Contains(stderr, "all 8 checked runs replayed exactly") {
		t.Fatalf("a program that only writes in its sandbox: exit %d\n%s", code, stderr)
	}
}

// TestCPUFilesAndOutsideChanges: -cpus holds for every way of counting
// CPUs; a run that writes outside its sandbox says so in its report and
// seed file.
func TestCPUFilesAndOutsideChanges(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	prog := buildHermetic(t, dir, "world.c")
	if code, _, stderr := sf(t, dir, "-timeout", "60s", "-runs", "2", "-cpus", "3", prog, "cpus", "3"); code != 0 {
		t.Fatalf("-cpus 3: exit %d\n%s", code, stderr)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Skip("no cache directory for a file outside the sandbox")
	}
	os.MkdirAll(cache, 0o755)
	out, err := os.MkdirTemp(cache, "schedfuzz-test-")
	if err != nil {
		t.Skipf("no directory outside the sandbox: %v", err)
	}
	defer os.RemoveAll(out)
	target := filepath.Join(out, "made")
	code, _, stderr := sf(t, dir, "-timeout", "60s", "-runs", "1", "/bin/sh", "-c", "echo x > "+target+"; echo y > inside; echo z > /tmp/private; exit 4")
	if code != 1 || !strings.Contains(stderr, "Files the run changed outside its sandbox") || !strings.Contains(stderr, "  written "+target+"\n") ||
		strings.Contains(stderr, "inside\n") || strings.Contains(stderr, "/tmp/private") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	seed := string(mustRead(t, filepath.Join(dir, replayLine.FindStringSubmatch(stderr)[1])))
	if !strings.Contains(seed, "\noutside: written "+strconv.Quote(target)+"\n") {
		t.Fatalf("the seed file does not list the change:\n%s", seed)
	}
	if _, err := os.Stat(filepath.Join(dir, "inside")); err == nil {
		t.Errorf("a file written in the working directory reached the host")
	}
}

// TestStdinFile: -stdin gives the guest a file, recorded with its
// SHA-256; a replay reads it again, notes a changed one and refuses a
// missing one.
func TestStdinFile(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "input")
	os.WriteFile(in, []byte("fail\n"), 0o644)
	script := `read x; test "$x" != fail`
	code, _, stderr := sf(t, dir, "-timeout", "60s", "-runs", "2", "-stdin", "input", "/bin/sh", "-c", script)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	file := replayLine.FindStringSubmatch(stderr)[1]
	seed := string(mustRead(t, filepath.Join(dir, file)))
	if !strings.Contains(seed, "\nstdin: "+strconv.Quote(in)+"\nstdin-sha256: ") {
		t.Fatalf("the seed file does not record the input:\n%s", seed)
	}
	if code, _, stderr := sf(t, dir, "replay", "-timeout", "60s", file); code != 1 {
		t.Fatalf("replay: exit %d\n%s", code, stderr)
	}
	os.WriteFile(in, []byte("pass\n"), 0o644)
	if code, _, stderr := sf(t, dir, "replay", "-timeout", "60s", file); code != 0 || !strings.Contains(stderr, "changed since the seed was recorded") {
		t.Fatalf("replay with a changed input: exit %d\n%s", code, stderr)
	}
	os.Remove(in)
	if code, _, stderr := sf(t, dir, "replay", "-timeout", "60s", file); code != 125 || !strings.Contains(stderr, "cannot be read") {
		t.Fatalf("replay without the input: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := sf(t, dir, "-stdin", "missing", "/bin/true"); code != 2 {
		t.Fatalf("-stdin missing: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := sf(t, dir, "-net", "lan", "/bin/true"); code != 2 {
		t.Fatalf("-net lan: exit %d\n%s", code, stderr)
	}
}

// TestUnprivileged runs schedfuzz as an unprivileged user (nobody): it
// gets its namespaces through a user namespace of its own, finds a
// failure in a sandbox, and the replay reproduces it. Skipped where the
// test cannot switch users or the kernel refuses unprivileged user
// namespaces.
func TestUnprivileged(t *testing.T) {
	testenv.RequirePtrace(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and setpriv to become an unprivileged user")
	}
	dir, err := os.MkdirTemp("", "schedfuzz-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "schedfuzz")
	if b, err := os.ReadFile(sfBinary); err != nil || os.WriteFile(bin, b, 0o755) != nil {
		t.Fatal("copy schedfuzz")
	}
	prog := buildExample(t, dir, "lost_update")
	for _, p := range []string{dir, bin, prog} {
		os.Chmod(p, 0o755)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	nobody := func(args ...string) (int, string) {
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--", bin}, args...)...)
		cmd.Dir, cmd.Env = dir, []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	code, out := nobody("-timeout", "60s", "-runs", "1", "/bin/sh", "-c", "echo pid=$$ host=$(hostname) uid=$(id -u); exit 3")
	if strings.Contains(out, "hermetic runs unavailable") {
		t.Skipf("this machine gives an unprivileged user no namespaces:\n%s", out)
	}
	if code != 1 || !strings.Contains(out, "pid=2 host=schedfuzz uid=65534") {
		t.Fatalf("as nobody: exit %d\n%s", code, out)
	}
	code, out = nobody("-timeout", "60s", "-runs", "1000", "-seed", "5", "./lost_update")
	if code != 1 {
		t.Fatalf("as nobody: exit %d\n%s", code, out)
	}
	file := replayLine.FindStringSubmatch(out)[1]
	if seed := string(mustRead(t, filepath.Join(dir, file))); !strings.Contains(seed, "\nhermetic: yes\n") {
		t.Fatalf("the seed file does not say hermetic: yes:\n%s", seed)
	}
	if code, out := nobody("replay", "-timeout", "60s", file); code != 1 || !strings.Contains(out, "reproduced: exit 1") {
		t.Fatalf("replay as nobody: exit %d\n%s", code, out)
	}
}
