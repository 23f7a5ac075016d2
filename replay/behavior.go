package replay

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// Behavior is what a run's program did, compactly and in the order it did
// it, so that a replay that diverges can say where the program first
// behaved differently before it names decisions ("the program changed" or
// "the world changed" are then told apart). It holds two kinds of events:
//
//   - a checkpoint of each thread's running hash of its system calls
//     (numbers and the arguments that are not addresses), every
//     CheckpointEvery calls: "syscalls: t1 48 9f3a12bc5d6e7f80" (thread 1,
//     at its scheduling point 48);
//   - the result of each call whose result depends on the world outside
//     the program (the file system, the network: open, stat, mkdir,
//     unlink, connect...): "result: t0 81 openat 3".
//
// Seed files written before schedfuzz 0.3 have none: replay then names
// decisions only.
type Behavior struct {
	Events []BehaviorEvent
	// Truncated is set when the run made more events than a seed file
	// keeps (MaxBehaviorEvents): comparisons stop at the last one kept.
	Truncated bool
}

// CheckpointEvery is how many system calls of a thread a checkpoint
// covers.
const CheckpointEvery = 16

// MaxBehaviorEvents bounds the events a run records.
const MaxBehaviorEvents = 1 << 16

// BehaviorEvent is a checkpoint (Call == "") or a call's result.
type BehaviorEvent struct {
	Thread, Point int
	Call          string // the call whose result this is; "" for a checkpoint
	Value         int64  // the result, or the hash (as a bit pattern)
}

func (e BehaviorEvent) isResult() bool { return e.Call != "" }

// Change is a file the run changed outside its sandbox: Verb is created,
// written, deleted, renamed or changed (mode, owner, times).
type Change struct {
	Verb, Path string
}

func (c Change) String() string { return c.Verb + " " + c.Path }

var changeVerbs = map[string]bool{"created": true, "written": true, "deleted": true, "renamed": true, "changed": true}

// encodeBehavior writes the behavior and outside keys.
func (f *SeedFile) encodeBehavior(kv func(key, val string)) error {
	for _, c := range f.Outside {
		if !changeVerbs[c.Verb] || c.Path == "" {
			return fmt.Errorf("encode seed file: bad outside change %q %q", c.Verb, c.Path)
		}
		kv("outside", c.Verb+" "+strconv.Quote(c.Path))
	}
	b := &f.Behavior
	if b.Truncated {
		kv("behavior", "truncated")
	}
	for _, e := range b.Events {
		if e.Thread < 0 || e.Point < 0 {
			return fmt.Errorf("encode seed file: bad behavior event %+v", e)
		}
		if !e.isResult() {
			kv("syscalls", fmt.Sprintf("t%d %d %016x", e.Thread, e.Point, uint64(e.Value)))
			continue
		}
		if err := checkText(e.Call); err != nil || strings.ContainsAny(e.Call, " \t") {
			return fmt.Errorf("encode seed file: bad call name %q", e.Call)
		}
		kv("result", fmt.Sprintf("t%d %d %s %d", e.Thread, e.Point, e.Call, e.Value))
	}
	return nil
}

// behaviorField parses the behavior, syscalls, result and outside keys.
func (p *parser) behaviorField(f *SeedFile, key, val string) error {
	if err := checkText(val); err != nil {
		return p.errf("%s: %v", key, err)
	}
	switch key {
	case "behavior":
		f.Behavior.Truncated = val == "truncated"
		return nil
	case "outside":
		verb, q, _ := strings.Cut(val, " ")
		path, err := strconv.Unquote(q)
		if err != nil || !changeVerbs[verb] || path == "" {
			return p.errf("bad outside %q: want VERB \"PATH\"", trunc(val))
		}
		f.Outside = append(f.Outside, Change{verb, path})
		return nil
	}
	fields := strings.Fields(val)
	want := 3
	if key == "result" {
		want = 4
	}
	if len(fields) != want || !strings.HasPrefix(fields[0], "t") {
		return p.errf("bad %s %q", key, trunc(val))
	}
	var e BehaviorEvent
	var err1, err2, err3 error
	e.Thread, err1 = strconv.Atoi(fields[0][1:])
	e.Point, err2 = strconv.Atoi(fields[1])
	if key == "syscalls" {
		var h uint64
		h, err3 = strconv.ParseUint(fields[2], 16, 64)
		e.Value = int64(h)
	} else {
		e.Call = fields[2]
		e.Value, err3 = strconv.ParseInt(fields[3], 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || e.Thread < 0 || e.Point < 0 {
		return p.errf("bad %s %q", key, trunc(val))
	}
	if len(f.Behavior.Events) >= MaxBehaviorEvents {
		return p.errf("more than %d behavior events", MaxBehaviorEvents)
	}
	f.Behavior.Events = append(f.Behavior.Events, e)
	return nil
}

// BehaviorDiff is where two runs' programs first behaved differently.
type BehaviorDiff struct {
	Index              int
	Recorded, Replayed *BehaviorEvent // nil: that run had no more events
	// Since is the point of the thread's checkpoint before Recorded's (0:
	// its start): a checkpoint that differs narrows the difference to
	// the calls after Since.
	Since int
}

// FirstDifference compares a recorded run's behaviour with a replay's, in
// the order both happened, up to where the shorter one ends (a replay
// stops where it diverges). It returns nil if they agree that far, or if
// the recording has none.
func FirstDifference(recorded, replayed *Behavior) *BehaviorDiff {
	if len(recorded.Events) == 0 {
		return nil
	}
	last := map[int]int{} // thread -> point of its last checkpoint
	for i := range recorded.Events {
		r := &recorded.Events[i]
		if i >= len(replayed.Events) {
			return nil // the replay stopped first: no evidence either way
		}
		p := &replayed.Events[i]
		if *r != *p {
			return &BehaviorDiff{Index: i, Recorded: r, Replayed: p, Since: last[r.Thread]}
		}
		if !r.isResult() {
			last[r.Thread] = r.Point
		}
	}
	return nil
}

// Describe says the difference in the program's terms: "the program's
// behaviour first differed at t0 point 81: openat returned -EEXIST
// (recorded: 3)". calls, if not nil, gives the replay's calls of a
// thread between two of its points (strace-style lines) to show what a
// differing checkpoint covers.
func (d *BehaviorDiff) Describe(calls func(thread, from, to int) []string) string {
	r, p := d.Recorded, d.Replayed
	var b strings.Builder
	b.WriteString("the program's behaviour first differed ")
	switch {
	case r.isResult() && p.isResult() && r.Thread == p.Thread && r.Point == p.Point && r.Call == p.Call:
		call := r.Call
		if calls != nil {
			if cs := calls(r.Thread, r.Point-1, r.Point); len(cs) == 1 {
				call, _, _ = strings.Cut(cs[0], " = ")
			}
		}
		fmt.Fprintf(&b, "at t%d point %d: %s returned %s (recorded: %s)", r.Thread, r.Point, call, showResult(p.Value), showResult(r.Value))
	case !r.isResult() && !p.isResult() && r.Thread == p.Thread && r.Point == p.Point:
		fmt.Fprintf(&b, "in thread %d's system calls between its points %d and %d (arguments or calls changed)", r.Thread, d.Since, r.Point)
		if calls != nil {
			if cs := calls(r.Thread, d.Since, r.Point); len(cs) > 0 {
				b.WriteString("; the replay made: ")
				b.WriteString(strings.Join(cs, ", "))
			}
		}
	default:
		fmt.Fprintf(&b, "after %d matching events: the replay's next was %s, the recording's %s", d.Index, describeEvent(p), describeEvent(r))
	}
	return b.String()
}

func describeEvent(e *BehaviorEvent) string {
	if e.isResult() {
		return fmt.Sprintf("%s at t%d point %d returning %s", e.Call, e.Thread, e.Point, showResult(e.Value))
	}
	return fmt.Sprintf("a checkpoint of t%d at point %d", e.Thread, e.Point)
}

// showResult shows a raw syscall result: -ENAME for an error.
func showResult(v int64) string {
	if syscalls.IsError(v) {
		return "-" + syscalls.ErrnoName(int(-v))
	}
	return strconv.FormatInt(v, 10)
}
