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
// variable (breakpoints.go), or, with points.Memory, a breakpoint before
// one of a seeded sample of the program's memory-access instructions and
// an access by another thread to an address such a hit armed a
// watchpoint on (memory.go). The point's name goes into the decision
// trace ("t1:futex", "t2:pthread_mutex_lock#3", "t1:mem@lf_stack.c:42#2"),
// and replay checks it. With Config.LoneAfter, a thread that has been
// alone (the only one able to run) for that many points passes its
// function points until another thread can run or it makes a syscall that
// might wake one (lone.go): the same decisions at a fraction of the stops.
//
// # Spinning threads
//
// A thread that runs without reaching a point (a spin-wait, a long
// computation) would run forever, or as long as it likes, while the others
// are held. The watchdog (watchdog.go) notices one that used a quantum of
// CPU time without a point, but when it notices, and at which iteration of
// the loop, depends on the machine's speed and load: a preemption there
// could not be replayed, and the same -seed would give other runs on a
// loaded machine. So the watchdog only discovers where threads spin; the
// preemptions themselves are at counted hits of those places (spin.go):
//
//   - the caught thread is single-stepped until an address repeats; the
//     lowest address of that cycle, the head of the innermost loop it is
//     in wherever in the loop it was caught, is a spin site (a file and a
//     link-time address, like a function point);
//   - the run is then made again from the start with the site planted
//     from the beginning (explore.Run does it; Outcome.Kind Rerun), so the
//     run that is kept never depended on when the watchdog fired; the seed
//     file records the sites and a replay plants them;
//   - at a site, a thread's 2^k-th hit since its release is a point
//     ("spin"), k counting its spin points there since its last other
//     point; after maxSpinStreak of them it runs on without stopping there
//     and is picked only when no other thread can run (virtual time
//     passing first), and the watchdog leaves it alone until its next
//     other point. A spin-wait thus yields at growing intervals while
//     others can make progress, and a long computation costs a bounded
//     number of stops.
//
// We chose re-running over learning sites across a session's runs
// (learned only from runs far enough back, as PCT's step bound is): a run
// then depends only on its own seed, a replay needs nothing but its seed
// file, and the cost, one extra run per site found, falls on the runs
// that spin. A preemption where the watchdog caught the thread remains
// only where a site cannot be had (code outside ELF files, as a JIT's; no
// loop within the steps allowed; a replay or a guided run, which cannot be
// made again); the run is then marked as possibly not replaying. A loop
// that runs for about one quantum may be found in one run and not in
// another: only loops well past it are found on every machine.
//
// # The run's time
//
// The per-run timeout (Config.Timeout) counts the run's own time, not the
// machine's: the CPU time of the guest's processes and of the tracer
// thread, the time the guest was blocked for real in the kernel or on
// input from outside, and its virtual time. A run that waits for a CPU
// behind other processes is not charged for it; one whose time stops
// growing altogether expires after StallFactor times the limit.
//
// # The blocking model
//
// No guest thread ever blocks in the kernel on something another guest
// thread or process will provide, or when it would wake would be a race
// between the kernel and the tracer:
//   - futexes are emulated in the tracer (futex.go); which waiter a wake
//     wakes is a decision (KindWake); a thread's exit wakes its
//     CLONE_CHILD_CLEARTID joiners. A shared futex (no FUTEX_PRIVATE_FLAG)
//     in a shared mapping is keyed by the mapped object and offset, as
//     the kernel keys it (futexkey.go): process-shared mutexes, condition
//     variables and semaphores work across fork and across mappings at
//     other addresses. Futex calls made through int $0x80 are emulated
//     too (compat_amd64.go);
//   - sleeps and timeouts run on a virtual clock (clock.go) that advances
//     a quantum per point and jumps to the next deadline when nothing can
//     run. Sleeps, futex, poll, select and epoll timeouts expire with the
//     kernel's timer slack (50µs, or a thousandth of a poll's timeout),
//     as an hrtimer does on an idle machine: never early;
//   - wait4/waitid and poll/ppoll/select/pselect6/epoll_wait/epoll_pwait/
//     epoll_pwait2 run with a zero timeout (select's fd sets restored for
//     each try) and are retried at points once another thread has run a
//     syscall (a poll that found nothing, and user code, change no fd:
//     two pollers must not retry each other forever, and a worker's
//     mutex points must not release them again); a
//     timed one returns at its virtual deadline, once, with what is ready
//     then, and select, pselect6 and ppoll write back the time left;
//   - reads, readv, recvs and accepts wait for readiness, checked on a
//     pidfd_getfd duplicate without blocking; a thread released as ready
//     is checked again at every point until it runs, so a reader that
//     another reader overtook waits again instead of blocking;
//   - calls the kernel may do only in part before sleeping, or that sleep
//     until another thread changes some state, run as non-blocking pieces
//     (io.go): writes, writevs and sends larger than the free space of a
//     pipe, FIFO, socket or eventfd (O_NONBLOCK set on the description
//     through the duplicate for the piece, or MSG_DONTWAIT); recv with
//     MSG_WAITALL; sendmmsg and recvmmsg; sendfile; splice and tee; a
//     connect to a unix listener with a full backlog; flock and
//     fcntl(F_SETLKW, F_OFD_SETLKW); msgsnd, msgrcv, semop, semtimedop;
//     mq_timedsend and mq_timedreceive. Where a piece would have blocked
//     the thread waits at a point and the rest is re-issued with the
//     buffers advanced; the guest sees one call, its registers as it
//     passed them, and the native result (the full count on a blocking
//     fd; EPIPE and SIGPIPE or end of file after some progress give the
//     partial count). Writes of at most PIPE_BUF stay atomic. Calls on
//     O_NONBLOCK fds or with the guest's own non-blocking flag run as
//     they are;
//   - a blocking open of a FIFO waits at a point for the other end to be
//     opened by a guest (fifo.go);
//   - io_uring is refused with ENOSYS (it reads, writes and waits on
//     futexes asynchronously in the kernel), as sandboxes refuse it:
//     programs fall back to plain syscalls;
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
//   - only input from outside the guest (a terminal, a network peer, the
//     other end of a FIFO, a signal from outside) is waited for for real,
//     and the run is marked as depending on it.
//
// Not modelled (these may still block in the kernel, or differ from a
// native run): fcntl(F_SETLKW)'s EDEADLK (two processes waiting for each
// other's locks are reported as a deadlock), SO_SNDTIMEO and SO_RCVTIMEO,
// a sendmmsg on a stream socket that sends a message in part, TCP connect
// (it completes in the kernel on loopback), reads from a blocking pipe or
// socket passed as sendfile's input, a vfork child's futexes on its
// parent's memory (keyed by its own pid), a lock or queue held by a
// process outside the guest (reported as a deadlock). An untimed poll,
// select or epoll_wait that nothing in the guest can satisfy is let go to
// wait for real, for the outside, unless it is a poll of pipes only the
// guest writes (external.go): a guest deadlock through a select, an epoll
// or a socket ends as a hang at the timeout, not as a deadlock.
//
// A run with no runnable thread, no pending timer and no deliverable
// signal is a deadlock: the outcome reports what each thread waits on.
//
// # Concurrency and lock order
//
// The Scheduler's own state has no lock: only intercept callbacks touch
// it, on the tracer thread. What runs elsewhere, and what it shares:
//   - the watchdog's timer (watchdog.go), on a runtime thread, shares
//     atomics with the tracer thread (the release generation, the running
//     thread's ids, its CPU-time base and limit, the virtual clock) and,
//     under watchdog.mu, the run's time account and the set of guest
//     processes. It calls Config.OnTimeout with watchdog.mu held, so
//     OnTimeout must not call back into the Scheduler (explore's cancels
//     the run's context);
//   - parallel runs may share a symbols.Cache, a points.Plan and a
//     memsites.Cache, each under its own mutex; what they hand out is
//     immutable.
//
// Lock order: watchdog.mu, then whatever OnTimeout takes. The caches'
// mutexes are leaves, taken on the tracer thread while it holds no other.
//
// # Virtual inputs
//
// The vDSO is hidden so clock reads trap and return virtual time; rdtsc
// and rdtscp return a virtual counter: with function points, through a
// breakpoint on each such instruction of every mapped image, a JIT's code
// making the run start again with them trapping (PR_SET_TSC), which is
// also how a run with syscall points only gets them (tsc.go); the values
// are the same either way. getrandom and reads of
// /dev/urandom come from each thread's stream of the run's seed (separate
// from the decisions); AT_RANDOM is seeded; ASLR is off; the CPU count
// (sched_getaffinity) and the CPU a thread runs on (getcpu; rseq is
// refused) are virtual.
//
// # Observing
//
// Config.Observer (observe.go) sees every syscall point after the model
// has handled it and may ask for the call's result: an exit stop for a
// call that runs, nothing for one the scheduler answers. It changes
// nothing in the run; package explore records the program's behaviour
// with it.
//
// # Decisions
//
// Decider.Choose gets a Request: its kind (pick a thread, wake a waiter,
// choose a syscall's result with Config.Faults), the sorted options, the
// point, the thread and its point count, the step and the virtual time,
// and, on demand, each option's pending Event (what it will do and which
// object it touches) for strategies such as POS. With Config.IdleChoice a
// pick may also let time pass (IdleOption), to a deadline at most 100 ms
// ahead: a timer fires early relative to runnable threads' progress by no
// more than that. Strategies live in package
// explore; the recording and replaying Deciders in explore and replay.
//
// # Invariants
//
//   - At most one gthread is running (s.running); every other live
//     thread is stopped and held by the tracer.
//   - Decisions are made only inside intercept callbacks, when every live
//     thread is at a known point; nothing depends on map iteration order
//     (maps are only looked up or, for spin sites, visited in any order
//     to a result that does not depend on it) or on timing, except a
//     preemption where the watchdog caught a thread, which is noted.
//   - A signal reaches the guest only at a scheduling point: sent by a
//     guest thread's syscall (visible from the sender's next point), by a
//     timer of ours (at the point where virtual time passes its
//     deadline), by a child's exit or stop (at the point where the tracer
//     sees it); a thread interrupted by one is resumed only by a pick,
//     when the signal is still pending for it. Signals from outside the
//     guest are noticed when no thread can run, and noted.
//   - Memory points depend only on the seed, the configuration and the
//     order of events: the sample is drawn when an image is mapped, a
//     watch is armed at a thread's first hit of a point if a register is
//     free, and dropped by counting scheduling points, never by time. A
//     memory site is never planted where a function point or a spin site
//     is.
package sched
