package seccomp

import (
	"fmt"
	"slices"

	"github.com/schedfuzz/schedfuzz/intercept/bpf"
)

// Filter describes a seccomp filter by the action for each syscall.
//
// The zero value of every Action field is KillThread: set all of them.
type Filter struct {
	// Syscalls maps native x86-64 syscall numbers to their action. Keys
	// must not have X32SyscallBit set (such calls get X32).
	Syscalls map[uint32]Action
	// Default is the action for every other native syscall number,
	// including numbers the kernel does not know.
	Default Action
	// ForeignArch is the action for every call whose audit arch is not
	// AUDIT_ARCH_X86_64, e.g. int $0x80 from a 64-bit process
	// (AUDIT_ARCH_I386). Their numbers index another table, so Syscalls
	// does not apply to them.
	ForeignArch Action
	// X32 is the action for native-arch calls whose number has
	// X32SyscallBit set (the x32 ABI; also nr == -1).
	X32 Action
}

// Lookup returns the action f prescribes for a call, by definition: the
// program Build returns computes exactly this function of (arch, nr).
func (f Filter) Lookup(arch uint32, nr int32) Action {
	switch {
	case arch != AuditArchX86_64:
		return f.ForeignArch
	case uint32(nr)&X32SyscallBit != 0:
		return f.X32
	}
	if a, ok := f.Syscalls[uint32(nr)]; ok {
		return a
	}
	return f.Default
}

// span is a maximal run of consecutive native syscall numbers [lo, hi]
// sharing an action.
type span struct {
	lo, hi uint32
	act    Action
}

// spans partitions [0, 2^32) into maximal runs of numbers with the same
// action, in increasing order. The numbers with X32SyscallBit set never
// reach the search (they are dispatched before it), so they are simply
// part of whatever span covers them.
func (f Filter) spans() []span {
	keys := make([]uint32, 0, len(f.Syscalls))
	for nr := range f.Syscalls {
		keys = append(keys, nr)
	}
	slices.Sort(keys)
	var out []span
	add := func(lo, hi uint32, act Action) {
		if n := len(out); n > 0 && out[n-1].act == act && out[n-1].hi+1 == lo {
			out[n-1].hi = hi
			return
		}
		out = append(out, span{lo, hi, act})
	}
	next := uint64(0) // first number not yet covered
	for _, nr := range keys {
		if uint64(nr) > next {
			add(uint32(next), nr-1, f.Default)
		}
		add(nr, nr, f.Syscalls[nr])
		next = uint64(nr) + 1
	}
	if next <= 0xffffffff {
		add(uint32(next), 0xffffffff, f.Default)
	}
	return out
}

// Build compiles f into a seccomp BPF program:
//
//	ld  [4]                        ; arch
//	jeq #AUDIT_ARCH_X86_64, +1, +0
//	ret #ForeignArch
//	ld  [0]                        ; nr
//	jset #X32SyscallBit, +0, +1
//	ret #X32
//	...                            ; binary search over spans of numbers
//
// The search is a balanced tree of "jge #lo" over the maximal spans of
// consecutive numbers that share an action, with a return at each leaf:
// a program of 6 + 2s-1 instructions for s spans, at most ceil(log2 s)
// jumps executed per call. A native call executes at most 5 + ceil(log2 s)
// instructions, plus one per long-jump trampoline on its path (the bpf
// builder inserts those only when a subtree exceeds 255 instructions, that
// is for s above about 256).
//
// Build is deterministic: the same Filter (whatever the map's insertion
// order) gives the same program. It fails if an action is not a kind the
// kernel knows, if a key has X32SyscallBit set, or if the program would
// exceed the kernel's 4096 instructions.
func (f Filter) Build() ([]bpf.Instruction, error) {
	for _, c := range []struct {
		name string
		a    Action
	}{{"Default", f.Default}, {"ForeignArch", f.ForeignArch}, {"X32", f.X32}} {
		if !c.a.Valid() {
			return nil, fmt.Errorf("seccomp: %s action %#x is not a seccomp action", c.name, uint32(c.a))
		}
	}
	for nr, a := range f.Syscalls {
		if nr&X32SyscallBit != 0 {
			return nil, fmt.Errorf("seccomp: syscall %#x has the x32 bit set: such calls get the X32 action, not a per-syscall one", nr)
		}
		if !a.Valid() {
			return nil, fmt.Errorf("seccomp: action %#x for syscall %d is not a seccomp action", uint32(a), nr)
		}
	}

	b := bpf.NewProgramBuilder()
	b.AddStmt(bpf.Ld|bpf.W|bpf.Abs, OffsetArch)
	b.AddJump(bpf.Jmp|bpf.Jeq|bpf.K, AuditArchX86_64, bpf.Skip(1), bpf.Skip(0))
	b.AddReturn(uint32(f.ForeignArch))
	b.AddStmt(bpf.Ld|bpf.W|bpf.Abs, OffsetNr)
	b.AddJump(bpf.Jmp|bpf.Jset|bpf.K, X32SyscallBit, bpf.Skip(0), bpf.Skip(1))
	b.AddReturn(uint32(f.X32))
	emitSearch(b, f.spans())
	prog, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	if err := bpf.Validate(prog); err != nil {
		return nil, fmt.Errorf("seccomp: %d syscall spans need a program the kernel would refuse: %w", len(f.spans()), err)
	}
	return prog, nil
}

// emitSearch emits the binary search over spans (sorted, contiguous,
// covering every number the search can see) with A holding nr. The left
// half falls through; the right half starts at a label named after its
// lowest number, unique in the program.
func emitSearch(b *bpf.ProgramBuilder, spans []span) {
	if len(spans) == 1 {
		b.AddReturn(uint32(spans[0].act))
		return
	}
	mid := len(spans) / 2
	label := fmt.Sprintf("nr>=%d", spans[mid].lo)
	b.AddJump(bpf.Jmp|bpf.Jge|bpf.K, spans[mid].lo, bpf.Label(label), bpf.Skip(0))
	emitSearch(b, spans[:mid])
	b.SetLabel(label)
	emitSearch(b, spans[mid:])
}

// Disassemble returns prog disassembled (see bpf.Disassemble), each return
// annotated with its action and each load with the field it reads.
func Disassemble(prog []bpf.Instruction) string {
	return bpf.DisassembleAnnotated(prog, func(pc int, in bpf.Instruction) string {
		switch in.OpCode {
		case bpf.Ret | bpf.RetK:
			return Action(in.K).String()
		case bpf.Ld | bpf.W | bpf.Abs:
			switch in.K {
			case OffsetNr:
				return "nr"
			case OffsetArch:
				return "arch"
			case OffsetInstructionPointer, OffsetInstructionPointer + 4:
				return "instruction_pointer"
			}
			if in.K >= OffsetArgs && in.K < bpf.SeccompDataSize {
				return fmt.Sprintf("args[%d]", (in.K-OffsetArgs)/8)
			}
		}
		return ""
	})
}
