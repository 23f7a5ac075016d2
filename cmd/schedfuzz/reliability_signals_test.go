package main

// The reliability suite, continued: schedfuzz killed (SIGKILL) and
// interrupted (SIGINT) in every phase, storms under RLIMIT_NPROC, a
// corpus whose disk fills up, closed output streams, two sessions on one
// corpus. Every case ends with no guest process left and every seed file
// in the corpus complete and replayable.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/internal/testprog"
)

// phase is where in a session a signal lands: a moment to wait for.
type phase struct {
	name string
	// args are schedfuzz's arguments (guest paths filled in by the test).
	args func(slow, racy string) []string
	// reach waits until the session is in the phase; exe is the guest
	// whose processes must be gone afterwards.
	reach func(t *testing.T, p *sfProc, dir, exe string) bool
	found bool // a failure has been found by then
	exe   func(slow, racy string) string
}

func phases() []phase {
	slowArgs := func(slow, racy string) []string { return []string{"-runs", "100000", "-timeout", tmo, slow, "20000"} }
	racyArgs := func(slow, racy string) []string {
		return []string{"-runs", "100000", "-seed", "7", "-timeout", tmo, racy}
	}
	slowExe := func(slow, racy string) string { return slow }
	racyExe := func(slow, racy string) string { return racy }
	corpus := func(dir, glob string) string { return filepath.Join(dir, "testdata", "schedfuzz", glob) }
	return []phase{
		{name: "start-up", args: slowArgs, exe: slowExe,
			reach: func(t *testing.T, p *sfProc, dir, exe string) bool { return true }},
		{name: "first run starting", args: slowArgs, exe: slowExe,
			reach: func(t *testing.T, p *sfProc, dir, exe string) bool { return p.waitStderr(t, `schedfuzz: seed 0x`) }},
		{name: "mid-run", args: slowArgs, exe: slowExe,
			reach: func(t *testing.T, p *sfProc, dir, exe string) bool {
				deadline := time.Now().Add(liveness)
				for len(testprog.ProcessesWithExe(exe)) == 0 {
					if time.Now().After(deadline) {
						return false
					}
					time.Sleep(time.Millisecond)
				}
				time.Sleep(20 * time.Millisecond)
				return true
			}},
		{name: "saving", args: racyArgs, exe: racyExe, found: true,
			reach: func(t *testing.T, p *sfProc, dir, exe string) bool { return waitFile(corpus(dir, "*"), p) }},
		{name: "minimizing", args: racyArgs, exe: racyExe, found: true,
			reach: func(t *testing.T, p *sfProc, dir, exe string) bool { return waitFile(corpus(dir, "*/*.seed"), p) }},
	}
}

// TestReliabilityKill9: schedfuzz killed with SIGKILL at start-up, in a
// run, while it saves a seed and while it minimizes leaves no guest
// process, and every seed file it wrote is complete and replays.
func TestReliabilityKill9(t *testing.T) {
	testenv.RequirePtrace(t)
	slow := guest(t, "slow")
	racy := guest(t, "../../corpus/examples/lost_update")
	for _, ph := range phases() {
		t.Run(strings.ReplaceAll(ph.name, " ", "_"), func(t *testing.T) {
			for i := 0; i < 3; i++ {
				dir := t.TempDir()
				p := startSF(t, dir, ph.args(slow, racy)...)
				if !ph.reach(t, p, dir, ph.exe(slow, racy)) {
					t.Fatalf("phase %s not reached\n%s", ph.name, p.stderr.String())
				}
				time.Sleep(time.Duration(i) * time.Millisecond)
				p.signal(syscall.SIGKILL)
				p.wait(t)
				checkNoGuest(t, ph.exe(slow, racy))
				n := checkCorpus(t, dir, filepath.Join("testdata", "schedfuzz"))
				t.Logf("try %d: %d seed files", i, n)
			}
		})
	}
}

// TestReliabilitySIGINT: SIGINT in every phase ends schedfuzz promptly;
// no guest is left; a failure found before it is reported with exit 1
// and its seed saved, else the session says "interrupted" (exit 130).
func TestReliabilitySIGINT(t *testing.T) {
	testenv.RequirePtrace(t)
	slow := guest(t, "slow")
	racy := guest(t, "../../corpus/examples/lost_update")
	var mu sync.Mutex
	worst := time.Duration(0)
	for _, ph := range phases() {
		t.Run(strings.ReplaceAll(ph.name, " ", "_"), func(t *testing.T) {
			dir := t.TempDir()
			p := startSF(t, dir, ph.args(slow, racy)...)
			if !ph.reach(t, p, dir, ph.exe(slow, racy)) {
				t.Fatalf("phase %s not reached\n%s", ph.name, p.stderr.String())
			}
			sent := time.Now()
			p.signal(syscall.SIGINT)
			code := p.wait(t)
			took := p.exited.Sub(sent)
			mu.Lock()
			worst = max(worst, took)
			mu.Unlock()
			t.Logf("exited %v after SIGINT (exit %d)", took.Round(time.Millisecond), code)
			checkNoGuest(t, ph.exe(slow, racy))
			n := checkCorpus(t, dir, filepath.Join("testdata", "schedfuzz"))
			switch {
			case ph.found:
				if code != 1 || n == 0 || !strings.Contains(p.stderr.String(), "replay: schedfuzz replay ") {
					t.Errorf("a failure found before SIGINT: exit %d with %d seed files, want 1 and the seed saved\n%s", code, n, p.stderr.String())
				}
			case ph.name == "start-up" && code == -1:
				// Killed by SIGINT before the handler was set,
				// as any program: the shell says 130 too.
			default:
				if code != 130 || !regexp.MustCompile(`(?m)^schedfuzz: interrupted`).MatchString(p.stderr.String()) {
					t.Errorf("exit %d, want 130 and \"interrupted\"\n%s", code, p.stderr.String())
				}
			}
		})
	}
	t.Logf("slowest exit after SIGINT: %v", worst.Round(time.Millisecond))
}

// TestReliabilityStorms: fork and thread storms that run into
// RLIMIT_NPROC (as nobody: root is exempt) leave schedfuzz working: no
// failure reported, nothing left behind.
func TestReliabilityStorms(t *testing.T) {
	testenv.RequirePtrace(t)
	for _, tool := range []string{"setpriv", "prlimit"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (util-linux) to run schedfuzz as nobody under a process limit", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run schedfuzz as another user")
	}
	storm := guest(t, "storm")
	// schedfuzz's own copy, which nobody may run, and a directory
	// nobody may write.
	bin := filepath.Join(filepath.Dir(storm), "schedfuzz")
	if _, err := os.Stat(bin); err != nil {
		data := mustRead(t, sfBinary)
		must(t, os.WriteFile(bin, data, 0o755))
	}
	dir := t.TempDir()
	must(t, os.Chmod(dir, 0o777))
	for _, mode := range []string{"fork", "thread"} {
		t.Run(mode, func(t *testing.T) {
			run := func(args ...string) (int, string, string) {
				cmd := exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups",
					"prlimit", "--nproc=64:64", "--", bin}, args...)...)
				cmd.Dir = dir
				var out, errb lockedBuffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				must(t, cmd.Start())
				done := make(chan struct{})
				go func() { cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(liveness):
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-done
					t.Fatalf("%v did not exit\n%s", args, errb.String())
				}
				return cmd.ProcessState.ExitCode(), out.String(), errb.String()
			}
			code, _, stderr := run("-runs", "6", "-timeout", tmo, "-p", "2", "-corpus", "c-"+mode, storm, mode)
			if code != 0 {
				t.Errorf("exit %d, want 0\n%.3000s", code, stderr)
			}
			checkNoGuest(t, storm)
			code, stdout, stderr := run("trace", "-e", "exit_group", storm, mode)
			m := regexp.MustCompile(`made (\d+)`).FindStringSubmatch(stdout)
			if code != 0 || m == nil || m[1] == "2000" || m[1] == "0" {
				t.Errorf("trace: exit %d, the storm did not run into the limit:\n%s%.2000s", code, stdout, stderr)
			}
			checkNoGuest(t, storm)
		})
	}
}

// TestReliabilityFullDisk: a guest that fills the disk of the corpus
// directory (a 256 KiB tmpfs) and fails: its seed cannot be saved, and the
// report, the run's seed and a command that finds it again are printed
// (exit 1). With room again, that command finds and saves it.
func TestReliabilityFullDisk(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus")
	must(t, os.Mkdir(corpus, 0o755))
	if err := unix.Mount("tmpfs", corpus, "tmpfs", 0, "size=256k,mode=0755"); err != nil {
		t.Skipf("cannot mount a small tmpfs for the corpus (needs root): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(corpus, unix.MNT_DETACH) })
	fill := guest(t, "fill")
	// -p 1: a parallel run would truncate the filler while the seed is
	// saved.
	code, _, stderr := sf(t, dir, "-runs", "3", "-p", "1", "-timeout", tmo, "-corpus", corpus, fill, filepath.Join(corpus, "filler"))
	if code != 1 || !strings.Contains(stderr, "WARNING: SCHEDFUZZ: exit 1") || !strings.Contains(stderr, "wrote ") ||
		!strings.Contains(stderr, "the seed file was not saved") || !strings.Contains(stderr, "no space left on device") {
		t.Fatalf("exit %d, want 1 with the full report and why the seed is not saved\n%s", code, stderr)
	}
	m := regexp.MustCompile(`(?m)^rerun: (schedfuzz -seed 0x[0-9a-f]+ -runs \d+ .*)$`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no rerun command:\n%s", stderr)
	}
	checkNoGuest(t, fill)
	// Room again: the guest's megabyte and the seed fit.
	must(t, unix.Mount("", corpus, "", unix.MS_REMOUNT, "size=4m"))
	cmd := exec.Command("sh", "-c", m[1])
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(sfBinary)+":"+os.Getenv("PATH"))
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "replay: schedfuzz replay ") {
		t.Errorf("%s: exit %d, want the failure found and saved\n%s", m[1], cmd.ProcessState.ExitCode(), out)
	}
}

// TestReliabilityClosedStreams: a guest that closes its stdout and
// stderr runs as usual; schedfuzz with its own stdout and stderr closed
// still exits 1 on a failure and saves its seed.
func TestReliabilityClosedStreams(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	closeout := guest(t, "closeout")
	if code, _, stderr := sf(t, dir, "-runs", "20", "-timeout", tmo, closeout); code != 0 {
		t.Errorf("guest closing its streams: exit %d\n%s", code, stderr)
	}
	racy := guest(t, "../../corpus/examples/lost_update")
	cmd := exec.Command("sh", "-c", `exec "$0" -runs 1000 -timeout 60s -seed 5 -json -v "$1" >&- 2>&-`, sfBinary, racy)
	cmd.Dir = dir
	cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("schedfuzz with stdout and stderr closed: exit %d, want 1", code)
	}
	if n := checkCorpus(t, dir, filepath.Join("testdata", "schedfuzz")); n == 0 {
		t.Errorf("no seed saved")
	}
	checkNoGuest(t, racy)
}

// TestReliabilitySharedCorpus: two sessions saving into one corpus at
// once both report their failure; every seed is complete.
func TestReliabilitySharedCorpus(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	racy := guest(t, "../../corpus/examples/lost_update")
	ps := []*sfProc{startSF(t, dir, "-runs", "1000", "-timeout", tmo, "-seed", "11", racy), startSF(t, dir, "-runs", "1000", "-timeout", tmo, "-seed", "11", racy)}
	codes := []int{ps[0].wait(t), ps[1].wait(t)}
	if codes[0] != 1 || codes[1] != 1 {
		t.Errorf("exits %v, want 1 and 1", codes)
	}
	if n := checkCorpus(t, dir, filepath.Join("testdata", "schedfuzz")); n == 0 {
		t.Errorf("no seed saved")
	}
}
