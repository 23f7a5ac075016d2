package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/report"
)

// TestReportNamesLines: schedfuzz on a racy C program built with -g
// names the racing line (file:line) in the text report, the -json fail
// event, the JUnit failure and the trace, and writes a self-contained
// HTML page with the critical pair; `replay -html` writes one for the
// replayed run.
func TestReportNamesLines(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	src, err := filepath.Abs(filepath.Join("..", "..", "corpus", "examples", "lost_update.c"))
	if err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "lost_update")
	buildC(t, src, prog, "-g")
	line := 0
	b, _ := os.ReadFile(src)
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "write(STDOUT_FILENO") {
			line = i + 1
			break
		}
	}
	at := src + ":" + strconv.Itoa(line)
	page := filepath.Join(dir, "report.html")
	junit := filepath.Join(dir, "junit.xml")
	trace := filepath.Join(dir, "trace.json")
	code, stdout, stderr := sf(t, dir, "-runs", "1000", "-seed", "1", "-p", "1", "-json", "-html", page, "-junit", junit, "-trace", trace,
		"-corpus", filepath.Join(dir, "seeds"), prog)
	if code != exitFound {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	// The text report: the pair's events in the race detector's layout.
	pair := regexp.MustCompile(`(?s)Critical pair:.*?\n\n`).FindString(stderr)
	if strings.Count(pair, "      worker()\n          "+at+"\n") != 2 {
		t.Errorf("the critical pair is not named worker() %s twice:\n%s", at, stderr)
	}
	// -json: the fail event's Pair.
	var fail *report.Event
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e report.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("-json line %q: %v", l, err)
		}
		if e.Action == "fail" {
			fail = &e
		}
	}
	if fail == nil || len(fail.Pair) != 2 || len(fail.Last) == 0 {
		t.Fatalf("-json: fail event %+v", fail)
	}
	for _, l := range fail.Pair {
		if l.Func != "worker" || l.File != src || l.Line != line || len(l.Stack) < 2 {
			t.Errorf("-json: pair event %+v, want worker() %s", l, at)
		}
	}
	if j := string(mustRead(t, junit)); !strings.Contains(j, "at worker() "+at+" before thread") {
		t.Errorf("JUnit failure message does not name %s:\n%s", at, j)
	}
	if tr := string(mustRead(t, trace)); !strings.Contains(tr, `"criticalPair"`) || !strings.Contains(tr, `"file":"`+at+`"`) {
		t.Errorf("trace does not name the critical pair at %s", at)
	}
	checkPage(t, page, at, true)

	// replay -html: the replayed run's page, its threads' stacks.
	seed := replayLine.FindStringSubmatch(stderr)
	if seed == nil {
		t.Fatalf("no replay line:\n%s", stderr)
	}
	rpage := filepath.Join(dir, "replay.html")
	code, _, rerr := sf(t, dir, "replay", "-html", rpage, seed[1])
	if code != exitFound {
		t.Fatalf("replay -html: exit %d\n%s", code, rerr)
	}
	if !strings.Contains(rerr, "      worker()\n          "+at+"\n") {
		t.Errorf("the replay's report does not name worker() %s:\n%s", at, rerr)
	}
	checkPage(t, rpage, at, false)
	if code, _, rerr := sf(t, dir, "replay", "-html", rpage, filepath.Join(dir, "seeds")); code != exitUsage || !strings.Contains(rerr, "-html takes a seed file") {
		t.Errorf("replay -html DIR: exit %d\n%s", code, rerr)
	}
}

// checkPage checks an HTML report: there, self-contained (nothing
// fetched: no http(s) URL but the SVG namespace), naming at, and with
// the critical pair if pair.
func checkPage(t *testing.T, path, at string, pair bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("-html: %v", err)
	}
	page := string(b)
	if n := len(regexp.MustCompile(`https?://`).FindAllString(page, -1)); n != strings.Count(page, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Errorf("%s refers to %d URLs beyond the SVG namespace", path, n)
	}
	if regexp.MustCompile(`(?i)(<script[^>]+src|<link|<img|@import|url\()`).MatchString(page) {
		t.Errorf("%s loads an external resource", path)
	}
	for _, want := range []string{"<svg", at, "schedfuzz replay "} {
		if !strings.Contains(page, want) {
			t.Errorf("%s lacks %q", path, want)
		}
	}
	if pair && (!strings.Contains(page, `id="pair1"`) || !strings.Contains(page, `id="pair2"`) || strings.Count(page, `class="pairmark"`) != 2) {
		t.Errorf("%s does not show the critical pair", path)
	}
}
