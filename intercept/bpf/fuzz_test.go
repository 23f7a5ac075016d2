package bpf

import (
	"encoding/binary"
	"reflect"
	"slices"
	"testing"
)

// seccompOpcodeList is the seccomp opcodes in a fixed order, for turning
// fuzz bytes into mostly valid programs.
var seccompOpcodeList = func() []uint16 {
	var ops []uint16
	for op := range seccompOpcodes {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}()

// shape turns raw instructions into ones much more likely to pass Validate:
// a known seccomp opcode, an in-range k for loads, scratch cells and shifts,
// in-range jump targets and a final return. It keeps enough freedom (bad
// scratch order, division by zero, ...) for Validate to still reject some.
func shape(raw []Instruction) []Instruction {
	n := len(raw)
	p := make([]Instruction, n)
	for pc, in := range raw {
		op := seccompOpcodeList[int(in.OpCode)%len(seccompOpcodeList)]
		k := in.K
		switch {
		case op == Ld|W|Abs:
			k = (k % SeccompDataSize) &^ 3
		case op == Ld|Mem || op == Ldx|Mem || op == St || op == Stx:
			k %= MemWords
		case op == Alu|Lsh|K || op == Alu|Rsh|K:
			k %= 32
		case op == Jmp|Ja:
			if rest := n - pc - 1; rest > 0 {
				k %= uint32(rest)
			}
		}
		in = Instruction{OpCode: op, JumpIfTrue: in.JumpIfTrue, JumpIfFalse: in.JumpIfFalse, K: k}
		if in.IsConditionalJump() {
			if rest := n - pc - 1; rest > 0 {
				in.JumpIfTrue = uint8(int(in.JumpIfTrue) % min(rest, 256))
				in.JumpIfFalse = uint8(int(in.JumpIfFalse) % min(rest, 256))
			}
		}
		p[pc] = in
	}
	if n > 0 && !p[n-1].IsReturn() {
		p[n-1] = Stmt(Ret|RetA, 0)
	}
	return p
}

// FuzzExec checks that Exec never panics and always terminates within
// len(prog) steps on arbitrary programs and data, that programs Validate
// accepts always run to a return, and that Encode/Decode round-trip.
func FuzzExec(f *testing.F) {
	f.Add(Encode([]Instruction{Stmt(Ld|W|Abs, 0), Jump(Jmp|Jeq|K, 39, 0, 1), ret(1), ret(2)}), seccompData(39, 0xc000003e))
	f.Add(Encode([]Instruction{Stmt(Ld|Imm, 5), Stmt(St, 3), Stmt(Ldx|Mem, 3), Stmt(Alu|Div|X, 0), Stmt(Ret|RetA, 0)}), []byte{})
	f.Add(Encode([]Instruction{Stmt(Jmp|Ja, 0xffffffff), ret(0)}), seccompData(0, 0))
	f.Add(Encode([]Instruction{Stmt(Ld|W|Abs, 60), Stmt(Alu|Lsh|X, 0), Jump(Jmp|Jset|X, 0, 0, 0), Stmt(Ret|RetA, 0)}), seccompData(1, 2))
	f.Add([]byte{0x20, 0, 0, 0, 2, 0, 0, 0, 6, 0}, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, code []byte, data []byte) {
		raw, err := Decode(code[:len(code)/InstructionSize*InstructionSize])
		if err != nil {
			t.Fatal(err)
		}
		if back, _ := Decode(Encode(raw)); !reflect.DeepEqual(back, raw) && len(raw) > 0 {
			t.Fatalf("Decode(Encode(p)) != p")
		}
		seccomp := make([]byte, SeccompDataSize)
		copy(seccomp, data)
		for _, prog := range [][]Instruction{raw, shape(raw)} {
			for _, d := range [][]byte{data, seccomp} {
				_, steps, _ := ExecSteps(prog, d) // must not panic
				if steps > len(prog) {
					t.Fatalf("%d steps for a %d-instruction program", steps, len(prog))
				}
			}
			if len(prog) <= 64 {
				_ = Disassemble(prog) // must not panic either
			}
			if Validate(prog) == nil {
				if _, _, err := ExecSteps(prog, seccomp); err != nil {
					t.Fatalf("valid program failed: %v\n%s", err, Disassemble(prog))
				}
			}
		}
	})
}

// TestShapeValidates makes sure FuzzExec's shaped programs mostly pass
// Validate, so the "valid programs run to a return" property is exercised.
func TestShapeValidates(t *testing.T) {
	valid := 0
	for seed := uint32(0); seed < 1000; seed++ {
		raw := make([]Instruction, 1+seed%50)
		for i := range raw {
			h := seed*2654435761 + uint32(i)*40503
			raw[i] = Instruction{OpCode: uint16(h), JumpIfTrue: uint8(h >> 8), JumpIfFalse: uint8(h >> 16), K: binary.LittleEndian.Uint32([]byte{byte(h), byte(h >> 3), 0, 0})}
		}
		if Validate(shape(raw)) == nil {
			valid++
		}
	}
	if valid < 300 {
		t.Fatalf("only %d of 1000 shaped programs validate", valid)
	}
}
