// Package intercept runs an unmodified Linux x86-64 program under syscall
// interception (ptrace plus a seccomp-bpf filter) and lets a Tool see and
// steer every syscall of every thread of every process in the program's
// tree. It is the framework schedfuzz is built on, in the spirit of Reverie
// and tvisor, and usable for other tools (tracers, fault injectors).
//
// # Design
//
// One tracer, one thread. Run starts a goroutine locked to an OS thread
// for the whole run (with Options.Pin, pinned with the guest to
// Options.CPU from before the fork, and unpinned if that CPU turns
// out to be contended, see pin_linux.go; afterwards its affinity is
// restored and the thread goes back to the runtime). That thread forks
// the guest, is the ptrace tracer of every guest thread, waits with
// wait4(-1, __WALL|__WNOTHREAD), and calls the tool's handlers inline. Handing stops between goroutines
// costs 4-5x more per stop, so nothing here does. __WNOTHREAD keeps
// several tracers (parallel runs) and os/exec in one process from stealing
// each other's children. The only state shared with another goroutine is
// the set of guest pids that cancellation kills (liveSet; a leaf lock),
// which the pinner's timer also reads, and the pinner's own state (its
// mu, a leaf taken before liveSet's).
//
// Filters from subscriptions. Tool.Subscription names the syscalls the
// tool wants; package seccomp compiles them into a BPF program that checks
// the arch first (int $0x80 and x32 calls always stop: never lost, never
// killed), returns SECCOMP_RET_ALLOW for unsubscribed calls and
// SECCOMP_RET_TRACE for the rest. The program reads only the syscall number
// and arch, so the kernel caches allowed calls and they cost nothing.
//
// Launching without cgo. The guest is started with PTRACE_TRACEME. At its
// post-exec stop the tracer edits its auxv and re-attaches with
// PTRACE_SEIZE (so group-stops work with PTRACE_LISTEN and
// PTRACE_INTERRUPT is available), then injects prctl(PR_SET_NO_NEW_PRIVS),
// prctl(PR_SET_TSC) if asked and seccomp(2) by single-stepping a `syscall`
// instruction of the vDSO, all before the guest runs a single instruction.
// Options include EXITKILL and the first process has PDEATHSIG=SIGKILL: no
// guest outlives the tracer. With Options.Sandbox the tracer thread enters
// the run's namespaces just before the fork (the guest inherits them) and
// leaves its mount namespace right after; the guest, pid 2 of its pid
// namespace, gets no PDEATHSIG (its getppid() is 0, which Go's fork would
// take for a dead parent): the namespace's init dies with its holder
// thread and takes every process of the namespace with it. Such a tracer
// thread is not given back to the Go runtime.
//
// Per stop. A seccomp stop costs one PTRACE_GET_SYSCALL_INFO (number,
// args, ip, sp; no GETREGS) and one resume. Emulating a call (skip it,
// supply its result) is done at the same stop: orig_rax=-1 and rax=result.
// Only TraceExit costs a second stop.
//
// # Thread lifecycle
//
// A Thread is announced by ThreadStart once both its own first stop and its
// creator's clone/fork/vfork event have been seen (the tracer waits for the
// child explicitly, as Delve does), so tools always see parent before
// child. It ends with ThreadExit (at PTRACE_EVENT_EXIT, memory still
// readable; or at its death if that stop was missed), and the process ends
// with ProcessExit when its leader is reaped (a zombie leader is reaped
// last). An execve from a non-leader thread moves that thread to the
// leader's tid: the Thread keeps its identity, Tid changes, the other
// threads get ThreadExit, and Exec reports the former tid.
//
// # Holding
//
// A tool may leave any thread stopped after a callback (Hold, or the Hold
// action at a syscall entry) and resume it later with Thread.Resume from
// any callback. A scheduler holds every thread but one. A held thread that
// is killed (exit_group, a fatal signal, an execve elsewhere in its
// process) is released by the kernel and reported through ThreadExit.
//
// # Signals
//
// A held thread does not wake for a signal: it stays pending until the
// thread is resumed, and is delivered on its way back to user mode
// (Tool.Signal, where the tool may suppress it or change its siginfo). A
// tool that keeps a thread in an emulated wait makes a pending signal
// interrupt the wait with Interrupt: the call ends with the kernel's
// internal ERESTART code, and the kernel applies its own rules (EINTR,
// SA_RESTART, restart when no handler runs, restart_syscall). A stop
// signal puts the process in a group-stop: Tool.GroupStop for each of its
// threads (held or listening, PTRACE_LISTEN), Tool.Continued when a
// SIGCONT has ended it; JoinGroupStop makes a held thread join its
// process's stop so that the stop completes and the parent is notified.
//
// # Breakpoints and watchpoints
//
// Process.SetBreakpoint plants an int3 at an instruction address of a
// process (the main binary or a shared library; text is written through
// /proc/PID/mem). Process.SetWatchpoint programs one of the four debug
// registers (DR0-DR3, DR7 through PTRACE_POKEUSER) in every thread of the
// process: a write or read/write watchpoint on 1, 2, 4 or 8 aligned bytes,
// or an exec watchpoint, which is a hardware breakpoint that leaves the
// text alone. A thread that reaches a breakpoint, or accesses watched
// bytes, stops: Tool.Breakpoint or Tool.Watchpoint is called, and Hold
// keeps the thread there until Thread.Resume, like a syscall entry. The
// SIGTRAPs of these stops are never delivered, nor any other trap of the
// tracer's: the int3 of a breakpoint removed since (or unmapped with its
// library; a table that forgot an int3 left in the text gets the original
// byte back), and the report of a single-step (which the kernel also
// makes at the exit of a syscall stepped into) in a thread the tracer has
// stepped. Any other SIGTRAP (the guest's own int3 or raise) reaches
// Tool.Signal and the guest unchanged. (A guest that single-steps itself
// with the trap flag loses its reports in threads the tracer has
// stepped.)
//
// Stepping over a breakpoint. The instruction under the int3 is emulated
// when it is endbr64 or a nop, a push, a mov between registers, of an
// immediate or of memory into a register, a lea, or an add, or, and, sub,
// xor, cmp or test of registers and immediates (90% of glibc 2.36's
// function entries, pthread_mutex_lock and unlock among them;
// TestDecodeAgainstObjdump checks the decoder on all of libc, and
// TestBreakpointALU the results and flags against the CPU): one stop per
// hit. Memory is accessed with process_vm_readv/writev, which fail where
// the guest's own access would fault; such an access, one a watchpoint
// must see, and a load while another thread of the address space may run
// (process_vm_readv is not an atomic load) make the instruction stepped
// instead. Any other instruction is stepped in place: the original byte goes back, the thread alone executes it
// (PTRACE_SINGLESTEP, or PTRACE_SYSCALL up to the syscall-entry stop of a
// syscall instruction, so that a blocking call never blocks the tracer),
// and the int3 is re-armed. Meanwhile every other thread of the address
// space that could execute guest code is paused with PTRACE_INTERRUPT and
// resumed afterwards, so no thread runs through the breakpoint unseen.
// Held and stopped threads cannot run, so a tool that holds every other
// thread (a scheduler) never causes a pause. A paused thread that was
// blocked in a syscall has the call restarted by the kernel; the tracer
// passes over the restarted call's seccomp stop instead of reporting the
// call twice. Calls that the kernel does not restart after a stop
// (epoll_wait, sigtimedwait, semop, sockets with timeouts: signal(7))
// return EINTR to a paused thread, as after SIGSTOP and SIGCONT.
//
// A stop of the stepping thread before the instruction ran (a signal that
// was pending when it resumed, a group-stop) is handled as usual with the
// int3 back in place: the thread reaches the breakpoint again after it and
// reports it again. A watchpoint the stepped instruction triggers is
// reported after the breakpoint.
//
// Inheritance. A fork child's text is a copy of its parent's, int3s
// included: the child Process starts with a copy of the parent's
// breakpoints (and of those removed), and clearing one in either leaves
// the other's. A breakpoint whose page is unmapped is forgotten when
// cleared: what is mapped there later is not touched. A child
// sharing the address space (vfork, CLONE_VM) shares the set. The kernel
// gives every new thread (of any clone) and every exec'd image empty debug
// registers; the tracer writes the process's watchpoints into each new
// thread before it runs, and fork and vfork children inherit their
// parent's watchpoints. execve empties both sets before Tool.Exec, which
// may plant anew. A watchpoint set while other threads of the process run
// reaches each of them at its next stop.
//
// Caveats, as under a debugger: the address must be the first byte of an
// instruction; a guest reading its own text, and Memory, see the int3s;
// code the guest rewrites is not supported; a breakpoint in a writable
// shared mapping modifies the mapping. The kernel raises these SIGTRAPs
// as forced signals: in a thread that blocks SIGTRAP, or when SIGTRAP is
// ignored, a hit unblocks it in that thread and resets its action to the
// default.
//
// # Guarded calls
//
// Whatever the tool decides, no guest escapes tracing or signals the
// tracer (guard.go): CLONE_UNTRACED is removed from clone and clone3;
// kill, tkill, tgkill, rt_[tg]sigqueueinfo and pidfd_send_signal aimed at
// a thread of the tracer process, setpgid into its process group and
// F_SETOWN/FIOSETOWN naming it fail with EPERM; kill(0), kill(-pgrp) and
// kill(-1) reaching the tracer's group go to the guest processes in it
// only. These calls are always in the filter, checked when a call is about
// to run (after the tool's decision, at its resumption if held); a tool
// that did not subscribe to them does not see them. Command.KeepProcessGroup
// runs the guest in the tracer's process group (as strace does); by
// default it gets one of its own.
//
// # Invariants
//
//   - Everything runs on the tracer thread; Tool methods are never called
//     concurrently and need no locks.
//   - Event order is the order wait4 reports; Tracer.Threads and
//     Process.Threads return deterministic orders (by tid, by creation).
//   - Run returns only when every guest process has been reaped.
//   - A breakpoint's original byte is in the text only while one thread
//     executes it and every other thread that shares the text is stopped.
//
// # Examples
//
// ExampleRun is a tool that counts write(2) calls and makes getpid(2)
// return 42. The examples directory of the module has three whole tools
// built on this package alone: syscount (per-thread, per-process and
// global counts), faultinject (fails chosen calls at a seeded rate) and
// fscwd (rewrites the working directory a guest sees).
package intercept
