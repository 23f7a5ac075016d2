package main

// Helpers of the reliability suite (reliability_test.go,
// reliability_signals_test.go): guests built once per test binary, a
// schedfuzz process the test can watch and signal, and the checks every
// case ends with (no guest left, every seed file complete and replayable,
// every error one clean line).

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/schedfuzz/schedfuzz/internal/testprog"
	"github.com/schedfuzz/schedfuzz/replay"
)

var (
	guestMu    sync.Mutex
	guestCache = map[string]string{}
	guestDir   string
)

// guest builds testdata/reliability/NAME.c (or one of the repository's
// other C files, by relative path) once per test binary and returns the
// binary's path. Each name gets its own file, so that
// testprog.ProcessesWithExe finds exactly the guests of that program.
func guest(t *testing.T, name string, flags ...string) string {
	t.Helper()
	guestMu.Lock()
	defer guestMu.Unlock()
	key := name + strings.Join(flags, " ")
	if p, ok := guestCache[key]; ok {
		return p
	}
	if guestDir == "" {
		d, err := os.MkdirTemp("", "schedfuzz-reliability")
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o755) // storms run as nobody
		guestDir = d
	}
	src := filepath.Join("testdata", "reliability", name+".c")
	if strings.Contains(name, "/") {
		src = name + ".c"
	}
	out := filepath.Join(guestDir, strings.NewReplacer("/", "_", ".", "_").Replace(key))
	args := append([]string{"-O1", "-pthread", "-o", out, src}, flags...)
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", name, err, b)
	}
	guestCache[key] = out
	return out
}

// lockedBuffer is an io.Writer the test may read while schedfuzz writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// sfProc is a schedfuzz process started by a test, in a process group of
// its own (a guard failure would signal that group, not the test's).
type sfProc struct {
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{}
	code           int
	exited         time.Time
}

func startSF(t *testing.T, dir string, args ...string) *sfProc {
	t.Helper()
	p := &sfProc{cmd: exec.Command(sfBinary, args...), done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.exited = time.Now()
		p.code = p.cmd.ProcessState.ExitCode()
		if ee, ok := err.(*exec.ExitError); ok && !ee.Exited() {
			p.code = -1 // killed by a signal
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

// tmo is the -timeout of the suite's explorations: a run's start-up on a
// loaded machine (seconds, behind other processes pinned to its CPU) must
// not be taken for a hang: such false hangs are another issue's, not
// what this suite checks.
const tmo = "60s"

// liveness bounds how long a test waits for something that must happen;
// reaching it is a hang, whatever the machine's load. Nothing asserts on
// shorter times.
const liveness = 60 * time.Second

// wait waits for the process to exit and returns its code, failing the
// test if it does not within the liveness bound.
func (p *sfProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(liveness):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		t.Fatalf("schedfuzz %v did not exit within %v\nstderr:\n%s", p.cmd.Args[1:], liveness, p.stderr.String())
		return 0
	}
}

// waitStderr waits until stderr matches re (or the process exits).
func (p *sfProc) waitStderr(t *testing.T, re string) bool {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(liveness)
	for time.Now().Before(deadline) {
		if rx.MatchString(p.stderr.String()) {
			return true
		}
		select {
		case <-p.done:
			return rx.MatchString(p.stderr.String())
		case <-time.After(2 * time.Millisecond):
		}
	}
	return false
}

// signal sends sig to schedfuzz itself (not its group: a Ctrl-C on a
// terminal would reach the guest too, but the guest runs in a group of
// its own).
func (p *sfProc) signal(sig syscall.Signal) { p.cmd.Process.Signal(sig) }

// waitFile waits until a file matching the glob exists.
func waitFile(glob string, p *sfProc) bool {
	deadline := time.Now().Add(liveness)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(glob); len(m) > 0 {
			return true
		}
		select {
		case <-p.done:
			m, _ := filepath.Glob(glob)
			return len(m) > 0
		case <-time.After(200 * time.Microsecond):
		}
	}
	return false
}

// checkNoGuest fails if a process running exe is left.
func checkNoGuest(t *testing.T, exe string) {
	t.Helper()
	if left := testprog.WaitNoProcessesWithExe(exe, 10*time.Second); len(left) > 0 {
		t.Errorf("guest processes of %s left: %v", filepath.Base(exe), left)
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// checkCorpus checks that every seed file under corpus is complete (it
// parses) and replays its recorded failure, and that no temporary file is
// left. It returns how many seeds there are.
func checkCorpus(t *testing.T, dir, corpus string) int {
	t.Helper()
	var tmps []string
	filepath.Walk(filepath.Join(dir, corpus), func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(info.Name(), ".tmp-") {
			tmps = append(tmps, p)
		}
		return nil
	})
	if len(tmps) > 0 {
		t.Errorf("temporary files left in the corpus: %v", tmps)
	}
	paths, err := replay.Store{Dir: filepath.Join(dir, corpus)}.Paths()
	if err != nil && !os.IsNotExist(err) && !strings.Contains(err.Error(), "no such file") {
		t.Fatal(err)
	}
	for _, p := range paths {
		if _, err := replay.Load(p); err != nil {
			t.Errorf("seed file incomplete: %v", err)
			continue
		}
		if code, _, stderr := sf(t, dir, "replay", "-timeout", "60s", p); code != 1 {
			t.Errorf("replay %s: exit %d, want 1\n%s", p, code, stderr)
		}
	}
	return len(paths)
}

// checkOneLine fails unless stderr is one line of at most 212 characters
// ("schedfuzz: " and a 200-rune message) without control characters.
func checkOneLine(t *testing.T, what, stderr string) {
	t.Helper()
	s := strings.TrimSuffix(stderr, "\n")
	if strings.Contains(s, "\n") || len([]rune(s)) > 212 {
		t.Errorf("%s: want one short line, got %d lines:\n%s", what, strings.Count(s, "\n")+1, stderr)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			t.Errorf("%s: control character %q in %q", what, r, s)
			break
		}
	}
}
