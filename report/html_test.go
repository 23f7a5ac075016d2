package report_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept/stack"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/report"
	"github.com/schedfuzz/schedfuzz/sched"
)

// htmlFailure is recorded() with a critical pair whose events have
// stacks into a real source file.
func htmlFailure(t *testing.T) *report.Failure {
	src, err := filepath.Abs("../corpus/examples/lost_update.c")
	if err != nil {
		t.Fatal(err)
	}
	return &report.Failure{Target: "./lost_update", Run: 7, Result: recorded(), Seed: "testdata/schedfuzz/x.seed",
		Cause: &explore.Cause{First: explore.ThreadEvent{Thread: 1, Point: 2, Name: "write"}, Second: explore.ThreadEvent{Thread: 2, Point: 2, Name: "write"}},
		Stacks: []sched.PointStack{
			{Thread: 1, Point: 2, Name: "write", Frames: []stack.Frame{{Func: "write", Object: "/lib/libc.so.6"}, {Func: "worker", File: src, Line: 20}, {Func: "start_thread"}}},
			{Thread: 2, Point: 2, Name: "write", Frames: []stack.Frame{{Func: "worker", File: src, Line: 22}}},
		}}
}

func TestHTML(t *testing.T) {
	var b bytes.Buffer
	if err := htmlFailure(t).HTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		"exit 1", "New failure", "schedfuzz replay testdata/schedfuzz/x.seed",
		`id="pair1"`, `id="pair2"`, "thread 1: write (its scheduling point 2)",
		"worker() ", "lost_update.c:20", `class="hot"`, // the source line around the frame
		"<svg", `class="pairmark"`, "woke thread 0", "thread 2 runs until t2:futex",
		"WARNING: SCHEDFUZZ", "counter=5",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Self-contained: nothing is fetched.
	if m := regexp.MustCompile(`(?i)(<script[^>]+src|<link|<img|@import|url\()`).FindString(page); m != "" {
		t.Errorf("page loads an external resource: %q", m)
	}
	if n := strings.Count(page, "http"); n != strings.Count(page, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Errorf("page names %d URLs beyond the SVG namespace", n)
	}
	// Both critical-pair markers are on the timeline (thread 1's second
	// point ends its first stretch; so does thread 2's).
	if n := strings.Count(page, `class="pairmark"`); n != 2 {
		t.Errorf("%d critical-pair markers on the timeline, want 2", n)
	}
}

// TestHTMLInBrowser: headless Chromium renders the page of a real
// failure (lost_update.c built with -g, found, minimized, root-caused and
// replayed with stacks); the screenshot is not blank and shows the
// critical pair's colour, and the rendered DOM has the pair, its source
// line and the timeline. With SCHEDFUZZ_SCREENSHOT_OUT set, the
// screenshot is copied there.
func TestHTMLInBrowser(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("no Chromium installed (.ci/run installs Debian's chromium)")
	}
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	src, _ := filepath.Abs("../corpus/examples/lost_update.c")
	prog := filepath.Join(dir, "lost_update")
	build(t, "gcc", "-O1", "-g", "-pthread", "-o", prog, src)
	fail := failureOf(t, prog)
	pairAt := fmt.Sprintf("lost_update.c:%d", lineOf(t, src, "write(STDOUT_FILENO"))
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := fail.HTML(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	shot := filepath.Join(dir, "report.png")
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--window-size=1200,1400"}
	run := func(args ...string) []byte {
		cmd := exec.Command(browser, append(flags, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", browser, err, errb.String())
		}
		return out.Bytes()
	}
	run("--screenshot="+shot, "file://"+page)
	img := decodePNG(t, shot)
	colours, pair := map[uint32]bool{}, 0
	bnd := img.Bounds()
	for y := bnd.Min.Y; y < bnd.Max.Y; y += 2 {
		for x := bnd.Min.X; x < bnd.Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[(r>>8)<<16|(g>>8)<<8|b>>8] = true
			if near(r>>8, 0xd6) && near(g>>8, 0x33) && near(b>>8, 0x6c) {
				pair++
			}
		}
	}
	if len(colours) < 8 {
		t.Errorf("screenshot %s has %d colours: blank", shot, len(colours))
	}
	if pair < 50 {
		t.Errorf("screenshot %s: %d pixels of the critical pair's colour, want the pair shown", shot, pair)
	}
	dom := string(run("--dump-dom", "file://"+page))
	c := fail.Cause
	for _, want := range []string{"Critical pair", fmt.Sprintf("thread %d: write (its scheduling point %d)", c.First.Thread, c.First.Point),
		fmt.Sprintf("thread %d: write (its scheduling point %d)", c.Second.Thread, c.Second.Point), "pairmark", "worker() ", pairAt, `class="hot"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	t.Logf("screenshot: %s (%dx%d, %d colours, %d critical-pair pixels sampled)", shot, bnd.Dx(), bnd.Dy(), len(colours), pair)
	if keep := os.Getenv("SCHEDFUZZ_SCREENSHOT_OUT"); keep != "" {
		if b, err := os.ReadFile(shot); err == nil {
			os.WriteFile(keep, b, 0o644)
		}
	}
}

func near(a, b uint32) bool { return a+12 >= b && b+12 >= a }

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestTextStacks: the text report gives each critical-pair event its
// stack in the race detector's layout.
func TestTextStacks(t *testing.T) {
	f := htmlFailure(t)
	var b bytes.Buffer
	f.Text(&b)
	out := b.String()
	src := f.Stacks[0].Frames[1].File
	for _, want := range []string{
		"  thread 1: write (its scheduling point 2)\n      write()\n          /lib/libc.so.6 (pc 0x0)\n      worker()\n          " + src + ":20\n",
		"  thread 2: write (its scheduling point 2)\n      worker()\n          " + src + ":22\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
