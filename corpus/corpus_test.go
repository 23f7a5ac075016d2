package corpus

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nativeTimeout bounds one native run: a deadlocked program hangs, and a
// hang counts as a failed run.
const nativeTimeout = 10 * time.Second

// nativeParallel is how many native runs of one program run at once.
const nativeParallel = 4

// maxNativeFailureRate: the bug must be rare natively (the correct
// behaviour is the common case).
const maxNativeFailureRate = 0.20

// walkFiles lists the regular files under fsys, sorted.
func walkFiles(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// TestManifest: Programs lists exactly the files in programs/ (on disk and
// embedded), with consistent names, and each source's header documents the
// bug, the window, the failure and the manifest's correct output.
func TestManifest(t *testing.T) {
	ps := Programs()
	var want []string
	names := map[string]bool{}
	for _, p := range ps {
		want = append(want, p.Source)
		if names[p.Name] {
			t.Errorf("duplicate program name %q", p.Name)
		}
		names[p.Name] = true
	}
	slices.Sort(want)
	if disk := walkFiles(t, os.DirFS("programs")); !slices.Equal(disk, want) {
		t.Errorf("programs/ holds\n\t%q\nthe manifest lists\n\t%q", disk, want)
	}
	if emb := walkFiles(t, Sources()); !slices.Equal(emb, want) {
		t.Errorf("embedded sources\n\t%q\nthe manifest lists\n\t%q", emb, want)
	}
	if !slices.IsSortedFunc(ps, func(a, b Program) int { return boolCmp(a.Go, b.Go) }) {
		t.Errorf("C programs should come before Go programs")
	}

	outRE := regexp.MustCompile(`Correct output \(stdout\): ("(?:[^"\\]|\\.)*")`)
	for _, p := range ps {
		t.Run(p.BinaryName(), func(t *testing.T) {
			wantSrc := p.Name + ".c"
			if p.Go {
				wantSrc = p.Name + "/main.go"
				if !strings.HasPrefix(p.Name, "go/") {
					t.Errorf("Go program %q: name should start with go/", p.Name)
				}
			}
			if p.Source != wantSrc {
				t.Errorf("Source = %q, want %q", p.Source, wantSrc)
			}
			if p.Failure != "exit 1" && p.Failure != "deadlock" && p.Failure != "signal SIGABRT" && p.Failure != "signal SIGSEGV" {
				t.Errorf("Failure = %q", p.Failure)
			}
			if p.Bug == "" || p.Window == "" || p.Stdout == "" || !strings.HasSuffix(p.Stdout, "\n") {
				t.Errorf("incomplete entry: %+v", p)
			}
			if q, ok := Lookup(p.Name); !ok || q.Source != p.Source {
				t.Errorf("Lookup(%q) = %+v, %v", p.Name, q, ok)
			}
			src, err := SourceText(p)
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(src, []byte("\n")); n >= 80 {
				t.Errorf("%d lines, want < 80", n)
			}
			header := string(src[:bytes.Index(src, []byte("\npackage "))+1])
			if !p.Go {
				header = string(src[:bytes.Index(src, []byte("\n#"))+1])
			}
			for _, key := range []string{"Bug:", "Window:", "Failure:", "Correct output (stdout):"} {
				if !strings.Contains(header, key) {
					t.Errorf("header comment lacks %q", key)
				}
			}
			if m := outRE.FindStringSubmatch(header); m == nil {
				t.Errorf("header comment has no quoted correct output")
			} else if out, err := strconv.Unquote(m[1]); err != nil || out != p.Stdout {
				t.Errorf("header documents output %s, manifest says %q", m[1], p.Stdout)
			}
		})
	}
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// buildAll builds every program (in parallel) and returns their paths.
func buildAll(t *testing.T) map[string]string {
	t.Helper()
	ps := Programs()
	paths := make([]string, len(ps))
	errs := make([]error, len(ps))
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { paths[i], errs[i] = Build(p, dir) })
	}
	wg.Wait()
	m := map[string]string{}
	for i, p := range ps {
		if errs[i] != nil {
			t.Errorf("build %s: %v", p.Name, errs[i])
			continue
		}
		m[p.Name] = paths[i]
	}
	if t.Failed() {
		t.FailNow()
	}
	return m
}

func TestBuild(t *testing.T) {
	paths := buildAll(t)
	for _, p := range Programs() {
		path := paths[p.Name]
		if filepath.Base(path) != p.BinaryName() || !filepath.IsAbs(path) {
			t.Errorf("%s: built at %s", p.Name, path)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s: %v, mode %v", p.Name, err, fi.Mode())
		}
		cached, err := Build(p, "")
		if err != nil {
			t.Fatal(err)
		}
		if !same(cached, path) && !sameContent(t, cached, path) {
			t.Errorf("%s: %s and the cached %s differ", p.Name, path, cached)
		}
	}
}

func sameContent(t *testing.T, a, b string) bool {
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(da, db)
}

// TestBuildConcurrent: builders racing on an empty cache (as parallel test
// processes do) all succeed and publish one working binary.
func TestBuildConcurrent(t *testing.T) {
	root := t.TempDir()
	p, _ := Lookup("atomicity_violation")
	key, src, err := cacheKey(p)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { paths[i], errs[i] = buildInto(root, key, p, src) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if paths[i] != paths[0] {
			t.Errorf("builder %d published %s, builder 0 %s", i, paths[i], paths[0])
		}
	}
	ents, err := os.ReadDir(filepath.Dir(paths[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("cache directory holds %v, want only the binary", ents)
	}
	if out, err := exec.Command(paths[0]).Output(); err == nil && string(out) != p.Stdout {
		t.Errorf("cached binary printed %q", out)
	}
}

type nativeResult struct {
	ok     bool
	how    string // "exit 0", "exit 1", "timeout", "signal ..."
	stdout string
	stderr string
}

func runNative(path string, args []string) nativeResult {
	ctx, cancel := context.WithTimeout(context.Background(), nativeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := nativeResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.how = "timeout"
	case err == nil:
		r.ok, r.how = true, "exit 0"
	case errors.As(err, &ee) && ee.Exited():
		r.how = "exit " + strconv.Itoa(ee.ExitCode())
	case errors.As(err, &ee):
		r.how = "signal: " + ee.String()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.how = "signal " + unix.SignalName(ws.Signal()) // as explore.Result.Describe says
		}
	default:
		r.how = err.Error()
	}
	return r
}

// TestNative runs every program natively, nativeParallel runs at a time,
// and checks that the bug is rare (the correct behaviour is the common
// case) and that correct runs print the documented output. A native
// deadlock shows as a run killed at nativeTimeout and counts as failed.
func TestNative(t *testing.T) {
	runs := 200
	if testing.Short() {
		runs = 20
	}
	paths := buildAll(t)
	for _, p := range Programs() {
		t.Run(p.BinaryName(), func(t *testing.T) {
			results := make([]nativeResult, runs)
			next := make(chan int)
			var wg sync.WaitGroup
			for range nativeParallel {
				wg.Go(func() {
					for i := range next {
						results[i] = runNative(paths[p.Name], p.Args)
					}
				})
			}
			start := time.Now()
			for i := range runs {
				next <- i
			}
			close(next)
			wg.Wait()

			failed := map[string]int{}
			nfail := 0
			for _, r := range results {
				if r.ok {
					if r.stdout != p.Stdout {
						t.Errorf("correct run printed %q, want %q", r.stdout, p.Stdout)
					}
					continue
				}
				nfail++
				failed[r.how]++
				want := p.Failure
				if want == "deadlock" {
					want = "timeout" // natively a deadlock is a hang
				}
				if r.how != want {
					t.Errorf("failing run ended by %s, want %s (stdout %q, stderr %q)",
						r.how, p.Failure, r.stdout, r.stderr)
				} else if r.how == "exit 1" && r.stderr == "" {
					t.Errorf("failing run (exit 1) said nothing on stderr")
				}
			}
			rate := float64(nfail) / float64(runs)
			t.Logf("native failure rate %d/%d = %.1f%% %v (%v)", nfail, runs, 100*rate, failed,
				time.Since(start).Round(time.Millisecond))
			if rate >= maxNativeFailureRate && p.TimingBug {
				t.Logf("native failure rate %.1f%% >= %.0f%%: a timing bug on a loaded machine (not asserted)", 100*rate, 100*maxNativeFailureRate)
			} else if rate >= maxNativeFailureRate {
				t.Errorf("native failure rate %.1f%% >= %.0f%%: the bug is not rare natively",
					100*rate, 100*maxNativeFailureRate)
			}
		})
	}
}
