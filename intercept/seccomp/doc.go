// Package seccomp compiles syscall subscriptions into seccomp BPF filters
// for x86-64 and installs them.
//
// A Filter gives an Action per native syscall number (Syscalls), one for
// every other native number (Default), one for calls of any other audit
// arch (ForeignArch) and one for x32 calls (X32). Filter.Build turns it into
// a program for package bpf; Install loads a program on the calling thread;
// Evaluate runs one in the bpf interpreter, for tests. schedfuzz uses Trace
// for subscribed calls and Allow for the rest; the intercept package writes
// bpf.Encode(prog) into the traced process and injects seccomp(2) there
// (SysSeccomp, SetModeFilter).
//
// # Design and invariants
//
// Arch first. The program checks seccomp_data.arch before anything else,
// and then the x32 bit, because a syscall number only means something
// together with its ABI: 20 is writev natively but getpid through
// int $0x80. Calls of a foreign arch (int $0x80 from a 64-bit process is
// AUDIT_ARCH_I386) get ForeignArch, native calls with X32SyscallBit get
// X32; per-syscall actions apply only to native x86-64 numbers. schedfuzz
// sets both to Trace with a tag, so such calls neither escape tracing nor
// kill the program.
//
// Binary search over spans. Native numbers are grouped into maximal spans
// of consecutive numbers sharing an action, and the program is a balanced
// binary search tree of "jge" over the spans' starts, with a return per
// leaf (as gVisor's pkg/seccomp does). A call executes O(log spans)
// instructions, at most 5 + ceil(log2 spans) plus a BPF_JA trampoline where
// a conditional jump had to reach farther than 255 instructions: 15 even
// when each of the 471 x86-64 syscalls has its own action, instead of a
// linear chain of hundreds of "jeq".
//
// Only nr and arch. The program loads no other field of seccomp_data: no
// argument, no instruction pointer, and uses only the instructions the
// kernel's action-cache emulator understands (ld [0], ld [4], jeq/jge/
// jgt/jset with a constant, ja, ret with a constant). Since Linux 5.11 the
// kernel emulates a new filter for every syscall number when it is
// attached (seccomp_cache_prepare, seccomp_is_const_allow) and, for the
// numbers whose result is a constant SECCOMP_RET_ALLOW, sets a bit that
// lets later calls skip every filter: unsubscribed calls then cost nothing.
// A single argument load would make every call run the filter. Tests check
// this with a copy of the kernel's emulator. (Linux also always passes
// uretprobe and uprobe, native numbers 335 and 336, through this cache,
// whatever the filter says.)
//
// Determinism. Build sorts the syscall numbers, so the same Filter yields
// the same program, instruction for instruction, whatever the map's
// insertion order.
//
// Install applies a filter to the calling thread only (no TSYNC), after
// PR_SET_NO_NEW_PRIVS; the caller locks its goroutine to the thread.
//
// # Example
//
// ExampleFilter builds a filter that stops at futex(2) and clone(2) for
// the tracer, lets every other native call run, and stops, tagged, at
// int $0x80 and x32 calls, and evaluates it as the kernel would.
package seccomp
