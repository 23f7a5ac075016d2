// Package explore runs a guest program under the serializing scheduler
// and turns runs into findings.
//
//   - Run makes one run: decisions come from a strategy (recorded), a
//     recorded trace (replay.Follower), or a guided Decider (the
//     minimizer); it captures output in memfds and classifies the end
//     (exit status, signal, deadlock, livelock, hang).
//   - The strategies (strategy.go): random walk, PCT, POS and rr-style
//     chaos, each a pure function of the run's seed (and, for PCT, a step
//     bound learned from earlier runs); syscall-result faults on top.
//   - Session runs many: run i under RunSeed(seed, i) and the i-th
//     strategy of a portfolio, Parallel at a time, each pinned to a CPU;
//     results are reported in run order and learning only looks at runs
//     far enough back that the session waits for them, so a session is
//     reproducible whatever the timing.
//   - Classifier and Signature decide what is a failure (-expect-exit,
//     -failure, -ignore) and which failures are the same.
//   - Minimizer shrinks a failing schedule to a 1-minimal set of forced
//     preemptions and faults (ddmin over decisions keyed by thread and
//     point count) and localizes the critical pair of events.
//
// Nothing here talks to ptrace: that is intercept's job, through sched.
package explore
