package bpf

import (
	"encoding/binary"
	"fmt"
)

// Instruction is one classic BPF instruction. Its layout is that of the
// kernel's struct sock_filter (code, jt, jf, k), so a []Instruction encodes
// to the bytes a struct sock_fprog points at (see Encode).
type Instruction struct {
	// OpCode is class | size | mode for loads and stores, class | op | src
	// for ALU and jumps, class | rval for returns.
	OpCode uint16
	// JumpIfTrue and JumpIfFalse are the offsets, counted from the next
	// instruction, of the targets of a conditional jump.
	JumpIfTrue, JumpIfFalse uint8
	// K is the generic multi-use field: constant operand, load offset,
	// scratch cell, JA offset or return value.
	K uint32
}

// Instruction classes (the low three bits of OpCode).
const (
	Ld   = 0x00 // A = load
	Ldx  = 0x01 // X = load
	St   = 0x02 // M[k] = A
	Stx  = 0x03 // M[k] = X
	Alu  = 0x04 // A = A op operand
	Jmp  = 0x05 // conditional or unconditional forward jump
	Ret  = 0x06 // return
	Misc = 0x07 // register transfers (TAX, TXA)
)

// Load sizes.
const (
	W = 0x00 // 32-bit word
	H = 0x08 // 16-bit half word (not allowed in seccomp)
	B = 0x10 // byte (not allowed in seccomp)
)

// Load modes.
const (
	Imm = 0x00 // k
	Abs = 0x20 // data[k]
	Ind = 0x40 // data[X+k] (not allowed in seccomp)
	Mem = 0x60 // M[k]
	Len = 0x80 // length of the data
	Msh = 0xa0 // 4*(data[k]&0xf) (not allowed in seccomp)
)

// ALU operations.
const (
	Add = 0x00
	Sub = 0x10
	Mul = 0x20
	Div = 0x30
	Or  = 0x40
	And = 0x50
	Lsh = 0x60
	Rsh = 0x70
	Neg = 0x80
	Mod = 0x90 // accepted for socket filters, not for seccomp
	Xor = 0xa0
)

// Jump operations.
const (
	Ja   = 0x00 // pc += k
	Jeq  = 0x10 // A == operand
	Jgt  = 0x20 // A > operand (unsigned)
	Jge  = 0x30 // A >= operand (unsigned)
	Jset = 0x40 // A & operand != 0
)

// Operand sources for ALU and jump operations.
const (
	K = 0x00 // the constant k
	X = 0x08 // the index register X
)

// Return value sources.
const (
	RetK = 0x00 // return k
	RetA = 0x10 // return A
)

// Misc operations.
const (
	Tax = 0x00 // X = A
	Txa = 0x80 // A = X
)

// Limits enforced by the kernel.
const (
	// MaxInstructions is BPF_MAXINSNS, the longest program accepted.
	MaxInstructions = 4096
	// MemWords is BPF_MEMWORDS, the number of 32-bit scratch cells M[].
	MemWords = 16
	// SeccompDataSize is sizeof(struct seccomp_data), the size of the data
	// a seccomp filter runs over, and the value LD/LDX LEN load for one.
	SeccompDataSize = 64
	// InstructionSize is sizeof(struct sock_filter).
	InstructionSize = 8
)

// Field extraction helpers.

// Class returns the instruction class of op (Ld, Ldx, ..., Misc).
func Class(op uint16) uint16 { return op & 0x07 }

// Size returns the load size of op (W, H, B).
func Size(op uint16) uint16 { return op & 0x18 }

// Mode returns the load mode of op (Imm, Abs, ..., Msh).
func Mode(op uint16) uint16 { return op & 0xe0 }

// Op returns the ALU or jump operation of op.
func Op(op uint16) uint16 { return op & 0xf0 }

// Src returns the operand source of op (K or X).
func Src(op uint16) uint16 { return op & 0x08 }

// RVal returns the return value source of op (RetK or RetA).
func RVal(op uint16) uint16 { return op & 0x18 }

// MiscOp returns the operation of a Misc instruction (Tax or Txa).
func MiscOp(op uint16) uint16 { return op & 0xf8 }

// Stmt returns a non-jump instruction.
func Stmt(op uint16, k uint32) Instruction {
	return Instruction{OpCode: op, K: k}
}

// Jump returns a conditional jump with raw offsets (prefer ProgramBuilder,
// which resolves labels).
func Jump(op uint16, k uint32, jt, jf uint8) Instruction {
	return Instruction{OpCode: op, JumpIfTrue: jt, JumpIfFalse: jf, K: k}
}

// IsConditionalJump reports whether in is a jump with two targets (any Jmp
// class instruction other than JA).
func (in Instruction) IsConditionalJump() bool {
	return Class(in.OpCode) == Jmp && Op(in.OpCode) != Ja
}

// IsReturn reports whether in is a return instruction.
func (in Instruction) IsReturn() bool { return Class(in.OpCode) == Ret }

// Encode returns prog as the kernel's array of struct sock_filter: 8 bytes
// per instruction (code u16, jt u8, jf u8, k u32) in native byte order, which
// is little-endian on every architecture schedfuzz runs on. The result can
// be written into another process's memory and pointed at by a struct
// sock_fprog there.
func Encode(prog []Instruction) []byte {
	b := make([]byte, InstructionSize*len(prog))
	for i, in := range prog {
		o := b[InstructionSize*i:]
		binary.NativeEndian.PutUint16(o[0:], in.OpCode)
		o[2] = in.JumpIfTrue
		o[3] = in.JumpIfFalse
		binary.NativeEndian.PutUint32(o[4:], in.K)
	}
	return b
}

// Decode is the inverse of Encode. It fails if len(b) is not a multiple of
// 8; it does not validate the program.
func Decode(b []byte) ([]Instruction, error) {
	if len(b)%InstructionSize != 0 {
		return nil, fmt.Errorf("bpf: decode: %d bytes is not a whole number of %d-byte instructions", len(b), InstructionSize)
	}
	prog := make([]Instruction, len(b)/InstructionSize)
	for i := range prog {
		o := b[InstructionSize*i:]
		prog[i] = Instruction{
			OpCode:      binary.NativeEndian.Uint16(o[0:]),
			JumpIfTrue:  o[2],
			JumpIfFalse: o[3],
			K:           binary.NativeEndian.Uint32(o[4:]),
		}
	}
	return prog, nil
}
