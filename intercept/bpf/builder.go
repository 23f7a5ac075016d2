package bpf

import (
	"errors"
	"fmt"
)

// Target is where a jump goes: a symbolic Label or a relative Skip.
type Target struct {
	isLabel bool
	label   string
	skip    int
}

// Label targets the instruction a ProgramBuilder.SetLabel(name) marks.
// Labels must be set after the jumps that use them (jumps only go forward).
func Label(name string) Target {
	return Target{isLabel: true, label: name}
}

// Skip targets the instruction n instructions after the next one added to
// the builder (Skip(0) is the next instruction). n counts instructions
// added with AddStmt, AddJump and AddGoto, not the long-jump trampolines
// Build may insert, so it stays correct when those are inserted.
func Skip(n int) Target {
	return Target{skip: n}
}

func (t Target) String() string {
	if t.isLabel {
		return fmt.Sprintf("label %q", t.label)
	}
	return fmt.Sprintf("skip %d", t.skip)
}

type kind uint8

const (
	plain kind = iota
	cond
	ja
)

type item struct {
	kind   kind
	in     Instruction
	jt, jf Target // cond: both; ja: jt only
}

// ProgramBuilder assembles a classic BPF program with symbolic forward
// jumps.
//
// Long jumps. A conditional jump reaches at most 255 instructions ahead.
// When a target of a conditional jump is farther, Build inserts a
// trampoline right after the jump: an unconditional BPF_JA (32-bit offset)
// to the real target, and points that branch of the conditional jump at the
// trampoline. Inserting trampolines can push other jumps out of range, so
// Build iterates to a fixed point (the set of trampolines only grows, so it
// terminates). Each trampoline costs one instruction of program length and
// one executed instruction on the path that takes it. Unconditional jumps
// (AddGoto) never need one.
//
// Errors (a label set twice, a jump to a label never set or set before
// the jump, a jump past the end, a jump opcode given to AddStmt...) are
// recorded as they happen and returned by Build, so building code needs no
// error checks per instruction.
//
// Build checks the structure (labels, jump ranges) but not the kernel's
// other rules: call Validate on the result for that.
type ProgramBuilder struct {
	items  []item
	labels map[string]int // label -> index of the item it marks
	errs   []error
}

// NewProgramBuilder returns an empty builder.
func NewProgramBuilder() *ProgramBuilder {
	return &ProgramBuilder{labels: map[string]int{}}
}

func (b *ProgramBuilder) errorf(format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf("bpf: builder: instruction %d: "+format, append([]any{len(b.items)}, args...)...))
}

// AddStmt adds a non-jump instruction.
func (b *ProgramBuilder) AddStmt(op uint16, k uint32) {
	if Class(op) == Jmp {
		b.errorf("AddStmt with jump opcode %#04x (use AddJump or AddGoto)", op)
	}
	b.items = append(b.items, item{kind: plain, in: Stmt(op, k)})
}

// AddJump adds a conditional jump (op is Jmp|Jeq|K and the like) that goes
// to jt if the condition holds and to jf otherwise.
func (b *ProgramBuilder) AddJump(op uint16, k uint32, jt, jf Target) {
	if Class(op) != Jmp || Op(op) == Ja {
		b.errorf("AddJump with opcode %#04x, which is not a conditional jump", op)
	}
	b.items = append(b.items, item{kind: cond, in: Instruction{OpCode: op, K: k}, jt: jt, jf: jf})
}

// AddGoto adds an unconditional jump (BPF_JA) to t.
func (b *ProgramBuilder) AddGoto(t Target) {
	b.items = append(b.items, item{kind: ja, in: Instruction{OpCode: Jmp | Ja}, jt: t})
}

// AddReturn adds a return of the constant k.
func (b *ProgramBuilder) AddReturn(k uint32) {
	b.AddStmt(Ret|RetK, k)
}

// SetLabel marks the next instruction added with name.
func (b *ProgramBuilder) SetLabel(name string) {
	if name == "" {
		b.errorf("empty label")
		return
	}
	if _, dup := b.labels[name]; dup {
		b.errorf("label %q set twice", name)
		return
	}
	b.labels[name] = len(b.items)
}

// Len returns the number of instructions added so far (not counting
// trampolines Build may insert).
func (b *ProgramBuilder) Len() int { return len(b.items) }

// resolve returns the item index t designates from item i.
func (b *ProgramBuilder) resolve(i int, t Target) (int, error) {
	var dst int
	if t.isLabel {
		idx, ok := b.labels[t.label]
		switch {
		case t.label == "":
			return 0, fmt.Errorf("bpf: builder: instruction %d: jump to an empty label", i)
		case !ok:
			return 0, fmt.Errorf("bpf: builder: instruction %d: jump to label %q, which is never set", i, t.label)
		case idx <= i:
			return 0, fmt.Errorf("bpf: builder: instruction %d: jump back to label %q at instruction %d (jumps only go forward)", i, t.label, idx)
		}
		dst = idx
	} else {
		if t.skip < 0 {
			return 0, fmt.Errorf("bpf: builder: instruction %d: negative skip %d", i, t.skip)
		}
		dst = i + 1 + t.skip
	}
	if dst >= len(b.items) {
		return 0, fmt.Errorf("bpf: builder: instruction %d: %v goes past the last instruction (%d)", i, t, len(b.items)-1)
	}
	return dst, nil
}

// Build resolves the jumps, inserting trampolines for conditional jumps
// farther than 255 instructions, and returns the program.
func (b *ProgramBuilder) Build() ([]Instruction, error) {
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	n := len(b.items)
	if n == 0 {
		return nil, errors.New("bpf: builder: empty program")
	}
	for name, idx := range b.labels {
		if idx >= n {
			return nil, fmt.Errorf("bpf: builder: label %q marks no instruction (it is set after the last one)", name)
		}
	}
	// Resolve every target to an item index.
	tt := make([]int, n) // true target (cond) or JA target
	tf := make([]int, n) // false target (cond)
	var errs []error
	for i, it := range b.items {
		var err error
		switch it.kind {
		case cond:
			if tt[i], err = b.resolve(i, it.jt); err != nil {
				errs = append(errs, err)
			}
			if tf[i], err = b.resolve(i, it.jf); err != nil {
				errs = append(errs, err)
			}
		case ja:
			if tt[i], err = b.resolve(i, it.jt); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	// Lay out, growing the set of trampolines to a fixed point. A jump
	// whose two branches both need one and share a target shares one.
	needT := make([]bool, n)
	needF := make([]bool, n)
	extra := func(i int) int {
		switch {
		case needT[i] && needF[i] && tt[i] == tf[i]:
			return 1
		case needT[i] && needF[i]:
			return 2
		case needT[i] || needF[i]:
			return 1
		}
		return 0
	}
	pos := make([]int, n+1)
	for {
		for i := 0; i < n; i++ {
			pos[i+1] = pos[i] + 1 + extra(i)
		}
		changed := false
		for i, it := range b.items {
			if it.kind != cond {
				continue
			}
			if !needT[i] && pos[tt[i]]-pos[i]-1 > 255 {
				needT[i], changed = true, true
			}
			if !needF[i] && pos[tf[i]]-pos[i]-1 > 255 {
				needF[i], changed = true, true
			}
		}
		if !changed {
			break
		}
	}

	prog := make([]Instruction, 0, pos[n])
	for i, it := range b.items {
		in := it.in
		p := pos[i]
		switch it.kind {
		case plain:
			prog = append(prog, in)
		case ja:
			in.K = uint32(pos[tt[i]] - p - 1)
			prog = append(prog, in)
		case cond:
			var tramps []int // item targets of the trampolines, in order
			slot := func(target int) int {
				for j, t := range tramps {
					if t == target {
						return j
					}
				}
				tramps = append(tramps, target)
				return len(tramps) - 1
			}
			if needT[i] {
				in.JumpIfTrue = uint8(slot(tt[i]))
			}
			if needF[i] {
				in.JumpIfFalse = uint8(slot(tf[i]))
			}
			if !needT[i] {
				in.JumpIfTrue = uint8(pos[tt[i]] - p - 1)
			}
			if !needF[i] {
				in.JumpIfFalse = uint8(pos[tf[i]] - p - 1)
			}
			prog = append(prog, in)
			for j, t := range tramps {
				at := p + 1 + j
				prog = append(prog, Instruction{OpCode: Jmp | Ja, K: uint32(pos[t] - at - 1)})
			}
		}
	}
	if len(prog) != pos[n] {
		panic(fmt.Sprintf("bpf: builder: laid out %d instructions, emitted %d", pos[n], len(prog)))
	}
	return prog, nil
}
