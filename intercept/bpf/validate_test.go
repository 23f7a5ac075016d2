package bpf

import (
	"errors"
	"strings"
	"testing"
)

func ret(k uint32) Instruction { return Stmt(Ret|RetK, k) }

func TestValidate(t *testing.T) {
	rets := func(n int) []Instruction {
		p := make([]Instruction, n)
		for i := range p {
			p[i] = ret(0)
		}
		return p
	}
	tests := []struct {
		name string
		prog []Instruction
		pc   int    // expected ValidationError.PC (ignored when ok)
		want string // substring of the error; "" means valid
	}{
		{"empty", nil, -1, "length 0"},
		{"one ret", rets(1), 0, ""},
		{"max length", rets(MaxInstructions), 0, ""},
		{"too long", rets(MaxInstructions + 1), -1, "length 4097"},
		{"ret a", []Instruction{Stmt(Ret|RetA, 0)}, 0, ""},
		{"unknown opcode", []Instruction{Stmt(0xffff, 0), ret(0)}, 0, "unknown opcode"},
		{"high opcode bits", []Instruction{Stmt(0x100|Ld|W|Abs, 0), ret(0)}, 0, "unknown opcode"},
		{"ret x", []Instruction{Stmt(Ret|0x08, 0)}, 0, "unknown opcode"},
		{"ldh is socket only", []Instruction{Stmt(Ld|H|Abs, 0), ret(0)}, 0, "not allowed in a seccomp filter"},
		{"ldb is socket only", []Instruction{Stmt(Ld|B|Abs, 0), ret(0)}, 0, "not allowed in a seccomp filter"},
		{"ld ind is socket only", []Instruction{Stmt(Ld|W|Ind, 0), ret(0)}, 0, "not allowed in a seccomp filter"},
		{"msh is socket only", []Instruction{Stmt(Ldx|B|Msh, 0), ret(0)}, 0, "not allowed in a seccomp filter"},
		{"mod is socket only", []Instruction{Stmt(Alu|Mod|K, 3), ret(0)}, 0, "not allowed in a seccomp filter"},
		{"ldx abs is not classic", []Instruction{Stmt(Ldx|W|Abs, 0), ret(0)}, 0, "unknown opcode"},
		{"neg with x bit", []Instruction{Stmt(Alu|Neg|X, 0), ret(0)}, 0, "unknown opcode"},
		{"load nr", []Instruction{Stmt(Ld|W|Abs, 0), Stmt(Ret|RetA, 0)}, 0, ""},
		{"load last word", []Instruction{Stmt(Ld|W|Abs, 60), ret(0)}, 0, ""},
		{"load past end", []Instruction{Stmt(Ld|W|Abs, 64), ret(0)}, 0, "load offset 64"},
		{"load huge offset", []Instruction{Stmt(Ld|W|Abs, 0xfffff000), ret(0)}, 0, "load offset"},
		{"misaligned load", []Instruction{Stmt(Ld|W|Abs, 2), ret(0)}, 0, "load offset 2"},
		{"len", []Instruction{Stmt(Ld|W|Len, 0), Stmt(Ldx|W|Len, 0), Stmt(Ret|RetA, 0)}, 0, ""},
		{"div by zero constant", []Instruction{Stmt(Alu|Div|K, 0), ret(0)}, 0, "division by constant zero"},
		{"div by x", []Instruction{Stmt(Alu|Div|X, 0), ret(0)}, 0, ""},
		{"div by constant", []Instruction{Stmt(Alu|Div|K, 3), ret(0)}, 0, ""},
		{"lsh 31", []Instruction{Stmt(Alu|Lsh|K, 31), ret(0)}, 0, ""},
		{"lsh 32", []Instruction{Stmt(Alu|Lsh|K, 32), ret(0)}, 0, "shift by 32"},
		{"rsh 40", []Instruction{Stmt(Alu|Rsh|K, 40), ret(0)}, 0, "shift by 40"},
		{"scratch 15", []Instruction{Stmt(St, 15), Stmt(Ld|Mem, 15), ret(0)}, 0, ""},
		{"scratch 16 store", []Instruction{Stmt(St, 16), ret(0)}, 0, "scratch cell 16"},
		{"scratch 16 load", []Instruction{Stmt(Ldx|Mem, 16), ret(0)}, 0, "scratch cell 16"},
		{"load before store", []Instruction{Stmt(Ld|Mem, 3), ret(0)}, 0, "loaded before it is stored"},
		{"load of another cell", []Instruction{Stmt(Stx, 2), Stmt(Ldx|Mem, 3), ret(0)}, 1, "scratch cell 3"},
		{
			"store on one path only",
			[]Instruction{
				Stmt(Ld|W|Abs, 0),
				Jump(Jmp|Jeq|K, 1, 0, 1),
				Stmt(St, 0),
				Stmt(Ld|Mem, 0),
				Stmt(Ret|RetA, 0),
			}, 3, "scratch cell 0 may be loaded before",
		},
		{
			"store on both paths",
			[]Instruction{
				Stmt(Ld|W|Abs, 0),
				Jump(Jmp|Jeq|K, 1, 0, 2),
				Stmt(St, 0),
				Stmt(Jmp|Ja, 1),
				Stmt(St, 0),
				Stmt(Ld|Mem, 0),
				Stmt(Ret|RetA, 0),
			}, 0, "",
		},
		{
			"store skipped by ja",
			[]Instruction{Stmt(Jmp|Ja, 1), Stmt(St, 0), Stmt(Ld|Mem, 0), ret(0)}, 2, "scratch cell 0",
		},
		{"ja to last", []Instruction{Stmt(Jmp|Ja, 1), ret(0), ret(1)}, 0, ""},
		{"ja past end", []Instruction{Stmt(Jmp|Ja, 2), ret(0), ret(1)}, 0, "outside the 3-instruction program"},
		{"ja huge", []Instruction{Stmt(Jmp|Ja, 0xffffffff), ret(0)}, 0, "outside"},
		{"jeq in range", []Instruction{Jump(Jmp|Jeq|K, 0, 1, 0), ret(0), ret(1)}, 0, ""},
		{"jeq jt past end", []Instruction{Jump(Jmp|Jeq|K, 0, 2, 0), ret(0), ret(1)}, 0, "jump target outside"},
		{"jgt jf past end", []Instruction{Jump(Jmp|Jgt|X, 0, 0, 2), ret(0), ret(1)}, 0, "jump target outside"},
		{"jset at end", []Instruction{ret(0), Jump(Jmp|Jset|K, 0, 0, 0)}, 1, "jump target outside"},
		{"last is not a return", []Instruction{Stmt(Ld|Imm, 0)}, 0, "last instruction is not a return"},
		{"last is not a return 2", []Instruction{ret(0), Stmt(Misc|Tax, 0)}, 1, "last instruction is not a return"},
		{
			"every seccomp opcode",
			[]Instruction{
				Stmt(Ld|W|Abs, 0), Stmt(Ld|W|Len, 0), Stmt(Ldx|W|Len, 0), Stmt(Ld|Imm, 1), Stmt(Ldx|Imm, 2),
				Stmt(St, 0), Stmt(Stx, 1), Stmt(Ld|Mem, 0), Stmt(Ldx|Mem, 1),
				Stmt(Alu|Add|K, 1), Stmt(Alu|Add|X, 0), Stmt(Alu|Sub|K, 1), Stmt(Alu|Sub|X, 0),
				Stmt(Alu|Mul|K, 1), Stmt(Alu|Mul|X, 0), Stmt(Alu|Div|K, 1), Stmt(Alu|Div|X, 0),
				Stmt(Alu|And|K, 1), Stmt(Alu|And|X, 0), Stmt(Alu|Or|K, 1), Stmt(Alu|Or|X, 0),
				Stmt(Alu|Xor|K, 1), Stmt(Alu|Xor|X, 0), Stmt(Alu|Lsh|K, 1), Stmt(Alu|Lsh|X, 0),
				Stmt(Alu|Rsh|K, 1), Stmt(Alu|Rsh|X, 0), Stmt(Alu|Neg, 0), Stmt(Misc|Tax, 0), Stmt(Misc|Txa, 0),
				Stmt(Jmp|Ja, 0),
				Jump(Jmp|Jeq|K, 0, 0, 0), Jump(Jmp|Jeq|X, 0, 0, 0), Jump(Jmp|Jgt|K, 0, 0, 0), Jump(Jmp|Jgt|X, 0, 0, 0),
				Jump(Jmp|Jge|K, 0, 0, 0), Jump(Jmp|Jge|X, 0, 0, 0), Jump(Jmp|Jset|K, 0, 0, 0), Jump(Jmp|Jset|X, 0, 0, 0),
				Stmt(Ret|RetA, 0),
			}, 0, "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.prog)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v\n%s", err, Disassemble(tc.prog))
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || ve.PC != tc.pc {
				t.Fatalf("Validate = %v (pc %d), want pc %d and %q", err, ve.PC, tc.pc, tc.want)
			}
		})
	}
}

func TestIsSeccompOpcode(t *testing.T) {
	n := 0
	for op := 0; op <= 0xffff; op++ {
		if IsSeccompOpcode(uint16(op)) {
			n++
		}
	}
	// 3 word loads/lens, 2 immediates, 2 scratch loads, 2 stores, 2 returns,
	// 2 misc, neg, 9 ALU ops x 2 sources, ja, 4 conditional jumps x 2.
	if want := 3 + 2 + 2 + 2 + 2 + 2 + 1 + 18 + 1 + 8; n != want {
		t.Fatalf("%d seccomp opcodes, want %d", n, want)
	}
}
