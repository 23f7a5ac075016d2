package bpf

import (
	"encoding/binary"
	"fmt"
)

// ExecError says why Exec could not run a program to a return. Programs that
// pass Validate never produce one when run over 64 bytes of data.
type ExecError struct {
	PC          int
	Instruction Instruction
	Reason      string
}

func (e *ExecError) Error() string {
	if e.PC < 0 {
		return "bpf: exec: " + e.Reason
	}
	return fmt.Sprintf("bpf: exec: instruction %d (%v): %s", e.PC, e.Instruction, e.Reason)
}

// Exec runs prog over data the way the kernel runs a seccomp filter over
// struct seccomp_data and returns the value of the return instruction it
// reaches. See ExecSteps.
func Exec(prog []Instruction, data []byte) (uint32, error) {
	ret, _, err := ExecSteps(prog, data)
	return ret, err
}

// ExecSteps is Exec that also reports how many instructions were executed,
// the return included (the cost of one evaluation).
//
// Semantics follow the kernel's classic BPF (as converted by
// bpf_convert_filter and run by the eBPF interpreter or JIT):
//
//   - A, X and the scratch cells start at zero;
//   - LD|W|ABS loads a 32-bit word in native byte order (seccomp_data is
//     filled in host order), unlike the network-order loads of socket
//     filters;
//   - LD|W|LEN and LDX|W|LEN load len(data) (64 for seccomp_data);
//   - arithmetic is 32-bit and wraps; a shift by X uses X&31;
//   - a division by X == 0 makes the program return 0 immediately, as the
//     kernel's converted code does.
//
// Only the opcodes seccomp allows are executed (see Validate). Exec does
// not require a validated program: an instruction the kernel would have
// rejected (unknown opcode, misaligned or out-of-range load, division by a
// constant zero, scratch cell out of range, jump past the end) or running
// off the end is reported as an *ExecError when it is reached. Jumps are
// unsigned offsets, so the program counter only moves forward and
// ExecSteps executes at most len(prog) instructions: it always terminates.
func ExecSteps(prog []Instruction, data []byte) (ret uint32, steps int, err error) {
	var (
		a, x uint32
		mem  [MemWords]uint32
	)
	fail := func(pc int, format string, args ...any) (uint32, int, error) {
		return 0, steps, &ExecError{PC: pc, Instruction: prog[pc], Reason: fmt.Sprintf(format, args...)}
	}
	pc := 0
	for pc < len(prog) {
		in := prog[pc]
		steps++
		op, k := in.OpCode, in.K
		next := pc + 1
		switch Class(op) {
		case Ld, Ldx:
			var v uint32
			switch op &^ 0x01 { // mode and size, class bit cleared
			case W | Abs:
				if op != Ld|W|Abs {
					return fail(pc, "unknown opcode %#04x", op)
				}
				if k%4 != 0 || uint64(k)+4 > uint64(len(data)) {
					return fail(pc, "load of the 32-bit word at offset %d: not aligned or outside the %d-byte data", k, len(data))
				}
				v = binary.NativeEndian.Uint32(data[k:])
			case W | Len:
				v = uint32(len(data))
			case Imm:
				v = k
			case Mem:
				if k >= MemWords {
					return fail(pc, "scratch cell %d out of range", k)
				}
				v = mem[k]
			default:
				return fail(pc, "opcode %#04x is not allowed in seccomp", op)
			}
			if Class(op) == Ld {
				a = v
			} else {
				x = v
			}
		case St, Stx:
			if op != St && op != Stx {
				return fail(pc, "unknown opcode %#04x", op)
			}
			if k >= MemWords {
				return fail(pc, "scratch cell %d out of range", k)
			}
			if op == St {
				mem[k] = a
			} else {
				mem[k] = x
			}
		case Alu:
			if !seccompOpcodes[op] {
				return fail(pc, "opcode %#04x is not allowed in seccomp", op)
			}
			if Op(op) == Neg {
				a = -a
				break
			}
			operand := k
			if Src(op) == X {
				operand = x
			}
			switch Op(op) {
			case Add:
				a += operand
			case Sub:
				a -= operand
			case Mul:
				a *= operand
			case Div:
				if operand == 0 {
					if Src(op) == K {
						return fail(pc, "division by constant zero")
					}
					return 0, steps, nil // kernel: A/0 with X == 0 returns 0
				}
				a /= operand
			case And:
				a &= operand
			case Or:
				a |= operand
			case Xor:
				a ^= operand
			case Lsh, Rsh:
				if Src(op) == K && k >= 32 {
					return fail(pc, "shift by %d", k)
				}
				if Op(op) == Lsh {
					a <<= operand & 31
				} else {
					a >>= operand & 31
				}
			}
		case Jmp:
			if !seccompOpcodes[op] {
				return fail(pc, "unknown opcode %#04x", op)
			}
			if Op(op) == Ja {
				if uint64(k) >= uint64(len(prog)-pc-1) {
					return fail(pc, "jump past the end of the %d-instruction program", len(prog))
				}
				next = pc + 1 + int(k)
				break
			}
			operand := k
			if Src(op) == X {
				operand = x
			}
			var cond bool
			switch Op(op) {
			case Jeq:
				cond = a == operand
			case Jgt:
				cond = a > operand
			case Jge:
				cond = a >= operand
			case Jset:
				cond = a&operand != 0
			}
			if cond {
				next = pc + 1 + int(in.JumpIfTrue)
			} else {
				next = pc + 1 + int(in.JumpIfFalse)
			}
			if next >= len(prog) {
				return fail(pc, "jump past the end of the %d-instruction program", len(prog))
			}
		case Ret:
			switch op {
			case Ret | RetK:
				return k, steps, nil
			case Ret | RetA:
				return a, steps, nil
			}
			return fail(pc, "unknown opcode %#04x", op)
		case Misc:
			switch op {
			case Misc | Tax:
				x = a
			case Misc | Txa:
				a = x
			default:
				return fail(pc, "unknown opcode %#04x", op)
			}
		}
		pc = next
	}
	if len(prog) == 0 {
		return 0, 0, &ExecError{PC: -1, Reason: "empty program"}
	}
	return 0, steps, &ExecError{PC: len(prog) - 1, Instruction: prog[len(prog)-1], Reason: "ran off the end of the program without a return"}
}
