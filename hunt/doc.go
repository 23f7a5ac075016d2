// Package hunt is schedfuzz's pipeline from a failing run to a failure a
// person can act on, shared by the schedfuzz command and the Go test
// bridge (package schedtest): it records a run as a seed file, takes a
// failing run through save → minimize → root cause → report, replays a
// seed file with its recorded configuration and judges the replay, and
// encodes scheduling-point specs for seed files.
//
// It sits after replay and report in the project's one-way data flow
// (intercept → sched → explore → replay/report → hunt → cmd, schedtest):
// explore makes runs, replay keeps them, report describes them; hunt
// holds the policy that ties them together so that every front end
// saves, minimizes and replays alike.
//
//   - Program is the program as the user named it (recorded in seed
//     files as typed), resolved (ResolveTarget: every way it cannot run
//     is an *InputError with a shell's exit status) and hashed.
//   - Hunt holds a search's settings: the seed-file corpus (a
//     replay.Store), the classification of failures, the points, the
//     run limits and the sandbox. Config and RunConfig make runs'
//     configurations from them; SeedFile records a run.
//   - Hunt.Failure is the pipeline of one failing run. Hooks let the
//     caller order it with its own work (the CLI holds its exit gate
//     around every save, prints its lines), without the pipeline
//     knowing who calls it.
//   - Replay replays a seed file and judges it: Reproduced, Fixed or
//     Diverged (the program no longer follows the trace). LoadSeed
//     checks what the seed parser cannot. With ReplayOptions.Changed a
//     program rebuilt since the seed was recorded is replayed too,
//     following the trace as far as it applies (FollowPrefix).
//   - Preload reads ahead, on a goroutine of its own, the symbol tables
//     and rdtsc site lists an earlier session's runs of the program
//     needed (SavePreload records which), so that a front end's other
//     start-up work (the CLI's sandbox) and the first run's reading of
//     them overlap; the runs get the same objects either way.
//   - Points is the point-spec encoding: the user's spelling (-points,
//     -yield-at, -watch, memory sampling), what runs get (Apply), what
//     seed files record (Record) and back (RecordedPoints).
//
// # Invariants
//
//   - A found failure is never lost: Failure saves the seed before it
//     minimizes or reports, and the save is never cut short by ctx (it
//     runs inside Hooks.Guard, where the CLI's interrupt waits).
//   - A seed file records everything its replay needs: the program's
//     hash, arguments, environment (secrets redacted), working
//     directory, run seed, strategy, CPU count, fault mode, step limit,
//     clock epoch, points with their addresses, spin sites, classification, world
//     (sandbox, network, stdin) and the decisions. Replay uses only the
//     file and ReplayOptions: a replay is a function of the seed file.
//   - Contexts flow through: cancelling the ctx given to Failure or
//     Replay ends the runs it makes (their guests are killed) and the
//     phase it is in; Failure then returns what it has.
//   - A Hunt is read-only once its first run starts: the runs of a
//     session (several at once) and the pipeline share it. Failure is
//     called from one goroutine at a time (a session's Report callback).
//   - hunt prints nothing itself: lines go through Hooks.Logf, results
//     are returned; the caller chooses the words around them.
//
// # Extending the report step
//
// Failure returns a Found whose Report is a *report.Failure; writing it
// (Text, HTML, Perfetto, the -json event's Locations) is the caller's, so
// that formats and destinations are added by the front ends without
// changing the save and minimize steps. Its last step (stacks.go)
// replays the failure once more with call stacks and a timeline
// (explore.ReplayStacks), so every format can name the functions and
// source lines of the critical pair and of each thread's last points;
// exploration itself never unwinds a stack.
package hunt
