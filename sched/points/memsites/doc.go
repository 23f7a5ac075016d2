// Package memsites finds the instructions of an x86-64 ELF object that may
// touch memory shared between threads: the candidate sites of memory-level
// scheduling points (-points memory). It disassembles the object's text
// with golang.org/x/arch/x86/x86asm and classifies each instruction; it
// knows nothing of processes or ptrace (sched plants the breakpoints).
//
// # What is a site
//
// An instruction with an explicit memory operand that is not a stack or
// thread-local access, or an atomic read-modify-write:
//
//   - Atomic: every lock-prefixed instruction, xchg with memory (locked
//     by the CPU) and cmpxchg, whatever the operand's base.
//   - Global: a RIP-relative access to writable data (a PT_LOAD segment
//     with PF_W, outside PT_GNU_RELRO: not the GOT, not .rodata), except
//     variables that belong to the runtime or libc (a Go standard-library
//     package's variable such as runtime.writeBarrier or os.Stdout; a C
//     executable's copy-relocated libc object such as stderr).
//   - Pointer: an access through a base or index register other than the
//     stack pointer; rbp counts as the stack pointer in a function that
//     sets it up as a frame pointer (mov rbp, rsp), and r14, the current
//     goroutine under Go's register ABI, is excluded in Go binaries (every
//     Go function's stack-bound check reads through it).
//
// A register that a lea reg, [rip+X] loaded within straight-line code
// points at X (provenance.go): an access through it is Global if X is
// writable data and no site if X is read-only (a switch's jump table, a
// constant table), instead of an unknown Pointer.
//
// Never sites: lea, nop, prefetch and cache-control hints (no access),
// calls and jumps through memory (the GOT and PLT, tables of code), fs
// and gs accesses (thread-local storage, the stack protector's canary),
// vector-indexed gathers and scatters (no single address), and
// instructions x86asm cannot decode.
//
// # Scope
//
// ScopeProgram, for an executable: only the program's own code. In a Go
// binary, functions of the main module and its dependencies
// (debug/buildinfo), not the standard library or runtime. In a C binary,
// the address ranges of DWARF compile units that are not assembly (a
// static binary's libc has no DWARF), or without DWARF every function but
// the C runtime's start-up code. ScopeAll, for a library named on request:
// every function.
//
// Each executable section except the PLT is split at function symbols
// (.symtab, else .dynsym) and each piece decoded from its start, as
// objdump -d does. Instruction boundaries come from a small length
// decoder (length.go) because x86asm gets a few wrong (endbr64,
// vzeroupper) and a linear sweep does not recover from a wrong length; an
// instruction x86asm cannot decode, or decodes with another length, is
// skipped whole. TestObjdump checks boundaries, sites, classes and write
// flags against GNU objdump on every build of testdata/access.c, a Go
// program with its runtime, a static glibc binary and all of libc.
//
// # Names
//
// A site is named after its source line from DWARF, "mem@lf_stack.c:42",
// else its function and offset, "mem@worker+0x1a": the name of its
// scheduling point. Several sites on one line share the name.
//
// # Caching
//
// Cache memoizes each object's table by (file identity, scope) in memory
// and, if given a directory, on disk by build ID (GNU, else Go's) and
// scope, so a second session on the same binary does not disassemble it
// again. A table is immutable once built and may be shared by parallel
// runs. The on-disk format is versioned (a gob of Table); an unreadable or
// stale file is rebuilt and replaced.
package memsites
