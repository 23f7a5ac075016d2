package bpf

import (
	"errors"
	"strings"
	"testing"
)

// retA appends "ret a" to a straight-line program computing A.
func retA(p ...Instruction) []Instruction { return append(p, Stmt(Ret|RetA, 0)) }

func TestExec(t *testing.T) {
	data := seccompData(39, 0xc000003e) // getpid, x86-64
	tests := []struct {
		name  string
		prog  []Instruction
		want  uint32
		steps int
	}{
		{"ret k", []Instruction{ret(7)}, 7, 1},
		{"ret a starts at zero", retA(), 0, 1},
		{"x starts at zero", retA(Stmt(Misc|Txa, 0)), 0, 2},
		{"load nr native order", retA(Stmt(Ld|W|Abs, 0)), 39, 2},
		{"load arch", retA(Stmt(Ld|W|Abs, 4)), 0xc000003e, 2},
		{"load last word", retA(Stmt(Ld|W|Abs, 60)), 0x3f3e3d3c, 2},
		{"ld len", retA(Stmt(Ld|W|Len, 0)), 64, 2},
		{"ldx len", retA(Stmt(Ldx|W|Len, 0), Stmt(Misc|Txa, 0)), 64, 3},
		{"ld imm", retA(Stmt(Ld|Imm, 0xdeadbeef)), 0xdeadbeef, 2},
		{"ldx imm tax txa", retA(Stmt(Ldx|Imm, 5), Stmt(Misc|Txa, 0), Stmt(Alu|Add|K, 1), Stmt(Misc|Tax, 0), Stmt(Ld|Imm, 0), Stmt(Misc|Txa, 0)), 6, 7},
		{"scratch", retA(Stmt(Ld|Imm, 11), Stmt(St, 15), Stmt(Ldx|Imm, 12), Stmt(Stx, 0), Stmt(Ld|Mem, 0), Stmt(Misc|Tax, 0), Stmt(Ld|Mem, 15), Stmt(Alu|Sub|X, 0)), 0xffffffff, 9},
		{"add wraps", retA(Stmt(Ld|Imm, 0xffffffff), Stmt(Alu|Add|K, 2)), 1, 3},
		{"sub", retA(Stmt(Ld|Imm, 10), Stmt(Alu|Sub|K, 3)), 7, 3},
		{"mul wraps", retA(Stmt(Ld|Imm, 0x10000), Stmt(Alu|Mul|K, 0x10001)), 0x10000, 3},
		{"div k", retA(Stmt(Ld|Imm, 100), Stmt(Alu|Div|K, 7)), 14, 3},
		{"div x", retA(Stmt(Ld|Imm, 100), Stmt(Ldx|Imm, 3), Stmt(Alu|Div|X, 0)), 33, 4},
		{"div by x zero returns 0", retA(Stmt(Ld|Imm, 100), Stmt(Alu|Div|X, 0), Stmt(Ld|Imm, 5)), 0, 2},
		{"and", retA(Stmt(Ld|W|Abs, 4), Stmt(Alu|And|K, 0xff)), 0x3e, 3},
		{"or x", retA(Stmt(Ldx|Imm, 0xf0), Stmt(Ld|Imm, 0x0f), Stmt(Alu|Or|X, 0)), 0xff, 4},
		{"xor", retA(Stmt(Ld|Imm, 0xff), Stmt(Alu|Xor|K, 0x0f)), 0xf0, 3},
		{"lsh", retA(Stmt(Ld|Imm, 1), Stmt(Alu|Lsh|K, 31)), 0x80000000, 3},
		{"rsh", retA(Stmt(Ld|Imm, 0x80000000), Stmt(Alu|Rsh|K, 31)), 1, 3},
		{"lsh x masks to 5 bits", retA(Stmt(Ldx|Imm, 33), Stmt(Ld|Imm, 1), Stmt(Alu|Lsh|X, 0)), 2, 4},
		{"rsh x masks to 5 bits", retA(Stmt(Ldx|Imm, 32), Stmt(Ld|Imm, 8), Stmt(Alu|Rsh|X, 0)), 8, 4},
		{"neg", retA(Stmt(Ld|Imm, 1), Stmt(Alu|Neg, 0)), 0xffffffff, 3},
		{"ja", []Instruction{Stmt(Jmp|Ja, 1), ret(1), ret(2)}, 2, 2},
		{"ja 0", []Instruction{Stmt(Jmp|Ja, 0), ret(1), ret(2)}, 1, 2},
		{"jeq true", []Instruction{Stmt(Ld|W|Abs, 0), Jump(Jmp|Jeq|K, 39, 1, 0), ret(1), ret(2)}, 2, 3},
		{"jeq false", []Instruction{Stmt(Ld|W|Abs, 0), Jump(Jmp|Jeq|K, 40, 1, 0), ret(1), ret(2)}, 1, 3},
		{"jgt equal is false", []Instruction{Stmt(Ld|W|Abs, 0), Jump(Jmp|Jgt|K, 39, 1, 0), ret(1), ret(2)}, 1, 3},
		{"jgt unsigned", []Instruction{Stmt(Ld|Imm, 0xffffffff), Jump(Jmp|Jgt|K, 1, 1, 0), ret(1), ret(2)}, 2, 3},
		{"jge equal is true", []Instruction{Stmt(Ld|W|Abs, 0), Jump(Jmp|Jge|K, 39, 1, 0), ret(1), ret(2)}, 2, 3},
		{"jge less", []Instruction{Stmt(Ld|W|Abs, 0), Jump(Jmp|Jge|K, 40, 1, 0), ret(1), ret(2)}, 1, 3},
		{"jset", []Instruction{Stmt(Ld|Imm, 0x40000001), Jump(Jmp|Jset|K, 0x40000000, 1, 0), ret(1), ret(2)}, 2, 3},
		{"jset clear", []Instruction{Stmt(Ld|Imm, 1), Jump(Jmp|Jset|K, 0x40000000, 1, 0), ret(1), ret(2)}, 1, 3},
		{"jeq x", []Instruction{Stmt(Ldx|Imm, 39), Stmt(Ld|W|Abs, 0), Jump(Jmp|Jeq|X, 0, 0, 1), ret(1), ret(2)}, 1, 4},
		{"jgt x", []Instruction{Stmt(Ldx|Imm, 38), Stmt(Ld|W|Abs, 0), Jump(Jmp|Jgt|X, 0, 0, 1), ret(1), ret(2)}, 1, 4},
		{"jge x", []Instruction{Stmt(Ldx|Imm, 40), Stmt(Ld|W|Abs, 0), Jump(Jmp|Jge|X, 0, 0, 1), ret(1), ret(2)}, 2, 4},
		{"jset x", []Instruction{Stmt(Ldx|Imm, 6), Stmt(Ld|Imm, 1), Jump(Jmp|Jset|X, 0, 0, 1), ret(1), ret(2)}, 2, 4},
		{"jump both branches same", []Instruction{Jump(Jmp|Jeq|K, 0, 2, 2), ret(1), ret(2), ret(3)}, 3, 2},
		{"jump 255", append(append([]Instruction{Jump(Jmp|Jeq|K, 0, 255, 0)}, rets(255, 1)...), ret(9)), 9, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(tc.prog); err != nil {
				t.Fatalf("test program does not validate: %v", err)
			}
			got, steps, err := ExecSteps(tc.prog, data)
			if err != nil || got != tc.want || steps != tc.steps {
				t.Fatalf("ExecSteps = %#x, %d steps, %v; want %#x, %d steps\n%s", got, steps, err, tc.want, tc.steps, Disassemble(tc.prog))
			}
			if got2, err := Exec(tc.prog, data); got2 != got || err != nil {
				t.Fatalf("Exec = %#x, %v; ExecSteps said %#x", got2, err, got)
			}
		})
	}
}

func rets(n int, k uint32) []Instruction {
	p := make([]Instruction, n)
	for i := range p {
		p[i] = ret(k)
	}
	return p
}

func TestExecErrors(t *testing.T) {
	data := seccompData(0, 0)
	tests := []struct {
		name string
		prog []Instruction
		data []byte
		pc   int
		want string
	}{
		{"empty", nil, data, -1, "empty program"},
		{"run off the end", []Instruction{Stmt(Ld|Imm, 1)}, data, 0, "ran off the end"},
		{"unknown opcode", []Instruction{Stmt(0xffff, 0)}, data, 0, "unknown opcode"},
		{"ldh", []Instruction{Stmt(Ld|H|Abs, 0), ret(0)}, data, 0, "not allowed in seccomp"},
		{"ld ind", []Instruction{Stmt(Ld|W|Ind, 0), ret(0)}, data, 0, "not allowed in seccomp"},
		{"ldx abs", []Instruction{Stmt(Ldx|W|Abs, 0), ret(0)}, data, 0, "unknown opcode"},
		{"mod", []Instruction{Stmt(Alu|Mod|K, 2), ret(0)}, data, 0, "not allowed in seccomp"},
		{"st with size bits", []Instruction{Stmt(St|H, 0), ret(0)}, data, 0, "unknown opcode"},
		{"ret x", []Instruction{Stmt(Ret|0x08, 0)}, data, 0, "unknown opcode"},
		{"misc unknown", []Instruction{Stmt(Misc|0x40, 0), ret(0)}, data, 0, "unknown opcode"},
		{"jmp unknown", []Instruction{Stmt(Jmp|0x50, 0), ret(0)}, data, 0, "unknown opcode"},
		{"misaligned load", []Instruction{Stmt(Ld|W|Abs, 2), ret(0)}, data, 0, "not aligned or outside"},
		{"load past end", []Instruction{Stmt(Ld|W|Abs, 64), ret(0)}, data, 0, "not aligned or outside"},
		{"load past short data", []Instruction{Stmt(Ld|W|Abs, 4), ret(0)}, data[:6], 0, "outside the 6-byte data"},
		{"load with no data", []Instruction{Stmt(Ld|W|Abs, 0), ret(0)}, nil, 0, "outside the 0-byte data"},
		{"load huge offset", []Instruction{Stmt(Ld|W|Abs, 0xfffffffc), ret(0)}, data, 0, "outside"},
		{"scratch load out of range", []Instruction{Stmt(Ld|Mem, 16), ret(0)}, data, 0, "scratch cell 16"},
		{"scratch store out of range", []Instruction{Stmt(Stx, 99), ret(0)}, data, 0, "scratch cell 99"},
		{"div by constant zero", []Instruction{Stmt(Alu|Div|K, 0), ret(0)}, data, 0, "division by constant zero"},
		{"shift k 32", []Instruction{Stmt(Alu|Lsh|K, 32), ret(0)}, data, 0, "shift by 32"},
		{"ja past end", []Instruction{Stmt(Jmp|Ja, 1), ret(0)}, data, 0, "jump past the end"},
		{"ja max", []Instruction{Stmt(Jmp|Ja, 0xffffffff), ret(0)}, data, 0, "jump past the end"},
		{"jeq past end", []Instruction{Jump(Jmp|Jeq|K, 0, 1, 0), ret(0)}, data, 0, "jump past the end"},
		{"jeq false past end", []Instruction{Jump(Jmp|Jeq|K, 1, 0, 200), ret(0)}, data, 0, "jump past the end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Exec(tc.prog, tc.data)
			var ee *ExecError
			if !errors.As(err, &ee) || !strings.Contains(err.Error(), tc.want) || ee.PC != tc.pc {
				t.Fatalf("Exec = %#x, %v; want an *ExecError at pc %d containing %q", got, err, tc.pc, tc.want)
			}
		})
	}
}
