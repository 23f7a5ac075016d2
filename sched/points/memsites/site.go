package memsites

import (
	"sort"
	"strconv"
)

// Class is why an instruction is a site.
type Class uint8

const (
	// Global: a RIP-relative access to writable data.
	Global Class = iota + 1
	// Pointer: an access through a non-stack base or index register.
	Pointer
	// Atomic: a lock-prefixed instruction, xchg with memory, cmpxchg.
	Atomic
)

func (c Class) String() string {
	switch c {
	case Global:
		return "global"
	case Pointer:
		return "pointer"
	case Atomic:
		return "atomic"
	}
	return "class" + strconv.Itoa(int(c))
}

// Reg is a general-purpose register of an address computation, in the
// x86-64 encoding order plus RIP; 0 is none.
type Reg uint8

const (
	NoReg Reg = iota
	RAX
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
	RIP
)

var regNames = [...]string{"", "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"}

func (r Reg) String() string {
	if int(r) < len(regNames) {
		return regNames[r]
	}
	return "reg" + strconv.Itoa(int(r))
}

// Operand is a memory operand in a form the registers of a stopped
// thread can evaluate (Operand.Addr): Base + Index*Scale + Disp, where a
// RIP base means the address of the next instruction.
type Operand struct {
	Base, Index Reg
	Scale       uint8
	Addr32      bool // 32-bit address size (the 0x67 prefix): truncate
	Disp        int64
	// Size is how many bytes the instruction accesses (1..64; 0 if the
	// decoder does not say).
	Size uint8
}

// Addr evaluates the operand in a thread stopped before the instruction:
// reg returns a register's value, next is the runtime address of the
// instruction after this one (the base of a RIP-relative operand).
func (op Operand) Addr(reg func(Reg) uint64, next uint64) uint64 {
	var a uint64
	switch op.Base {
	case NoReg:
	case RIP:
		a = next
	default:
		a = reg(op.Base)
	}
	if op.Index != NoReg {
		a += reg(op.Index) * uint64(max(op.Scale, 1))
	}
	a += uint64(op.Disp)
	if op.Addr32 {
		a = uint64(uint32(a))
	}
	return a
}

// Site is one candidate instruction.
type Site struct {
	// Vaddr is the instruction's link-time address (add the load bias of
	// an ET_DYN object).
	Vaddr uint64
	Len   uint8
	Class Class
	// Write reports that the instruction may write its memory operand
	// (a conflicting access is then any access; for a read, a write).
	Write bool
	Mem   Operand
	// Func indexes Table.Funcs; Line is the site's name (see Name).
	Func int32
	Line string
}

// Table is the sites of one object, sorted by address.
type Table struct {
	// Key is what the on-disk cache stores the table under: the build ID
	// and the scope ("" if the object has no build ID).
	Key   string
	Scope Scope
	Sites []Site
	// Funcs are the functions sites are in (Site.Func).
	Funcs []Func
	// Text is the number of bytes decoded; Insns the instructions
	// classified; Undecoded those x86asm could not decode (or decoded
	// with a wrong length), skipped.
	Text      int
	Insns     int
	Undecoded int
}

// Lookup returns the site at link-time address vaddr.
func (t *Table) Lookup(vaddr uint64) (*Site, bool) {
	i := sort.Search(len(t.Sites), func(i int) bool { return t.Sites[i].Vaddr >= vaddr })
	if i < len(t.Sites) && t.Sites[i].Vaddr == vaddr {
		return &t.Sites[i], true
	}
	return nil, false
}

// Name is the name of the site's scheduling point: "mem@file.c:42" from
// its source line, else "mem@func+0x1a".
func (t *Table) Name(s *Site) string {
	if s.Line != "" {
		return "mem@" + s.Line
	}
	f := t.FuncOf(s)
	return "mem@" + f.Name + "+0x" + strconv.FormatUint(s.Vaddr-f.Start, 16)
}

// Func is a function that holds sites.
type Func struct {
	Name  string
	Start uint64 // link-time address of its first byte
}

// FuncOf returns the function a site is in.
func (t *Table) FuncOf(s *Site) Func {
	if s.Func < 0 || int(s.Func) >= len(t.Funcs) {
		return Func{Name: "?", Start: s.Vaddr}
	}
	return t.Funcs[s.Func]
}
