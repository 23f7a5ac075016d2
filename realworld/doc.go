// Package realworld holds schedfuzz's real-programs suite (issue 9): the
// software a new user tries first, run under the scheduler in every
// strategy, must behave exactly as it does natively, and a racy variant of
// each class must still be found and replay.
//
// The package has no code of its own; its tests are the suite:
//
//   - TestRealPrograms: each correct program (shells with background jobs,
//     coreutils timeout, pipelines larger than a pipe buffer, make -j4, C
//     programs waiting on timers, signals, children and fds, a Go program
//     with timers and net/http, python3, C++, Rust, node and JVM threads,
//     sqlite3) runs natively twice (both runs must agree: cases are
//     written to be deterministic natively), then 20 times under each of
//     random, pct:3, pos and chaos (the cases issue 9 names, and the cheap
//     C++ and Rust ones; 5 for the other extras, 2 for node, the JVM and
//     the gcc build; 3 with -short); every run must end with the native exit status,
//     stdout and stderr. Sessions use the CLI's defaults (sync points, 4
//     CPUs, 10 s timeout) and fixed seeds, so the suite makes the same runs
//     every time; a failure prints the schedfuzz command line that repeats
//     its session.
//   - TestRacyFound: a racy variant of each class (a pipe race in sh, a
//     SIGCHLD job-table race, a too-tight poll timeout, a Go lost update on
//     a plain field, a python check-then-act, a Makefile missing a
//     dependency) must fail the documented way within a bounded number of
//     runs of the default portfolio, and its seed file must replay.
//   - BenchmarkRealPrograms: runs per second and slowdown against native,
//     per case and strategy, measured in the same process.
//
// Guests live in testdata (C, C++, Rust, Go, Python, JavaScript, Java,
// shell scripts, Makefiles, an SQL script) and are built once per test
// process into a temporary directory, on first use. A case whose compiler,
// interpreter or tool is missing is skipped with a message; a machine
// without ptrace fails (or skips with SCHEDFUZZ_SKIP_UNSUPPORTED=1), as
// internal/testenv decides.
//
// Environment (for diagnosis and measurement; the defaults are what go
// test runs): SCHEDFUZZ_REALWORLD_ALL=1 makes every run of a session
// instead of stopping at the first failure; SCHEDFUZZ_REALWORLD_P sets the
// runs made at once (default 2); SCHEDFUZZ_REALWORLD_TIMEOUT the per-run
// timeout; SCHEDFUZZ_REALWORLD_TABLE=1 prints the pass/fail and speed
// tables even without -v.
package realworld
