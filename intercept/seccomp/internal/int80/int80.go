// Package int80 makes 32-bit system calls with `int $0x80` from a 64-bit
// process, so tests can check what a seccomp filter does with calls whose
// audit arch is AUDIT_ARCH_I386.
package int80

// Available reports whether Syscall is implemented on this architecture.
// Whether the kernel accepts int $0x80 (CONFIG_IA32_EMULATION, the
// ia32_emulation= boot parameter) is another matter: when it does not, the
// instruction raises SIGSEGV.
const Available = available
