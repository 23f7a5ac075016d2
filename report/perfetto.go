package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/schedfuzz/schedfuzz/explore"
)

// traceEvent is one Chrome trace event (the JSON Perfetto and
// chrome://tracing open).
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"` // µs of virtual time
	Dur  *float64       `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	ID   int            `json:"id,omitempty"`
	BP   string         `json:"bp,omitempty"`
	S    string         `json:"s,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// Perfetto writes a run's timeline (sched.Config.Timeline) as Chrome trace
// JSON: one track per guest thread, named by vtid, grouped by process; a slice per
// running stretch, named after the scheduling point that ended it; the
// points as instant events; a flow arrow from each waker's stretch to the
// stretch the woken thread runs next. Times are virtual: a run's picture
// is the same every time it replays.
func Perfetto(w io.Writer, r *explore.Result, title string) error {
	return perfetto(w, r, title, nil, nil)
}

// Perfetto writes the failure's run (its Result, replayed with a
// timeline) as Perfetto does, with where the threads were: each point
// with a captured stack gets its function, file:line and short stack as
// arguments (Location), the critical pair's two points are marked
// (category "critical", argument "critical pair": 1 or 2), and the
// trace's metadata lists the pair's locations ("criticalPair").
func (f *Failure) Perfetto(w io.Writer, title string) error {
	pair, last := f.Locations()
	at := map[[2]int]Location{}
	for _, l := range last {
		at[[2]int{l.Thread, l.Point}] = l
	}
	crit := map[[2]int]int{}
	for i, l := range pair {
		at[[2]int{l.Thread, l.Point}] = l
		crit[[2]int{l.Thread, l.Point}] = i + 1
	}
	annotate := func(e *traceEvent, thread, point int) {
		k := [2]int{thread, point}
		l, ok := at[k]
		if !ok {
			return
		}
		e.Args = map[string]any{"point": point}
		if l.Func != "" {
			e.Args["func"] = l.Func
		}
		if l.File != "" {
			e.Args["file"] = fmt.Sprintf("%s:%d", l.File, l.Line)
		}
		if len(l.Stack) > 0 {
			e.Args["stack"] = l.Stack
		}
		if n := crit[k]; n > 0 {
			e.Cat = "point,critical"
			e.Args["critical pair"] = n
		}
	}
	return perfetto(w, f.Result, title, annotate, pair)
}

// perfetto writes r's trace; annotate, if set, completes the instant
// event of thread's point-th point, and pair goes in the metadata.
func perfetto(w io.Writer, r *explore.Result, title string, annotate func(e *traceEvent, thread, point int), pair []Location) error {
	var evs []traceEvent
	// Processes are numbered in order of appearance (real pids differ
	// from run to run); threads by vtid.
	procOf := map[int]int{}  // vtid -> process number
	procNum := map[int]int{} // real pid -> process number
	for _, t := range r.Outcome.Threads {
		n, ok := procNum[t.Pid]
		if !ok {
			n = len(procNum) + 1
			procNum[t.Pid] = n
			name := title
			if n > 1 {
				name = fmt.Sprintf("%s: process %d", title, n)
			}
			evs = append(evs, traceEvent{Name: "process_name", Ph: "M", Pid: n, Args: map[string]any{"name": name}})
		}
		procOf[t.Vtid] = n
		evs = append(evs, traceEvent{Name: "thread_name", Ph: "M", Pid: n, Tid: t.Vtid + 1,
			Args: map[string]any{"name": fmt.Sprintf("thread %d", t.Vtid)}})
	}
	tid := func(vtid int) int { return vtid + 1 }
	pidOf := func(vtid int) int {
		if n, ok := procOf[vtid]; ok {
			return n
		}
		return 1
	}
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	// pendingFlows[v] are flow ids waiting for thread v's next stretch.
	pendingFlows := map[int][]int{}
	flow := 0
	stretches := map[int]int{} // by vtid: its stretch k ends at its point k+1
	for _, sp := range r.Outcome.Timeline {
		if sp.Woke >= 0 {
			flow++
			from := "timer"
			if sp.Thread >= 0 {
				from = fmt.Sprintf("thread %d", sp.Thread)
				evs = append(evs, traceEvent{Name: "wake", Cat: "wake", Ph: "s", Ts: us(sp.Start), Pid: pidOf(sp.Thread), Tid: tid(sp.Thread), ID: flow, BP: "e"})
			} else {
				// A timer: start the arrow on the woken thread's own
				// track, at the time it fired.
				evs = append(evs, traceEvent{Name: "wake", Cat: "wake", Ph: "s", Ts: us(sp.Start), Pid: pidOf(sp.Woke), Tid: tid(sp.Woke), ID: flow, BP: "e"})
			}
			evs = append(evs, traceEvent{Name: "woken by " + from, Ph: "i", S: "t", Ts: us(sp.Start), Pid: pidOf(sp.Woke), Tid: tid(sp.Woke)})
			pendingFlows[sp.Woke] = append(pendingFlows[sp.Woke], flow)
			continue
		}
		dur := us(sp.End - sp.Start)
		name := pointName(sp.Point)
		evs = append(evs, traceEvent{Name: "run → " + name, Cat: "run", Ph: "X", Ts: us(sp.Start), Dur: &dur, Pid: pidOf(sp.Thread), Tid: tid(sp.Thread),
			Args: map[string]any{"point": sp.Point}})
		for _, id := range pendingFlows[sp.Thread] {
			evs = append(evs, traceEvent{Name: "wake", Cat: "wake", Ph: "f", Ts: us(sp.Start), Pid: pidOf(sp.Thread), Tid: tid(sp.Thread), ID: id, BP: "e"})
		}
		delete(pendingFlows, sp.Thread)
		stretches[sp.Thread]++
		pt := traceEvent{Name: name, Cat: "point", Ph: "i", S: "t", Ts: us(sp.End), Pid: pidOf(sp.Thread), Tid: tid(sp.Thread)}
		if annotate != nil {
			annotate(&pt, sp.Thread, stretches[sp.Thread]+1)
		}
		evs = append(evs, pt)
	}
	out := struct {
		TraceEvents     []traceEvent   `json:"traceEvents"`
		DisplayTimeUnit string         `json:"displayTimeUnit"`
		OtherData       map[string]any `json:"otherData"`
	}{evs, "ns", map[string]any{"outcome": r.Describe(), "seed": fmt.Sprintf("%#016x", r.Seed), "clock": "virtual"}}
	if len(pair) > 0 {
		out.OtherData["criticalPair"] = pair
	}
	enc := json.NewEncoder(w)
	return enc.Encode(out)
}

// pointName strips the thread from "t1:write".
func pointName(at string) string {
	for i := 0; i < len(at); i++ {
		if at[i] == ':' {
			return at[i+1:]
		}
	}
	return at
}
