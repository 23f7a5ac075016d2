// Package explore runs a guest program under the serializing scheduler
// and turns runs into findings.
//
//   - Run makes one run: decisions come from a strategy, a recorded
//     trace (replay.Follower), or a guided Decider (the minimizer), and
//     are recorded with where each was made (thread, its k-th point); it
//     captures output in memfds, keeping the last OutputLimit bytes of
//     each stream (capture.go: a timer punches out the rest while the
//     guest writes, so memory stays bounded), and classifies the end
//     (exit status, signal, deadlock, livelock at Config.MaxSteps, hang
//     at the timeout; an i386 program the guest execs is Unsupported). A
//     hang is a result whatever the kill at the timeout did to the run's
//     teardown.
//   - The strategies (strategy.go): random walk, PCT, POS and rr-style
//     chaos, each a pure function of the run's seed (and, for PCT, a step
//     bound learned from earlier runs); syscall-result faults on top.
//     A yield (sched_yield, or the watchdog's preemption of a spin) is a
//     priority drop in every strategy, and chaos's starvation ends when
//     the others only yield: no strategy livelocks a correct spin-wait
//     (a thread that yields twice with no other thread running in
//     between is spinning).
//   - Session runs many: run i under RunSeed(seed, i) and the i-th
//     strategy of a portfolio, Parallel at a time, each pinned to a CPU
//     (the free one where the session's runs waited least for their CPU
//     lately, else the one other processes used least, internal/cpuload;
//     Result.CPUWait); a run's points.Plan is the template's or one the
//     session's runs share;
//     results are reported in run order and learning only looks at runs
//     far enough back that the session waits for them, so a session is
//     reproducible whatever the timing. A Shard (I/N) makes the runs i
//     with i%N == I-1 of that sequence, under their global indices: the
//     shards of one seed never repeat each other's runs.
//   - Classifier and Signature decide what is a failure (-expect-exit,
//     -failure, -ignore) and which failures are the same (for hangs and
//     livelocks: where each live thread waits, or the loop it spins in).
//   - With Config.Behavior a run records what the program did
//     (behavior.go, a sched.Observer): each thread's running hash of its
//     calls' non-address arguments, checkpointed every 16 calls, the
//     results of the calls that depend on the world, and the files it
//     changed outside its sandbox; a replay also keeps every call's text,
//     to explain a divergence in the program's terms.
//   - With Config.Sandbox the guest runs in a world of its own (package
//     intercept/sandbox).
//   - Minimizer shrinks a failing schedule to a 1-minimal set of forced
//     preemptions and faults (ddmin over the preemptions, keyed by
//     thread and point count) and localizes the critical pair of events,
//     within a run and time budget that bounds the whole work and a
//     context that cancels it; candidates longer than the original are
//     cut.
//
// Nothing here talks to ptrace: that is intercept's job, through sched.
package explore
