// Package symbols turns names into runtime addresses in a guest process:
// function entries and global variables from ELF symbol tables, source
// lines and inlined copies of functions from DWARF, and the load bias of
// every mapped object from /proc/PID/maps. The tracer uses it to plant
// int3 breakpoints at scheduling points (pthread and Go sync entry points,
// -yield-at func or file.c:LINE) and hardware watchpoints on globals.
// Pure Go: debug/elf and debug/dwarf; no ptrace here.
//
// # Design
//
// Object is one parsed ELF file (Open, or Cache.Open). Symbols come from
// .symtab and .dynsym merged (a function exported by a library is in
// both; a stripped binary has only .dynsym, a static one only .symtab),
// and from a separate debug file found by build ID under the cache's debug
// directories when the object itself lacks them. Version suffixes are
// split off: "pthread_mutex_lock@@GLIBC_2.2.5" in a .symtab and the
// .gnu.version entry of a .dynsym symbol both give base name
// pthread_mutex_lock, version GLIBC_2.2.5; lookups use the base name (all
// versions) or name@VER (one). Aliases, several names at one address
// (pthread_mutex_lock, __pthread_mutex_lock and ___pthread_mutex_lock in
// static glibc), collapse to one address in Funcs; Names lists them.
// IFUNC symbols are flagged (KindIFunc) and never returned by Funcs: their
// value is the resolver ld.so runs, not code the program calls.
//
// DWARF is read on first use (Lines, Inlined) through the descriptor the
// object keeps open, so a file replaced on disk after it was opened is
// still read correctly (a separate debug file is opened then, and must
// still carry the object's build ID). Lines walks the line tables of the compile units
// whose file table names a matching file; Inlined walks every DIE once
// and indexes DW_TAG_inlined_subroutine by the name of its abstract
// origin.
//
// # Address arithmetic
//
// Symbol values, DWARF addresses and line-table addresses are link-time
// virtual addresses (vaddr). An ET_EXEC object (non-PIE executables,
// static glibc binaries, Go binaries by default) runs at those addresses.
// An ET_DYN object (PIE executables, shared libraries, ld.so, Go
// -buildmode=pie) is shifted by one load bias: runtime = vaddr + bias.
// MappingBias derives the bias from any one mapping: the PT_LOAD segment p
// holding the mapping's file offset was mapped so that
//
//	bias = mapping.start - (p.vaddr - p.offset + mapping.offset)
//
// which is right for every mapping of the modern multi-segment layout
// (r-- headers at offset 0, then r-x text, r-- rodata, rw- data, each its
// own mapping; RELRO split off read-only), for the older one (r-x from
// offset 0) and for mappings split later. One page of the file can belong
// to two segments (the end of .rodata and the start of RELRO data share a
// page in gcc's PIE layout, mapped twice), so a lone read-only mapping can
// be ambiguous; the text mapping never is. LoadImages takes the bias from
// each executable mapping of an executable segment (one Image per loaded
// copy) and assigns the other mappings to the image they are consistent
// with, so a library ld.so is halfway through mapping (its first mmap
// reserves the whole span read-only) or a file the program mmaps as data
// is not reported.
//
// Objects tracks one process: given fresh maps (at the post-exec stop,
// after each mmap or mprotect that adds PROT_EXEC, after munmap) it
// returns the images that appeared, with their bias, and those that went
// away. Mapped files are opened by path when the path still names the
// mapped inode, else through /proc/PID/map_files/START-END (deleted or
// replaced files, memfds).
//
// # Caching
//
// Cache is keyed by the opened file's (device, inode, size, mtime): libc,
// mapped by every process of every run, is parsed once per session; a
// rebuilt binary gets a new entry. Failures (a locale archive is not ELF)
// are cached too. A Cache is safe for concurrent use (a mutex, and
// concurrent opens of one file wait for the first parse), so parallel runs
// can share one. Objects are immutable after parsing except for their
// DWARF indexes and a kept table read on first use, each once under a
// sync.Once: safe to share. An Objects
// tracker is per process and not safe for concurrent use.
//
// With KeepOnDisk, symbol tables are kept by build ID as the table the
// object uses in memory (disk.go, table.go: fixed-size records read in
// place, and only once a symbol is looked up), and the files each program's processes mapped are remembered
// (SavePreload), so that a later session reads their tables ahead,
// concurrently with its other start-up work (Preload, preload.go).
//
// # Limits
//
//   - x86-64 ELF64 only; C++ names are matched mangled (no demangling).
//   - A stripped binary keeps only .dynsym: its internal functions and
//     static variables are not found (an empty result, not an error) unless
//     a debug file with its build ID is installed.
//   - Thread-local variables have no single address; Data refuses them.
//   - Inlined copies need DWARF: for a Go binary built with -ldflags=-w,
//     or C without -g, only out-of-line entries are found.
//   - Inlined copy entries are DW_AT_entry_pc when present (gcc), else the
//     lowest address of the copy (Go), which the compiler places first.
//   - The vDSO is not an object here (schedfuzz disables it anyway).
//   - /proc/PID/maps paths containing a newline are escaped by the kernel
//     and are not unescaped.
package symbols
