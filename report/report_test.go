package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/report"
	"github.com/schedfuzz/schedfuzz/sched"
)

// recorded is a failing run as the scheduler reports it.
func recorded() *explore.Result {
	return &explore.Result{
		Seed:   0xbeef,
		Status: unix.WaitStatus(1 << 8),
		Stdout: []byte("......\ncounter=5\n"),
		Decisions: []sched.Decision{
			{Kind: sched.KindPick, Choice: 2, Options: []int{1, 2}, At: "t1:write"},
		},
		Outcome: sched.Outcome{
			Steps: 40, VirtualTime: 40000, Ender: 0,
			Threads: []sched.ThreadInfo{
				{Vtid: 0, Pid: 100, Parent: -1, Last: []string{"futex", "write", "exit_group", "exit"}, Points: 30, Exited: true},
				{Vtid: 1, Pid: 100, Parent: 0, Born: "t0:clone3", Last: []string{"start", "write", "exit"}, Points: 3, Exited: true},
				{Vtid: 2, Pid: 100, Parent: 0, Born: "t0:clone3", Last: []string{"start", "write", "exit"}, Points: 3, Exited: true},
			},
			Timeline: []sched.Span{
				{Thread: 0, Start: 0, End: 1000, Point: "t0:clone3", Woke: -1},
				{Thread: 1, Start: 1000, End: 2000, Point: "t1:write", Woke: -1},
				{Thread: 2, Start: 2000, End: 3000, Point: "t2:futex", Woke: -1},
				{Thread: 2, Start: 3000, End: 3000, Woke: 0},
				{Thread: -1, Start: 3500, End: 3500, Woke: 1},
				{Thread: 0, Start: 4000, End: 5000, Point: "t0:exit_group", Woke: -1},
				{Thread: 1, Start: 5000, End: 6000, Point: "t1:exit", Woke: -1},
			},
		},
	}
}

func TestText(t *testing.T) {
	r := recorded()
	f := &report.Failure{Target: "./lost_update", Run: 7, Result: r, Seed: "testdata/schedfuzz/x.seed", MinSeed: "testdata/schedfuzz/x-min.seed",
		Minimized: 1, Original: 9,
		Cause: &explore.Cause{First: explore.ThreadEvent{Thread: 1, Point: 2, Name: "write"}, Second: explore.ThreadEvent{Thread: 2, Point: 1, Name: "start"}}}
	var b bytes.Buffer
	f.Text(&b)
	out := b.String()
	for _, want := range []string{
		"WARNING: SCHEDFUZZ: exit 1 (New failure)",
		"signature: exit 1 @ write>exit_group",
		"run 7, seed 0x000000000000beef",
		"Critical pair",
		"thread 1: write (its scheduling point 2)",
		"thread 2: start (its scheduling point 1)",
		"Minimized: 1 forced preemptions or faults (from 9)",
		"Thread 2 created by thread 0 at t0:clone3",
		"Thread 0 is the program's first thread",
		"#30 exit\n  #29 exit_group",
		"counter=5",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; last != "replay: schedfuzz replay testdata/schedfuzz/x.seed" {
		t.Errorf("last line %q, want the replay command", last)
	}
}

func TestJUnit(t *testing.T) {
	var b bytes.Buffer
	err := report.JUnit(&b, "prog", 100, 1.5, []report.JUnitCase{
		{Name: "exit 1 @ write>exit_group", Runs: 3, First: 4, Seed: "a.seed", Message: "exit 1", Details: "report <&>"},
		{Name: "deadlock @ futex>futex", Runs: 1, First: 9, Seed: "b.seed", Message: "deadlock"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("invalid XML: %v\n%s", err, b.String())
	}
	s := doc.Suites[0]
	if s.Tests != 2 || s.Failures != 2 || s.Cases[0].Name != "exit 1 @ write>exit_group" || s.Cases[0].Failure.Text != "report <&>" {
		t.Fatalf("parsed %+v", doc)
	}
	b.Reset()
	report.JUnit(&b, "prog", 100, 1.5, nil)
	doc.Suites = nil
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil || doc.Suites[0].Tests != 1 || doc.Suites[0].Failures != 0 {
		t.Fatalf("clean session: %v %+v", err, doc)
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	j := report.NewJSON(&b)
	yes := true
	j.Emit(report.Event{Action: "start", Target: "prog", Seed: "0x1"})
	j.Emit(report.Event{Action: "fail", Test: "run/3", Outcome: "exit 1", New: &yes, File: "x.seed"})
	j.Emit(report.Event{Action: "done", Runs: 10, Failures: 1})
	var evs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		evs = append(evs, m)
	}
	if len(evs) != 3 || evs[1]["Action"] != "fail" || evs[1]["Test"] != "run/3" || evs[1]["New"] != true || evs[0]["Time"] == nil {
		t.Fatalf("events %v", evs)
	}
}

type chromeTrace struct {
	TraceEvents []struct {
		Name string         `json:"name"`
		Ph   string         `json:"ph"`
		Ts   float64        `json:"ts"`
		Dur  float64        `json:"dur"`
		Tid  int            `json:"tid"`
		ID   int            `json:"id"`
		Args map[string]any `json:"args"`
	} `json:"traceEvents"`
}

func checkTrace(t *testing.T, data []byte, threads int) chromeTrace {
	t.Helper()
	var tr chromeTrace
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatalf("invalid trace JSON: %v", err)
	}
	names, slices := map[int]bool{}, map[int]int{}
	starts, finishes := map[int]bool{}, map[int]bool{}
	for _, e := range tr.TraceEvents {
		switch e.Ph {
		case "M":
			if e.Name == "thread_name" {
				names[e.Tid] = true
			}
		case "X":
			slices[e.Tid]++
		case "s":
			starts[e.ID] = true
		case "f":
			finishes[e.ID] = true
		}
	}
	if len(names) != threads {
		t.Fatalf("%d named tracks, want %d", len(names), threads)
	}
	for id := range finishes {
		if !starts[id] {
			t.Fatalf("flow %d finishes without a start", id)
		}
	}
	if len(finishes) == 0 {
		t.Fatal("no wake-up arrows")
	}
	return tr
}

func TestPerfettoRecorded(t *testing.T) {
	var b bytes.Buffer
	if err := report.Perfetto(&b, recorded(), "lost_update"); err != nil {
		t.Fatal(err)
	}
	tr := checkTrace(t, b.Bytes(), 3)
	var slices int
	for _, e := range tr.TraceEvents {
		if e.Ph == "X" {
			slices++
			if e.Name == "run → write" && (e.Tid != 2 || e.Ts != 1 || e.Dur != 1) {
				t.Fatalf("slice %+v", e)
			}
		}
	}
	if slices != 5 {
		t.Fatalf("%d slices, want 5", slices)
	}
}

// TestPerfettoRun: a real run's timeline becomes a trace with one track
// per thread and wake-up arrows (the joins and the futex wake-ups).
func TestPerfettoRun(t *testing.T) {
	testenv.RequirePtrace(t)
	out := filepath.Join(t.TempDir(), "lost_update")
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", out, "../corpus/examples/lost_update.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	r, err := explore.Run(context.Background(), &explore.Target{Path: out, Args: []string{out}},
		explore.Config{Seed: 3, Timeout: 20 * time.Second, Timeline: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Outcome.Timeline) < r.Outcome.Steps/2 {
		t.Fatalf("timeline of %d spans for %d steps", len(r.Outcome.Timeline), r.Outcome.Steps)
	}
	var b bytes.Buffer
	if err := report.Perfetto(&b, r, "lost_update"); err != nil {
		t.Fatal(err)
	}
	checkTrace(t, b.Bytes(), 3)
	// Same seed, same picture: the timeline is virtual.
	r2, err := explore.Run(context.Background(), &explore.Target{Path: out, Args: []string{out}},
		explore.Config{Seed: 3, Timeout: 20 * time.Second, Timeline: true})
	if err != nil {
		t.Fatal(err)
	}
	var b2 bytes.Buffer
	report.Perfetto(&b2, r2, "lost_update")
	if !bytes.Equal(b.Bytes(), b2.Bytes()) {
		t.Fatal("two runs of one seed gave different traces")
	}
}
