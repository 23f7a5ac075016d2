// Package intercept runs an unmodified Linux x86-64 program under syscall
// interception (ptrace plus a seccomp-bpf filter) and lets a Tool see and
// steer every syscall of every thread of every process in the program's
// tree. It is the framework schedfuzz is built on, in the spirit of Reverie
// and tvisor, and usable for other tools (tracers, fault injectors).
//
// # Design
//
// One tracer, one thread. Run starts a goroutine locked to an OS thread
// for the whole run (pinned to Options.CPU; afterwards its affinity is
// restored and the thread goes back to the runtime). That thread forks the
// guest, is the ptrace
// tracer of every guest thread, waits with wait4(-1, __WALL|__WNOTHREAD),
// and calls the tool's handlers inline. Handing stops between goroutines
// costs 4-5x more per stop, so nothing here does. __WNOTHREAD keeps
// several tracers (parallel runs) and os/exec in one process from stealing
// each other's children. The only state shared with another goroutine is
// the set of guest pids that cancellation kills (liveSet; a leaf lock).
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
// guest outlives the tracer.
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
// # Invariants
//
//   - Everything runs on the tracer thread; Tool methods are never called
//     concurrently and need no locks.
//   - Event order is the order wait4 reports; Tracer.Threads and
//     Process.Threads return deterministic orders (by tid, by creation).
//   - Run returns only when every guest process has been reaped.
//
// # Example
//
// A tool that counts the write(2) calls of every thread and makes every
// getpid(2) return 42:
//
//	type counter struct {
//		intercept.NopTool
//		writes map[int]int
//	}
//
//	func (c *counter) Subscription() intercept.Subscription {
//		return intercept.SubscribeTo(unix.SYS_WRITE, unix.SYS_GETPID)
//	}
//
//	func (c *counter) SyscallEnter(t *intercept.Thread, s *intercept.Syscall) intercept.Action {
//		switch s.Nr {
//		case unix.SYS_WRITE:
//			c.writes[t.Tid]++
//		case unix.SYS_GETPID:
//			return intercept.Emulate(42)
//		}
//		return intercept.Continue()
//	}
//
//	res, err := intercept.Run(ctx, &intercept.Command{Path: "/bin/echo",
//		Args: []string{"echo", "hi"}}, &counter{writes: map[int]int{}},
//		intercept.Options{CPU: 0})
package intercept
