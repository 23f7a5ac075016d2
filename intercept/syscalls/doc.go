// Package syscalls names and decodes Linux system calls for tools built on
// package intercept: the complete x86-64 table, the i386 (`int $0x80`) and
// x32 tables, per-call argument signatures, and an strace-style formatter.
// It is pure Go and knows nothing about ptrace, so everything it prints can
// be tested on recorded events.
//
// # Design
//
// Tables. Each ABI has a name table indexed by number (names_amd64.go,
// transcribed from the kernel's syscall_64.tbl and syscall_32.tbl) and an
// Info per number, built once at package initialization and never changed
// after: the name, the argument signature and how to show the result.
// Signatures live in table_amd64.go, keyed by name; an i386 or x32 call
// borrows the x86-64 signature of the same name when every argument of it
// means the same in that ABI (numbers, fds, paths, byte buffers, flag
// words) and shows its arguments in hex otherwise. On other architectures
// the tables are empty and every call prints as syscall_N with hex
// arguments.
//
// Typed arguments. An Arg is a Kind (fd, path, open flags, sockaddr,
// timespec, sigset, ...) plus, where needed, the index of a related
// argument (a buffer's length, the flags that decide whether a mode is
// shown), a field name shown as "name=" (clone), and a condition on
// another argument's bits. Calls whose arguments depend on an operation
// (futex, fcntl, prctl) pick one of several static signatures from their
// arguments.
//
// Two phases. Memory is only meaningful at the stop where it is read: an
// execve's path is gone at its exit, a read's buffer is filled only then.
// Printer.Enter formats every in-argument at the syscall-entry stop and
// stores the text in the Event; out-arguments get their address as a
// placeholder. Printer.Exit formats out-arguments (and the exit half of
// in/out ones: a poll's revents, an accept's address length) and the
// result. Event.AppendTo assembles the line. A call that never returns
// (exit_group, a thread killed while blocked) prints its entry text and
// "= ?".
//
// Memory. Guest memory is read through Memory (ReadAt with the guest
// address as the offset), which *intercept.Memory satisfies; MemMap is a
// recorded address space for tests. Strings and buffers are cut at
// Printer.Limit bytes (strace -s, default 32) and quoted with \n, \t, \r,
// \v, \f, \", \\ and \xNN escapes, with "..." after the closing quote when
// cut; paths are shown up to PATH_MAX. An unreadable pointer is shown as
// its address.
//
// Cost. An Event owns its buffers and is meant to be reused for every call
// of one thread: after the first few calls, Enter, Exit and AppendTo do not
// allocate (beyond what Memory.ReadAt does), so a tracer pays for the
// reads it needs and the formatting, not for garbage.
//
// # Invariants
//
//   - The package has no mutable global state: tables are built at
//     initialization and only read afterwards. A Printer is read-only during
//     formatting and may be shared; an Event belongs to one goroutine.
//   - Formatting never fails: unreadable memory, unknown numbers and
//     impossible values are printed, not reported.
package syscalls
