package report

import (
	"encoding/json"
	"io"
	"time"
)

// Event is one line of `schedfuzz -json`, in the shape of `go test -json`
// (test2json): Time, Action, Test, Elapsed, Output, plus schedfuzz's own
// fields. Actions: start (the session), run (one run, Test "run/N"), fail
// (a failing run), minimized, progress, output (report text) and done.
type Event struct {
	Time      time.Time `json:"Time"`
	Action    string    `json:"Action"`
	Test      string    `json:"Test,omitempty"`
	Elapsed   float64   `json:"Elapsed,omitempty"` // seconds
	Output    string    `json:"Output,omitempty"`
	Target    string    `json:"Target,omitempty"`
	Seed      string    `json:"Seed,omitempty"`
	Strategy  string    `json:"Strategy,omitempty"`
	Outcome   string    `json:"Outcome,omitempty"`
	Signature string    `json:"Signature,omitempty"`
	New       *bool     `json:"New,omitempty"`
	File      string    `json:"File,omitempty"`
	Runs      int       `json:"Runs,omitempty"`
	Total     int       `json:"Total,omitempty"`
	Failures  int       `json:"Failures,omitempty"`
	Distinct  int       `json:"Distinct,omitempty"`
	Preempts  *int      `json:"Preemptions,omitempty"`
	// Digest is a run's decision digest (replay.Digest): equal digests,
	// equal schedules.
	Digest string `json:"Digest,omitempty"`
	// Pair and Last, on a fail event, are where the critical pair's
	// events and each thread's last points were (Failure.Locations):
	// function, file:line and a short stack, when they were captured.
	Pair []Location `json:"Pair,omitempty"`
	Last []Location `json:"Last,omitempty"`
}

// JSON writes events as JSON lines.
type JSON struct {
	enc *json.Encoder
	now func() time.Time
}

// NewJSON returns a writer of JSON lines to w.
func NewJSON(w io.Writer) *JSON { return &JSON{enc: json.NewEncoder(w), now: time.Now} }

// Emit writes one event, stamping its Time.
func (j *JSON) Emit(e Event) error {
	if e.Time.IsZero() {
		e.Time = j.now()
	}
	return j.enc.Encode(e)
}
