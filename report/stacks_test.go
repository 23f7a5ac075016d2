package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/report"
)

// failureOf finds a failure of the program at path (a session of at most
// 1000 runs), minimizes it, finds its critical pair and replays it with
// stacks (explore.ReplayStacks): the failure as schedfuzz reports it.
func failureOf(t *testing.T, path string) *report.Failure {
	t.Helper()
	tgt := &explore.Target{Path: path, Args: []string{path}}
	var found *explore.RunReport
	s := &explore.Session{Target: tgt, Seed: 1, Runs: 1000, Parallel: 1, Template: explore.Config{Timeout: 20 * time.Second},
		Report: func(r *explore.RunReport) bool {
			if r.Err != nil {
				t.Fatalf("run %d: %v", r.Index, r.Err)
			}
			if r.Verdict == explore.Fail {
				found = r
			}
			return found != nil
		}}
	if _, err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if found == nil {
		t.Fatalf("%s: no failure in 1000 runs", path)
	}
	cfg := explore.Config{Seed: found.Seed, Strategy: found.Strategy, Timeout: 20 * time.Second,
		Points: found.Result.Points, Spins: found.Result.Spins}
	m := &explore.Minimizer{Target: tgt, Config: cfg}
	ctx := context.Background()
	min, err := m.Minimize(ctx, found.Result)
	if err != nil {
		t.Fatal(err)
	}
	cause, err := m.RootCause(ctx, min)
	if err != nil || cause == nil {
		t.Fatalf("no critical pair: %v", err)
	}
	start := time.Now()
	r, err := explore.ReplayStacks(ctx, tgt, cfg, min.Result, cause)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failure in run %d, minimized in %d runs, replayed with stacks in %v", found.Index, min.Runs, time.Since(start).Round(time.Millisecond))
	return &report.Failure{Target: path, Run: found.Index, Result: r, Cause: cause, Stacks: r.Outcome.Stacks,
		Minimized: min.Items, Original: min.Original, Seed: "x.seed"}
}

// lineOf is the number of the first line of file containing marker.
func lineOf(t *testing.T, file, marker string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line with %q", file, marker)
	return 0
}

func build(t *testing.T, tool string, args ...string) {
	t.Helper()
	if b, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, b)
	}
}

// TestReportLocations: on real guests (C with and without -g, PIE and
// static, C++, Go) the critical pair's events are named by the
// program's function and, with line information, the racy line's
// file:line, in the text report, the -json fail event, JUnit's failure
// and the trace.
func TestReportLocations(t *testing.T) {
	testenv.RequirePtrace(t)
	lostC, _ := filepath.Abs("../corpus/examples/lost_update.c")
	accountCC, _ := filepath.Abs("testdata/account.cc")
	goMain, _ := filepath.Abs("testdata/golost/main.go")
	goCorpus, _ := filepath.Abs("../corpus/programs/go/lost_update/main.go")
	cases := []struct {
		name  string
		build func(t *testing.T, out string)
		src   string // "" without line information
		line  string // a marker on the racy line
		fn    string // the program's function
		// both: both events are at the line. Else only the first: in a
		// Go program the root cause may pair the write with a runtime
		// thread's event.
		both bool
	}{
		{"c-g-pie", func(t *testing.T, out string) {
			build(t, "gcc", "-O1", "-g", "-pie", "-fPIE", "-pthread", "-o", out, lostC)
		},
			lostC, "write(STDOUT_FILENO", "worker", true},
		{"c-nog-pie", func(t *testing.T, out string) { build(t, "gcc", "-O1", "-pie", "-fPIE", "-pthread", "-o", out, lostC) },
			"", "", "worker", true},
		{"c-g-static", func(t *testing.T, out string) { build(t, "gcc", "-O1", "-g", "-static", "-pthread", "-o", out, lostC) },
			lostC, "write(STDOUT_FILENO", "worker", true},
		{"c-nog-static", func(t *testing.T, out string) { build(t, "gcc", "-O1", "-static", "-pthread", "-o", out, lostC) },
			"", "", "worker", true},
		{"cxx", func(t *testing.T, out string) { build(t, "g++", "-O1", "-g", "-pthread", "-o", out, accountCC) },
			accountCC, "// the window", "bank::Account::deposit", true},
		{"go", func(t *testing.T, out string) {
			cmd := exec.Command("go", "build", "-o", out, goMain)
			cmd.Env = append(os.Environ(), "GOFLAGS=", "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, b)
			}
		}, goMain, "// the window", "main.worker", false},
		// syscall.Getpid is inlined into worker: the line is the call's
		// (the DWARF inline tree), not Getpid's body's.
		{"go-inlined", func(t *testing.T, out string) { build(t, "go", "build", "-o", out, goCorpus) },
			goCorpus, "syscall.Getpid() //", "main.worker", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog := filepath.Join(t.TempDir(), c.name)
			c.build(t, prog)
			f := failureOf(t, prog)
			pair, last := f.Locations()
			line := 0
			if c.src != "" {
				line = lineOf(t, c.src, c.line)
			}
			var text bytes.Buffer
			f.Text(&text)
			for i, l := range pair {
				if i == 1 && !c.both {
					break
				}
				if l.Func != c.fn || l.File != c.src || l.Line != line {
					t.Errorf("critical pair event %d: %s (thread %d, %s, stack %q), want %s() %s:%d\n%s",
						i+1, l.At(), l.Thread, l.Name, l.Stack, c.fn, c.src, line, text.String())
				}
			}
			if len(last) < len(f.Result.Outcome.Threads) {
				t.Errorf("%d locations for the threads' last points of %d threads", len(last), len(f.Result.Outcome.Threads))
			}
			want := c.fn + "()\n"
			if c.src != "" {
				want += "          " + c.src + ":" + itoa(line) + "\n"
			}
			if !strings.Contains(text.String(), want) {
				t.Errorf("text report lacks %q:\n%s", want, text.String())
			}
			// -json: the fail event carries the locations.
			var jb bytes.Buffer
			report.NewJSON(&jb).Emit(report.Event{Action: "fail", Pair: pair, Last: last})
			var ev struct{ Pair, Last []report.Location }
			if err := json.Unmarshal(jb.Bytes(), &ev); err != nil || len(ev.Pair) != 2 || ev.Pair[0].Func != c.fn || ev.Pair[0].Line != line ||
				len(ev.Pair[0].Stack) == 0 || len(ev.Last) == 0 {
				t.Errorf("-json fail event: %v\n%s", err, jb.String())
			}
			// JUnit: the message names the place, the failure text has the stacks.
			var xb bytes.Buffer
			report.JUnit(&xb, "prog", 1, 1, []report.JUnitCase{{Name: "sig", Message: f.Summary(), Details: text.String()}})
			var doc struct {
				Cases []struct {
					Failure struct {
						Message string `xml:"message,attr"`
						Text    string `xml:",chardata"`
					} `xml:"failure"`
				} `xml:"testsuite>testcase"`
			}
			if err := xml.Unmarshal(xb.Bytes(), &doc); err != nil || len(doc.Cases) != 1 ||
				!strings.Contains(doc.Cases[0].Failure.Message, pair[0].At()) || !strings.Contains(doc.Cases[0].Failure.Text, want) {
				t.Errorf("JUnit: %v\n%s", err, xb.String())
			}
			// The trace: the pair's points are marked with their places.
			var tb bytes.Buffer
			if err := f.Perfetto(&tb, c.name); err != nil {
				t.Fatal(err)
			}
			var tr struct {
				TraceEvents []struct {
					Cat  string         `json:"cat"`
					Tid  int            `json:"tid"`
					Args map[string]any `json:"args"`
				} `json:"traceEvents"`
				OtherData struct {
					CriticalPair []report.Location `json:"criticalPair"`
				} `json:"otherData"`
			}
			if err := json.Unmarshal(tb.Bytes(), &tr); err != nil {
				t.Fatal(err)
			}
			marked := 0
			for _, e := range tr.TraceEvents {
				if e.Cat == "point,critical" {
					marked++
					if n := e.Args["critical pair"]; n != 1.0 && !c.both {
						continue
					}
					if e.Args["func"] != c.fn || (c.src != "" && e.Args["file"] != c.src+":"+itoa(line)) {
						t.Errorf("trace: critical point %v", e.Args)
					}
				}
			}
			if marked != 2 || len(tr.OtherData.CriticalPair) != 2 || tr.OtherData.CriticalPair[0].Func != c.fn {
				t.Errorf("trace: %d critical points marked, metadata %+v", marked, tr.OtherData.CriticalPair)
			}
			if testing.Verbose() {
				t.Logf("%s\n%s", f.Summary(), text.String())
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
