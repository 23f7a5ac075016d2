//go:build !amd64

package int80

const available = false

// Syscall panics: int $0x80 only exists on x86-64 here.
func Syscall(nr, a1, a2, a3 uint32) int32 {
	panic("int80: not supported on this architecture")
}
