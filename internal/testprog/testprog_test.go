package testprog

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// run executes argv natively with stdin, returning stdout, stderr and the
// wait status.
func run(t *testing.T, argv []string, stdin string) (string, string, syscall.WaitStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running %q: %v", argv, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%q timed out; stdout %q stderr %q", argv, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.Sys().(syscall.WaitStatus)
}

func TestCases(t *testing.T) {
	ids := map[string]bool{}
	for _, c := range Cases() {
		if ids[c.ID] {
			t.Fatalf("duplicate case ID %q", c.ID)
		}
		ids[c.ID] = true
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			path := Build(t, c.Name, c.Opts...)
			stdout, stderr, ws := run(t, c.Argv(path), c.Stdin)
			if err := c.Check(stdout, ws); err != nil {
				t.Error(err)
			}
			if stderr != "" {
				t.Errorf("stderr: %q", stderr)
			}
		})
	}
}

// Every program in src/ has at least one case.
func TestCasesCoverAllPrograms(t *testing.T) {
	names, err := Names()
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range Cases() {
		covered[c.Name] = true
	}
	for _, n := range names {
		if !covered[n] {
			t.Errorf("program %q has no Case", n)
		}
	}
	if len(names) < 14 {
		t.Errorf("only %d programs found: %v", len(names), names)
	}
}

func TestSigtermWait(t *testing.T) {
	t.Parallel()
	path := Build(t, "sigterm")
	cmd := exec.Command(path, "wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil || line != "waiting for SIGTERM\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	line, err = r.ReadString('\n')
	if err != nil || line != "caught SIGTERM\n" {
		t.Fatalf("second line %q, %v", line, err)
	}
	err = cmd.Wait()
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Exited() || ws.ExitStatus() != 3 {
		t.Fatalf("status %s (%v), want exit 3", describeStatus(ws), err)
	}
}

func hasInterp(t *testing.T, path string) bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}

func TestStaticOption(t *testing.T) {
	t.Parallel()
	static := Build(t, "static_hello", Static())
	dynamic := Build(t, "static_hello")
	if static == dynamic {
		t.Fatalf("static and dynamic builds share the path %s", static)
	}
	if hasInterp(t, static) {
		t.Errorf("%s has a PT_INTERP; want a static executable", static)
	}
	if !hasInterp(t, dynamic) {
		t.Errorf("%s has no PT_INTERP; want a dynamic executable", dynamic)
	}
	if goBin := Build(t, "go/goroutines"); hasInterp(t, goBin) {
		t.Errorf("Go guest %s is dynamically linked", goBin)
	}
}

func TestBuildCachedAndStable(t *testing.T) {
	t.Parallel()
	p1, err := BuildE("exit_code")
	if err != nil {
		t.Fatal(err)
	}
	fi1, err := os.Stat(p1)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := BuildE("exit_code.c")
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 {
		t.Errorf("exit_code and exit_code.c built to %s and %s", p1, p2)
	}
	if fi2, err := os.Stat(p2); err != nil || !os.SameFile(fi1, fi2) {
		t.Errorf("second build replaced the binary (%v)", err)
	}
	if !filepath.IsAbs(p1) || filepath.Base(p1) != "exit_code" {
		t.Errorf("unexpected path %s", p1)
	}
	if r, _ := filepath.EvalSymlinks(p1); r != p1 {
		t.Errorf("path %s is not symlink-free (%s)", p1, r)
	}
	p3, err := BuildE("exit_code", Flags("-DTESTPROG_UNIQUE=1"))
	if err != nil {
		t.Fatal(err)
	}
	if p3 == p1 {
		t.Errorf("Flags did not change the cache key")
	}
}

// Concurrent builders on an empty cache, bypassing the in-process memo (as
// separate test binaries would), all get the same complete binary.
func TestBuildConcurrentFreshCache(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	const n = 4
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { paths[i], errs[i] = buildIn(root, "exit_code", options{}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if paths[i] != paths[0] {
			t.Fatalf("builders disagree: %s vs %s", paths[i], paths[0])
		}
	}
	stdout, _, ws := run(t, []string{paths[0], "5"}, "")
	if stdout != "argc=2\narg1=5\n" || ws.ExitStatus() != 5 {
		t.Errorf("got %q, %s", stdout, describeStatus(ws))
	}
	// Only the binary is left in its directory: no temporary files.
	ents, err := os.ReadDir(filepath.Dir(paths[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("cache directory holds %v", names)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "nonexistent", "../testprog", "/bin/true", "go/", "go/nonexistent", "go/../x", "a/b"} {
		if p, err := BuildE(name); err == nil {
			t.Errorf("BuildE(%q) = %s, want error", name, p)
		}
	}
	_, err := BuildE("exit_code", Flags("-DTESTPROG_FAIL", "-include", "/nonexistent/testprog.h"))
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/testprog.h") {
		t.Errorf("compile error does not carry the compiler output: %v", err)
	}
}

func TestProcessesWithExe(t *testing.T) {
	t.Parallel()
	// A private copy, so other tests running upper don't interfere.
	path := Build(t, "upper", Flags("-DTESTPROG_PROC_TEST=1"))
	if got := ProcessesWithExe(path); len(got) != 0 {
		t.Fatalf("before start: %v", got)
	}
	cmd := exec.Command(path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if got := ProcessesWithExe(path); !slices.Equal(got, []int{cmd.Process.Pid}) {
		t.Errorf("while running: %v, want [%d]", got, cmd.Process.Pid)
	}
	// The process blocks in read(stdin) until we close it.
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := WaitNoProcessesWithExe(path, 5*time.Second); len(got) != 0 {
		t.Errorf("after exit: %v", got)
	}
}

func TestDescendantsAndGroups(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("/bin/sh", "-c", "sleep 30 & sleep 30 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sh := cmd.Process.Pid
	defer syscall.Kill(-sh, syscall.SIGKILL)

	var desc []int
	deadline := time.Now().Add(5 * time.Second)
	for {
		desc = Descendants(sh)
		if len(desc) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(desc) != 2 {
		t.Fatalf("Descendants(sh) = %v, want the two sleeps", desc)
	}
	mine := Descendants(os.Getpid())
	for _, p := range append([]int{sh}, desc...) {
		if !slices.Contains(mine, p) {
			t.Errorf("Descendants(self) = %v, missing %d", mine, p)
		}
	}
	if got, want := ProcessGroupMembers(sh), append([]int{sh}, desc...); !slices.Equal(got, sortedCopy(want)) {
		t.Errorf("ProcessGroupMembers = %v, want %v", got, want)
	}

	syscall.Kill(-sh, syscall.SIGKILL)
	cmd.Wait()
	// The sleeps are re-parented (and reaped by init), so they are no
	// longer our descendants.
	deadline = time.Now().Add(5 * time.Second)
	for {
		mine = Descendants(os.Getpid())
		left := slices.ContainsFunc(append([]int{sh}, desc...), func(p int) bool { return slices.Contains(mine, p) })
		if !left {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still descendants after kill: %v", mine)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sortedCopy(s []int) []int {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestNames(t *testing.T) {
	names, err := Names()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"threads_pipe", "int80", "upper", "go/goroutines"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v, missing %q", names, want)
		}
	}
}
