package int80

const available = true

// Syscall makes the i386 system call nr with up to three arguments via
// `int $0x80` and returns the kernel's raw result (a negative errno on
// failure).
func Syscall(nr, a1, a2, a3 uint32) int32
