package bpf

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompData returns 64 bytes of struct seccomp_data with the given nr and
// arch (native byte order), the rest filled with a recognizable pattern.
func seccompData(nr, arch uint32) []byte {
	d := make([]byte, SeccompDataSize)
	for i := 8; i < len(d); i++ {
		d[i] = byte(i)
	}
	binary.NativeEndian.PutUint32(d[0:], nr)
	binary.NativeEndian.PutUint32(d[4:], arch)
	return d
}

func TestInstructionLayoutMatchesSockFilter(t *testing.T) {
	var in Instruction
	var sf unix.SockFilter
	if unsafe.Sizeof(in) != InstructionSize || unsafe.Sizeof(sf) != InstructionSize {
		t.Fatalf("sizes: Instruction %d, SockFilter %d, want %d", unsafe.Sizeof(in), unsafe.Sizeof(sf), InstructionSize)
	}
	got := []uintptr{unsafe.Offsetof(in.OpCode), unsafe.Offsetof(in.JumpIfTrue), unsafe.Offsetof(in.JumpIfFalse), unsafe.Offsetof(in.K)}
	want := []uintptr{unsafe.Offsetof(sf.Code), unsafe.Offsetof(sf.Jt), unsafe.Offsetof(sf.Jf), unsafe.Offsetof(sf.K)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("field offsets %v, want those of unix.SockFilter %v", got, want)
	}
}

func TestEncode(t *testing.T) {
	prog := []Instruction{
		Stmt(Ld|W|Abs, 4),
		Jump(Jmp|Jeq|K, 0xc000003e, 1, 2),
		Stmt(Ret|RetK, 0x7fff0000),
	}
	got := Encode(prog)
	want := []byte{
		0x20, 0x00, 0, 0, 0x04, 0x00, 0x00, 0x00,
		0x15, 0x00, 1, 2, 0x3e, 0x00, 0x00, 0xc0,
		0x06, 0x00, 0, 0, 0x00, 0x00, 0xff, 0x7f,
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("expected bytes are little-endian; host is big-endian")
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode = % x\nwant     % x", got, want)
	}
	back, err := Decode(got)
	if err != nil || !reflect.DeepEqual(back, prog) {
		t.Fatalf("Decode(Encode(p)) = %v, %v; want %v", back, err, prog)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, n := range []int{1, 7, 9, 15} {
		if _, err := Decode(make([]byte, n)); err == nil {
			t.Errorf("Decode(%d bytes) succeeded", n)
		}
	}
	p, err := Decode(nil)
	if err != nil || len(p) != 0 {
		t.Errorf("Decode(nil) = %v, %v", p, err)
	}
}

func TestEncodeMatchesKernelStructMemory(t *testing.T) {
	// Encode must produce exactly the memory image of []unix.SockFilter.
	prog := []Instruction{Jump(Jmp|Jset|X, 0xdeadbeef, 7, 9), Stmt(Ret|RetA, 0)}
	sf := []unix.SockFilter{{Code: Jmp | Jset | X, Jt: 7, Jf: 9, K: 0xdeadbeef}, {Code: Ret | RetA}}
	img := unsafe.Slice((*byte)(unsafe.Pointer(&sf[0])), len(sf)*InstructionSize)
	if !bytes.Equal(Encode(prog), img) {
		t.Fatalf("Encode = % x, memory of []unix.SockFilter = % x", Encode(prog), img)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		in   Instruction
		want string
	}{
		{Stmt(Ld|W|Abs, 4), "ld [4]"},
		{Stmt(Ld|H|Abs, 2), "ldh [2]"},
		{Stmt(Ld|B|Ind, 2), "ldb [x+2]"},
		{Stmt(Ld|W|Len, 0), "ld #len"},
		{Stmt(Ldx|W|Len, 0), "ldx #len"},
		{Stmt(Ld|Imm, 7), "ld #7"},
		{Stmt(Ldx|Imm, 0x12345678), "ldx #0x12345678"},
		{Stmt(Ld|Mem, 3), "ld M[3]"},
		{Stmt(Ldx|Mem, 15), "ldx M[15]"},
		{Stmt(Ldx|B|Msh, 14), "ldxb 4*([14]&0xf)"},
		{Stmt(St, 1), "st M[1]"},
		{Stmt(Stx, 2), "stx M[2]"},
		{Stmt(Alu|Add|K, 5), "add #5"},
		{Stmt(Alu|Sub|X, 0), "sub x"},
		{Stmt(Alu|And|K, 0x40000000), "and #0x40000000"},
		{Stmt(Alu|Neg, 0), "neg"},
		{Stmt(Alu|Mod|K, 3), "mod #3"},
		{Stmt(Misc|Tax, 0), "tax"},
		{Stmt(Misc|Txa, 0), "txa"},
		{Stmt(Jmp|Ja, 300), "ja +300"},
		{Jump(Jmp|Jeq|K, 0xc000003e, 0, 4), "jeq #0xc000003e, +0, +4"},
		{Jump(Jmp|Jge|X, 0, 1, 2), "jge x, +1, +2"},
		{Jump(Jmp|Jset|K, 0x40000000, 1, 0), "jset #0x40000000, +1, +0"},
		{Stmt(Ret|RetK, 0x7fff0000), "ret #0x7fff0000"},
		{Stmt(Ret|RetA, 0), "ret a"},
		{Stmt(0xffff, 1), "unknown op=0xffff jt=0 jf=0 k=0x1"},
		{Stmt(Alu|0xf0, 1), "unknown op=0x00f4 jt=0 jf=0 k=0x1"},
		{Stmt(Jmp|0x70, 1), "unknown op=0x0075 jt=0 jf=0 k=0x1"},
	}
	for _, tc := range tests {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDisassemble(t *testing.T) {
	prog := []Instruction{
		Stmt(Ld|W|Abs, 4),
		Jump(Jmp|Jeq|K, 0xc000003e, 1, 0),
		Stmt(Ret|RetK, 0),
		Stmt(Jmp|Ja, 0),
		Stmt(Ret|RetK, 0x7fff0000),
	}
	want := strings.Join([]string{
		"   0: ld [4]",
		"   1: jeq #0xc000003e, 3, 2",
		"   2: ret #0",
		"   3: ja 4",
		"   4: ret #0x7fff0000",
		"",
	}, "\n")
	if got := Disassemble(prog); got != want {
		t.Errorf("Disassemble =\n%s\nwant\n%s", got, want)
	}
	ann := DisassembleAnnotated(prog, func(pc int, in Instruction) string {
		if in.IsReturn() {
			return "leaf"
		}
		return ""
	})
	if !strings.Contains(ann, "ret #0x7fff0000") || strings.Count(ann, "; leaf") != 2 {
		t.Errorf("DisassembleAnnotated =\n%s", ann)
	}
}
