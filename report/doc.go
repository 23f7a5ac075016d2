// Package report turns schedfuzz's runs into what people and CI read: the
// failure report (framed like the Go race detector's: the outcome, the
// critical pair of events, each thread's last scheduling points and where
// it was created, the replay command last), JSON lines in the shape of
// `go test -json`, JUnit XML with one test case per failure signature,
// and Chrome/Perfetto trace JSON of one run (one track per guest thread, a
// slice per running stretch, its scheduling points as instant events and
// wake-ups as flow arrows).
//
// Where threads were: a Failure's Stacks (captured by replaying the run
// once more with explore.ReplayStacks) give the text report each
// critical-pair event's stack and each thread's latest point's, in the
// race detector's layout; Locations reduces a stack to the frame that
// places the point in the program's own code (Where: outside shared
// libraries, Go's standard library and the point's own wrapper, with a
// source line when there is one, else by function name) and a short
// stack, which the -json fail event (Pair, Last), JUnit's failure message
// (Summary) and the trace (Failure.Perfetto: the points' arguments and
// the "critical" category) carry.
//
// Everything here is a pure function of its inputs (results carry virtual
// time, not wall time, except where a format asks for a date), so the
// outputs are testable without running a guest.
package report
