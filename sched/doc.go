// Package sched is schedfuzz's scheduler: an intercept.Tool that runs a
// guest program's threads, across its whole process tree, exactly one at
// a time, and at every scheduling point asks a Decider which runnable
// thread goes next. A run is then a pure function of (binary, arguments,
// environment, files, seed): every nondeterministic choice is a decision,
// made only when every live thread is stopped at a known point, and
// recorded; a replay answers the same questions with the recorded answers.
//
// # Threads and points
//
// Each guest thread has a handler, a gthread (tvisor's per-thread
// "kernel"): its state (running, runnable, blocked, exited), the point it
// is stopped at, how it continues when picked (run the syscall, or skip it
// with an emulated result), what it waits on, its timer and its own random
// stream. All handlers run on intercept's single tracer thread.
//
// A scheduling point (PointKind) is a deterministic place in a thread's
// execution: a syscall entry, a thread's start, its exit (and exit_group,
// where the other threads may run before the process dies), a breakpoint
// hit at a function entry or source line, or an access to a watched
// variable (breakpoints.go). The point's name goes into the decision trace
// ("t1:futex", "t2:pthread_mutex_lock#3"), and replay checks it. The only
// timing-dependent point is a preemption by the watchdog, which stops a
// thread that used a quantum of CPU time without reaching a point (a spin
// loop); such a run is marked as possibly not replaying.
//
// # The blocking model
//
// No guest thread ever blocks in the kernel on another guest thread, or
// when it would wake would be a race between the kernel and the tracer:
//   - futexes are emulated in the tracer (futex.go); which waiter a wake
//     wakes is a decision (KindWake); a thread's exit wakes its
//     CLONE_CHILD_CLEARTID joiners;
//   - sleeps and timeouts run on a virtual clock (clock.go) that advances
//     a quantum per point and jumps to the next deadline when nothing can
//     run;
//   - wait4/waitid and poll/select/epoll_wait are made non-blocking and
//     retried at points; reads and writes on pipes and sockets wait for
//     readiness, checked on a pidfd_getfd duplicate without blocking;
//   - signals interrupt waits as the kernel's do (signals.go): a waiting
//     thread to which a signal is deliverable (its mask, or the mask its
//     call installs; not ignored; for a process-directed signal, the
//     thread the kernel would choose) becomes pickable, and a pick ends
//     its call with the kernel's ERESTART code for it, so that the kernel
//     runs the handler and fails the call with EINTR or restarts it
//     (SA_RESTART, no handler); pause, sigsuspend, sigtimedwait and
//     signalfd reads run for real once they return at once. The signal
//     state is read from /proc only after events that may change it: a
//     guest's kill, a timer of ours, a child's exit or stop (SIGCHLD), a
//     change of a mask or handler in a process with pending signals;
//   - the guest's timers (alarm, setitimer, timer_create, timerfd) are
//     virtual deadlines that send the kernel's signal, or set the
//     timerfd's count, when they expire (timers.go);
//   - a process in a group-stop (SIGSTOP...) is blocked until SIGCONT;
//     its parent's waitpid(WUNTRACED) sees the stop;
//   - only input from outside the guest (a terminal, a network peer, a
//     signal from outside) is waited for for real, and the run is marked
//     as depending on it.
//
// A run with no runnable thread, no pending timer and no deliverable
// signal is a deadlock: the outcome reports what each thread waits on.
//
// # Virtual inputs
//
// The vDSO is hidden so clock reads trap and return virtual time; rdtsc
// traps (PR_SET_TSC) and returns a virtual counter; getrandom and reads of
// /dev/urandom come from each thread's stream of the run's seed (separate
// from the decisions); AT_RANDOM is seeded; ASLR is off; the CPU count
// (sched_getaffinity) and the CPU a thread runs on (getcpu; rseq is
// refused) are virtual.
//
// # Decisions
//
// Decider.Choose gets a Request: its kind (pick a thread, wake a waiter,
// choose a syscall's result with Config.Faults), the sorted options, the
// point, the thread and its point count, the step and the virtual time,
// and, on demand, each option's pending Event (what it will do and which
// object it touches) for strategies such as POS. With Config.IdleChoice a
// pick may also let time pass (IdleOption). Strategies live in package
// explore; the recording and replaying Deciders in explore and replay.
//
// # Invariants
//
//   - At most one gthread is running (s.running); every other live
//     thread is stopped and held by the tracer.
//   - Decisions are made only inside intercept callbacks, when every live
//     thread is at a known point; nothing depends on map iteration order
//     (maps are only looked up) or on wall-clock time, except the
//     watchdog's preemption, which is noted.
//   - A signal reaches the guest only at a scheduling point: sent by a
//     guest thread's syscall (visible from the sender's next point), by a
//     timer of ours (at the point where virtual time passes its
//     deadline), by a child's exit or stop (at the point where the tracer
//     sees it); a thread interrupted by one is resumed only by a pick,
//     when the signal is still pending for it. Signals from outside the
//     guest are noticed when no thread can run, and noted.
//   - Everything runs on the tracer thread. The watchdog shares only
//     atomics with it; there are no locks.
package sched
