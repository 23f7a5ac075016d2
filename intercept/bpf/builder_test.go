package bpf

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestBuilderLabels(t *testing.T) {
	b := NewProgramBuilder()
	b.AddStmt(Ld|W|Abs, 4)
	b.AddJump(Jmp|Jeq|K, 0xc000003e, Skip(0), Label("foreign"))
	b.AddStmt(Ld|W|Abs, 0)
	b.AddJump(Jmp|Jeq|K, 39, Label("deny"), Label("allow"))
	b.SetLabel("allow")
	b.AddReturn(0x7fff0000)
	b.SetLabel("deny")
	b.SetLabel("foreign") // two labels on one instruction
	b.AddReturn(0x50001)
	prog, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := []Instruction{
		Stmt(Ld|W|Abs, 4),
		Jump(Jmp|Jeq|K, 0xc000003e, 0, 3),
		Stmt(Ld|W|Abs, 0),
		Jump(Jmp|Jeq|K, 39, 1, 0),
		ret(0x7fff0000),
		ret(0x50001),
	}
	if !reflect.DeepEqual(prog, want) {
		t.Fatalf("Build =\n%swant\n%s", Disassemble(prog), Disassemble(want))
	}
	if b.Len() != 6 {
		t.Errorf("Len = %d", b.Len())
	}
	for _, c := range []struct {
		nr, arch, want uint32
	}{{39, 0xc000003e, 0x50001}, {40, 0xc000003e, 0x7fff0000}, {39, 0x40000003, 0x50001}} {
		if got, err := Exec(prog, seccompData(c.nr, c.arch)); err != nil || got != c.want {
			t.Errorf("Exec(nr %d, arch %#x) = %#x, %v; want %#x", c.nr, c.arch, got, err, c.want)
		}
	}
}

func TestBuilderGotoAndSkip(t *testing.T) {
	b := NewProgramBuilder()
	b.AddGoto(Label("end"))
	b.AddReturn(1)
	b.AddGoto(Skip(1))
	b.AddReturn(2)
	b.SetLabel("end")
	b.AddReturn(3)
	prog, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := []Instruction{Stmt(Jmp|Ja, 3), ret(1), Stmt(Jmp|Ja, 1), ret(2), ret(3)}
	if !reflect.DeepEqual(prog, want) {
		t.Fatalf("Build =\n%swant\n%s", Disassemble(prog), Disassemble(want))
	}
}

func TestBuilderErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *ProgramBuilder)
		want  string
	}{
		{"empty", func(b *ProgramBuilder) {}, "empty program"},
		{"label set twice", func(b *ProgramBuilder) {
			b.SetLabel("x")
			b.AddReturn(0)
			b.SetLabel("x")
			b.AddReturn(0)
		}, `label "x" set twice`},
		{"label never set", func(b *ProgramBuilder) {
			b.AddJump(Jmp|Jeq|K, 0, Label("nowhere"), Skip(0))
			b.AddReturn(0)
		}, `label "nowhere", which is never set`},
		{"backward label", func(b *ProgramBuilder) {
			b.SetLabel("top")
			b.AddReturn(0)
			b.AddGoto(Label("top"))
			b.AddReturn(0)
		}, "jump back to label"},
		{"self label", func(b *ProgramBuilder) {
			b.SetLabel("self")
			b.AddGoto(Label("self"))
			b.AddReturn(0)
		}, "jump back to label"},
		{"label after the last instruction", func(b *ProgramBuilder) {
			b.AddGoto(Label("end"))
			b.AddReturn(0)
			b.SetLabel("end")
		}, "marks no instruction"},
		{"skip past the end", func(b *ProgramBuilder) {
			b.AddJump(Jmp|Jeq|K, 0, Skip(0), Skip(1))
			b.AddReturn(0)
		}, "goes past the last instruction"},
		{"goto past the end", func(b *ProgramBuilder) {
			b.AddGoto(Skip(0))
		}, "goes past the last instruction"},
		{"negative skip", func(b *ProgramBuilder) {
			b.AddGoto(Skip(-1))
			b.AddReturn(0)
		}, "negative skip"},
		{"empty label", func(b *ProgramBuilder) {
			b.SetLabel("")
			b.AddReturn(0)
		}, "empty label"},
		{"jump to empty label", func(b *ProgramBuilder) {
			b.AddGoto(Label(""))
			b.AddReturn(0)
		}, "empty label"},
		{"stmt with jump opcode", func(b *ProgramBuilder) {
			b.AddStmt(Jmp|Jeq|K, 0)
			b.AddReturn(0)
		}, "AddStmt with jump opcode"},
		{"jump with ja opcode", func(b *ProgramBuilder) {
			b.AddJump(Jmp|Ja, 0, Skip(0), Skip(0))
			b.AddReturn(0)
		}, "not a conditional jump"},
		{"jump with non-jump opcode", func(b *ProgramBuilder) {
			b.AddJump(Ld|Imm, 0, Skip(0), Skip(0))
			b.AddReturn(0)
		}, "not a conditional jump"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewProgramBuilder()
			tc.build(b)
			prog, err := b.Build()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build = %v, %v; want error containing %q", prog, err, tc.want)
			}
		})
	}
}

// TestBuilderLongJump checks that a conditional jump over more than 255
// instructions gets a trampoline and still goes to the right place.
func TestBuilderLongJump(t *testing.T) {
	for _, filler := range []int{253, 254, 255, 256, 300, 1000} {
		t.Run(fmt.Sprint(filler), func(t *testing.T) {
			b := NewProgramBuilder()
			b.AddStmt(Ld|W|Abs, 0)
			b.AddJump(Jmp|Jeq|K, 1, Label("far"), Skip(0))
			b.AddJump(Jmp|Jeq|K, 2, Label("far2"), Label("far"))
			for i := 0; i < filler; i++ {
				b.AddReturn(100)
			}
			b.SetLabel("far")
			b.AddReturn(1)
			b.SetLabel("far2")
			b.AddReturn(2)
			prog, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(prog); err != nil {
				t.Fatalf("%v\n%s", err, Disassemble(prog))
			}
			// Trampolines only when needed: the second jump is 255
			// instructions from "far" when filler == 254.
			tramps := len(prog) - b.Len()
			switch {
			case filler <= 253 && tramps != 0:
				t.Errorf("%d trampolines for filler %d, want 0", tramps, filler)
			case filler >= 256 && tramps == 0:
				t.Errorf("no trampoline for filler %d", filler)
			}
			for nr, want := range map[uint32]uint32{0: 1, 1: 1, 2: 2, 3: 1} {
				got, steps, err := ExecSteps(prog, seccompData(nr, 0))
				if err != nil || got != want {
					t.Errorf("nr %d: Exec = %d, %v; want %d\n%s", nr, got, err, want, Disassemble(prog))
				}
				if steps > 6 {
					t.Errorf("nr %d: %d steps", nr, steps)
				}
			}
		})
	}
}

// TestBuilderSkipAcrossTrampolines checks that Skip counts builder
// instructions even when trampolines are inserted between the jump and its
// target.
func TestBuilderSkipAcrossTrampolines(t *testing.T) {
	b := NewProgramBuilder()
	b.AddStmt(Ld|W|Abs, 0)
	b.AddJump(Jmp|Jeq|K, 7, Skip(1), Skip(0)) // nr 7 -> the jump after next
	b.AddJump(Jmp|Jeq|K, 8, Label("far"), Skip(1))
	b.AddReturn(7)
	b.AddReturn(0)
	for i := 0; i < 400; i++ {
		b.AddReturn(100)
	}
	b.SetLabel("far")
	b.AddReturn(8)
	prog, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	// Item layout: 0 ld, 1 jeq7, 2 jeq8 (+trampoline), 3 ret7, 4 ret0, ...
	// nr 7: item 1 true -> Skip(1) -> item 3 -> ret 7.
	// nr 8: item 1 false -> item 2 true -> far -> ret 8.
	// other: item 2 false -> Skip(1) -> item 4 -> ret 0.
	for nr, want := range map[uint32]uint32{7: 7, 8: 8, 9: 0} {
		if got, err := Exec(prog, seccompData(nr, 0)); err != nil || got != want {
			t.Errorf("nr %d: Exec = %d, %v; want %d\n%s", nr, got, err, want, Disassemble(prog[:8]))
		}
	}
}

// TestBuilderRandomLongJumps builds random forward-jumping programs with
// far targets and checks the built program behaves like the builder's
// items: a reference walk over the items (with targets resolved
// symbolically) and Exec of the built program return the same value.
func TestBuilderRandomLongJumps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 200; iter++ {
		n := 2 + r.IntN(1500)
		type ref struct {
			cmp    uint32
			jt, jf int // item targets; -1 for a return
			retval uint32
		}
		items := make([]ref, n)
		b := NewProgramBuilder()
		b.AddStmt(Ld|W|Abs, 0) // item 0: A = nr (not part of items)
		// Put labels on every item so jumps can name any of them.
		for i := 0; i < n; i++ {
			b.SetLabel(fmt.Sprint("L", i))
			if i == n-1 || r.IntN(3) == 0 {
				items[i] = ref{jt: -1, retval: uint32(i)}
				b.AddReturn(uint32(i))
				continue
			}
			pick := func() int {
				if r.IntN(2) == 0 {
					return i + 1 + r.IntN(min(3, n-i-1))
				}
				return i + 1 + r.IntN(n-i-1)
			}
			it := ref{cmp: uint32(r.IntN(8)), jt: pick(), jf: pick()}
			items[i] = it
			tgt := func(j int) Target {
				if j-i-1 < 3 && r.IntN(2) == 0 {
					return Skip(j - i - 1)
				}
				return Label(fmt.Sprint("L", j))
			}
			b.AddJump(Jmp|Jgt|K, it.cmp, tgt(it.jt), tgt(it.jf))
		}
		prog, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		if len(prog) <= MaxInstructions {
			if err := Validate(prog); err != nil {
				t.Fatalf("iteration %d: %v", iter, err)
			}
		}
		for nr := uint32(0); nr < 9; nr++ {
			i := 0
			for items[i].jt >= 0 {
				if nr > items[i].cmp {
					i = items[i].jt
				} else {
					i = items[i].jf
				}
			}
			want := items[i].retval
			got, err := Exec(prog, seccompData(nr, 0))
			if err != nil || got != want {
				t.Fatalf("iteration %d, nr %d: Exec = %d, %v; want %d", iter, nr, got, err, want)
			}
		}
	}
}
