package bpf

import (
	"fmt"
	"strings"
)

var aluNames = map[uint16]string{
	Add: "add", Sub: "sub", Mul: "mul", Div: "div", Or: "or", And: "and",
	Lsh: "lsh", Rsh: "rsh", Neg: "neg", Mod: "mod", Xor: "xor",
}

var jmpNames = map[uint16]string{
	Ja: "ja", Jeq: "jeq", Jgt: "jgt", Jge: "jge", Jset: "jset",
}

// imm formats a constant: decimal when small, hex otherwise (return values,
// audit arch values and masks read better in hex).
func imm(k uint32) string {
	if k < 0x10000 {
		return fmt.Sprintf("#%d", k)
	}
	return fmt.Sprintf("#%#x", k)
}

// String disassembles in alone, in the syntax of the kernel's bpf_dbg
// (tools/bpf). Jump targets are relative ("+3" is three instructions after
// the next one); Disassemble prints absolute targets instead.
func (in Instruction) String() string {
	return in.format(-1)
}

// format disassembles in, located at pc; pc < 0 means unknown, which makes
// jump targets relative.
func (in Instruction) format(pc int) string {
	op, k := in.OpCode, in.K
	target := func(off uint64) string {
		if pc < 0 {
			return fmt.Sprintf("+%d", off)
		}
		return fmt.Sprintf("%d", uint64(pc)+1+off)
	}
	switch op {
	case Ld | W | Abs:
		return fmt.Sprintf("ld [%d]", k)
	case Ld | H | Abs:
		return fmt.Sprintf("ldh [%d]", k)
	case Ld | B | Abs:
		return fmt.Sprintf("ldb [%d]", k)
	case Ld | W | Ind:
		return fmt.Sprintf("ld [x+%d]", k)
	case Ld | H | Ind:
		return fmt.Sprintf("ldh [x+%d]", k)
	case Ld | B | Ind:
		return fmt.Sprintf("ldb [x+%d]", k)
	case Ld | W | Len:
		return "ld #len"
	case Ldx | W | Len:
		return "ldx #len"
	case Ld | Imm:
		return "ld " + imm(k)
	case Ldx | Imm:
		return "ldx " + imm(k)
	case Ld | Mem:
		return fmt.Sprintf("ld M[%d]", k)
	case Ldx | Mem:
		return fmt.Sprintf("ldx M[%d]", k)
	case Ldx | B | Msh:
		return fmt.Sprintf("ldxb 4*([%d]&0xf)", k)
	case St:
		return fmt.Sprintf("st M[%d]", k)
	case Stx:
		return fmt.Sprintf("stx M[%d]", k)
	case Ret | RetK:
		return "ret " + imm(k)
	case Ret | RetA:
		return "ret a"
	case Misc | Tax:
		return "tax"
	case Misc | Txa:
		return "txa"
	case Alu | Neg:
		return "neg"
	case Jmp | Ja:
		return "ja " + target(uint64(k))
	}
	switch Class(op) {
	case Alu:
		if name, ok := aluNames[Op(op)]; ok && Op(op) != Neg && op&^0xf8 == Alu {
			if Src(op) == X {
				return name + " x"
			}
			return name + " " + imm(k)
		}
	case Jmp:
		if name, ok := jmpNames[Op(op)]; ok && Op(op) != Ja && op&^0xf8 == Jmp {
			operand := imm(k)
			if Src(op) == X {
				operand = "x"
			}
			return fmt.Sprintf("%s %s, %s, %s", name, operand,
				target(uint64(in.JumpIfTrue)), target(uint64(in.JumpIfFalse)))
		}
	}
	return fmt.Sprintf("unknown op=%#04x jt=%d jf=%d k=%#x", op, in.JumpIfTrue, in.JumpIfFalse, k)
}

// Disassemble returns prog one instruction a line, each prefixed by its
// index, with absolute jump targets:
//
//	0: ld [4]
//	1: jeq #0xc000003e, 3, 2
func Disassemble(prog []Instruction) string {
	return DisassembleAnnotated(prog, nil)
}

// DisassembleAnnotated is Disassemble with a comment per instruction:
// annotate (if not nil) returns a comment for the instruction at pc, or "".
func DisassembleAnnotated(prog []Instruction, annotate func(pc int, in Instruction) string) string {
	var sb strings.Builder
	for pc, in := range prog {
		line := fmt.Sprintf("%4d: %s", pc, in.format(pc))
		if annotate != nil {
			if c := annotate(pc, in); c != "" {
				line = fmt.Sprintf("%-40s ; %s", line, c)
			}
		}
		sb.WriteString(line)
		sb.WriteByte('\n')
	}
	return sb.String()
}
