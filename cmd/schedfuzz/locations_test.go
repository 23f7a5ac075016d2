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
// names the racing lines (file:line: the read of the counter, the write(2)
// in the window or the write-back, as the points of the failing run
// place the critical pair) in the text report, the -json fail event, the
// JUnit failure and the trace, and writes a self-contained HTML page
// with the critical pair; `replay -html` writes one for the replayed run.
func TestReportNamesLines(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	src, err := filepath.Abs(filepath.Join("..", "..", "corpus", "examples", "lost_update.c"))
	if err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "lost_update")
	buildC(t, src, prog, "-g")
	// The read-modify-write: tmp = counter; write(...); counter = tmp + 1.
	racing := map[int]bool{}
	b, _ := os.ReadFile(src)
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "//") {
			continue
		}
		if strings.Contains(l, "int tmp = counter;") || strings.Contains(l, "write(STDOUT_FILENO") || strings.Contains(l, "counter = tmp + 1;") {
			racing[i+1] = true
		}
	}
	if len(racing) != 3 {
		t.Fatalf("lost_update.c: found the racing lines %v", racing)
	}
	// atRacing matches "worker() FILE:LINE" at a racing line.
	atRacing := regexp.MustCompile(`worker\(\)(?:\n +| )` + regexp.QuoteMeta(src) + `:(\d+)`)
	racingIn := func(s string) []string {
		var at []string
		for _, m := range atRacing.FindAllStringSubmatch(s, -1) {
			if n, _ := strconv.Atoi(m[1]); racing[n] {
				at = append(at, src+":"+m[1])
			}
		}
		return at
	}
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
	pairAt := racingIn(pair)
	if len(pairAt) != 2 {
		t.Fatalf("the critical pair is not named worker() at two racing lines %v:\n%s", racing, stderr)
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
	for i, l := range fail.Pair {
		if l.Func != "worker" || l.File+":"+strconv.Itoa(l.Line) != pairAt[i] || len(l.Stack) < 2 {
			t.Errorf("-json: pair event %+v, want worker() %s as the text says", l, pairAt[i])
		}
	}
	if j := string(mustRead(t, junit)); !strings.Contains(j, "at worker() "+pairAt[1]+" before thread") {
		t.Errorf("JUnit failure message does not name %s:\n%s", pairAt[1], j)
	}
	if tr := string(mustRead(t, trace)); !strings.Contains(tr, `"criticalPair"`) || !strings.Contains(tr, `"file":"`+pairAt[0]+`"`) {
		t.Errorf("trace does not name the critical pair at %s", pairAt[0])
	}
	checkPage(t, page, pairAt[0], true)

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
	at := racingIn(rerr)
	if len(at) == 0 {
		t.Fatalf("the replay's report does not name worker() at a racing line:\n%s", rerr)
	}
	checkPage(t, rpage, at[0], false)
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
