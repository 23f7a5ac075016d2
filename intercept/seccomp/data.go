package seccomp

import (
	"encoding/binary"

	"github.com/schedfuzz/schedfuzz/intercept/bpf"
	"golang.org/x/sys/unix"
)

// Audit arch values and syscall number bits the filters test.
const (
	// AuditArchX86_64 is the arch of native 64-bit calls (the syscall
	// instruction in a 64-bit process), and of x32 calls.
	AuditArchX86_64 = unix.AUDIT_ARCH_X86_64
	// AuditArchI386 is the arch of 32-bit calls: int $0x80 (from any
	// process), sysenter/syscall from 32-bit code.
	AuditArchI386 = unix.AUDIT_ARCH_I386
	// X32SyscallBit is __X32_SYSCALL_BIT: native-arch calls with this bit
	// set in the number are x32 ABI calls.
	X32SyscallBit = 0x40000000
)

// Offsets of the fields of struct seccomp_data.
const (
	OffsetNr                 = 0
	OffsetArch               = 4
	OffsetInstructionPointer = 8
	OffsetArgs               = 16
)

// SeccompData is the kernel's struct seccomp_data, the input of a seccomp
// filter.
type SeccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

// Bytes returns d as the 64 bytes the kernel lays out, in native byte
// order, ready for bpf.Exec.
func (d SeccompData) Bytes() []byte {
	b := make([]byte, bpf.SeccompDataSize)
	binary.NativeEndian.PutUint32(b[OffsetNr:], uint32(d.Nr))
	binary.NativeEndian.PutUint32(b[OffsetArch:], d.Arch)
	binary.NativeEndian.PutUint64(b[OffsetInstructionPointer:], d.InstructionPointer)
	for i, a := range d.Args {
		binary.NativeEndian.PutUint64(b[OffsetArgs+8*i:], a)
	}
	return b
}

// Native returns the seccomp_data of a native x86-64 call nr with no
// arguments.
func Native(nr int32) SeccompData { return SeccompData{Nr: nr, Arch: AuditArchX86_64} }

// Evaluate runs prog over d with the bpf interpreter and returns the action
// the kernel would take.
func Evaluate(prog []bpf.Instruction, d SeccompData) (Action, error) {
	r, err := bpf.Exec(prog, d.Bytes())
	return Action(r), err
}
