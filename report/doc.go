// Package report turns schedfuzz's runs into what people and CI read: the
// failure report (framed like the Go race detector's: the outcome, the
// critical pair of events, each thread's last scheduling points and where
// it was created, the replay command last), JSON lines in the shape of
// `go test -json`, JUnit XML with one test case per failure signature,
// and Chrome/Perfetto trace JSON of one run (one track per guest thread, a
// slice per running stretch, its scheduling points as instant events and
// wake-ups as flow arrows).
//
// Everything here is a pure function of its inputs (results carry virtual
// time, not wall time, except where a format asks for a date), so the
// outputs are testable without running a guest.
package report
