// Package bpf is classic BPF (cBPF) as the Linux kernel accepts it for
// seccomp filters: the instruction type, a builder with symbolic labels, the
// kernel's validation rules, an interpreter, an encoder and a disassembler.
// Package seccomp builds its filters with it; tests run the filters here
// instead of in the kernel.
//
// # Design
//
// Instruction has the layout of the kernel's struct sock_filter and Encode
// produces the exact bytes a struct sock_fprog points at, so a program can
// be handed to seccomp(2) in this process or written into a traced
// process's memory and installed there.
//
// ProgramBuilder assembles programs with forward jumps to named labels
// (Label) or relative targets (Skip). Conditional jumps have 8-bit offsets;
// when a target is farther than 255 instructions Build inserts a BPF_JA
// trampoline (32-bit offset) after the jump instead of failing, iterating
// until every jump is in range. The builder checks structure only; Validate
// checks what the kernel checks.
//
// Validate mirrors bpf_check_classic (net/core/filter.c) followed by
// seccomp_check_filter (kernel/seccomp.c): length 1..4096, only the opcodes
// seccomp allows, aligned in-bounds 32-bit loads from the 64-byte struct
// seccomp_data, no division by a zero constant, scratch cells stored before
// they are loaded on every path, jumps in range, and a return at the end.
// It returns a *ValidationError naming the offending instruction.
//
// Exec (and ExecSteps, which also counts executed instructions) interprets
// a program over a byte slice with the kernel's semantics for seccomp. Loads
// are 32-bit words in NATIVE byte order (little-endian on x86-64), because
// the kernel fills struct seccomp_data in host order. This is why
// golang.org/x/net/bpf's VM is not used: it implements socket-filter
// semantics, where absolute loads read packet data in network (big-endian)
// order, so it would see the syscall number 1 as 0x01000000. Exec only
// executes the seccomp subset (no LD|IND, no byte or half-word loads, no
// MSH, no MOD) and reports anything the kernel would have refused as an
// *ExecError instead of panicking.
//
// # Invariants
//
//   - Jump offsets are unsigned, so control only moves forward: Exec runs at
//     most len(prog) instructions and always terminates, validated or not.
//   - A program that passes Validate runs to a return under Exec, without
//     error, on any 64-byte input (checked by FuzzExec).
//   - Decode(Encode(p)) == p for every p.
//   - Build never emits a conditional jump farther than 255 instructions,
//     and Skip targets count builder instructions, not trampolines.
//
// # Example
//
// ExampleProgramBuilder builds a program with a label, validates it,
// disassembles it and runs it on two inputs.
package bpf
