// Package stack unwinds the call stack of a stopped guest thread and names
// its frames: function, source file and line, as a race detector's report
// does.
//
// # Unwinding
//
// Each frame is unwound with the call frame information of the object
// its pc is in: .eh_frame, which C, C++ and Rust compilers emit for every
// function on x86-64 (stripped libraries keep it), or else .debug_frame,
// which Go's linker writes for every function, assembly included, unless
// DWARF is stripped (-ldflags=-w); parsed and evaluated with Delve's
// pkg/dwarf/frame (the CFA rule and the return address's and rbp's rules
// at that pc). Where an object has no CFI for the pc (Go binaries without
// DWARF keep frame pointers; hand-written assembly), the frame pointer
// chain is followed instead: the return
// address at [rbp+8], the caller's rbp at [rbp], or, at a function's
// first instruction, the return address at [rsp]. Unwinding stops at pc 0,
// at an address no image covers, when the stack pointer does not grow, or
// after a maximum number of frames.
//
// # Naming
//
// Frames are named with package symbols: the function from the symbol
// table (demangled for C++ and Rust), the line from DWARF or, for Go
// binaries without DWARF, the pclntab. A return address is looked up at
// pc-1, inside the call instruction, so the line is the call's. Code the
// compiler inlined (DWARF's inlined subroutines, symbols.InlinedAt) is a
// frame per inlined call, all at the same pc: the inlined function at the
// pc's line, each caller at the line of its call (else a Go function
// would be shown at a line of syscall.Getpid's body).
//
// An Unwinder caches each object's CFI and the frames of each address it
// has named (Unwinder.Name), and is safe for concurrent use; nothing is
// read until a stack is asked for, so exploration never pays.
package stack

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/go-delve/delve/pkg/dwarf/frame"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
)

// Regs are the registers unwinding starts from.
type Regs struct {
	PC, SP, BP uint64
}

// Images finds the image an address is in (symbols.Objects does).
type Images interface {
	ImageAt(addr uint64) *symbols.Image
}

// Frame is one named frame.
type Frame struct {
	PC   uint64 // the frame's pc (a return address for every frame but the first)
	Func string // demangled function name ("" if unknown)
	File string // source file ("" without line information)
	Line int
	// Object is the path of the object the pc is in.
	Object string
}

// String formats a frame as a race detector does: "func() file:line",
// with the object and offset when there is no source line.
func (f Frame) String() string {
	fn := f.Func
	if fn == "" {
		fn = "??"
	}
	if f.File != "" {
		return fmt.Sprintf("%s() %s:%d", fn, f.File, f.Line)
	}
	if f.Object != "" {
		return fmt.Sprintf("%s() in %s", fn, f.Object)
	}
	return fmt.Sprintf("%s() at %#x", fn, f.PC)
}

// Unwinder unwinds and names stacks, caching each object's CFI and the
// frames it has named.
type Unwinder struct {
	mu    sync.Mutex
	cfi   map[*symbols.Object]*cfi
	names map[nameKey][]Frame // by object and link-time address
}

// nameKey is a named address: its object, its link-time address (a
// return address's minus one) and whether it was a return address.
type nameKey struct {
	obj      *symbols.Object
	vaddr    uint64
	isReturn bool
}

// NewUnwinder returns an empty Unwinder.
func NewUnwinder() *Unwinder {
	return &Unwinder{cfi: map[*symbols.Object]*cfi{}, names: map[nameKey][]Frame{}}
}

// Name is Name with the frames of each address named once: a program
// reaches its scheduling points from the same few call sites, and a line
// lookup reads a unit's line table.
func (u *Unwinder) Name(pcs []uint64, ims Images) []Frame {
	out := make([]Frame, 0, len(pcs))
	for i, pc := range pcs {
		im := ims.ImageAt(pc)
		if im == nil {
			out = append(out, Frame{PC: pc})
			continue
		}
		k := nameKey{im.Object, im.Vaddr(pc), i > 0}
		u.mu.Lock()
		fs, ok := u.names[k]
		u.mu.Unlock()
		if !ok {
			fs = name(pc, i > 0, ims)
			u.mu.Lock()
			u.names[k] = fs
			u.mu.Unlock()
		}
		for _, f := range fs {
			f.PC = pc // the same code mapped elsewhere (another process)
			out = append(out, f)
		}
	}
	return out
}

// cfi is an object's call frame information (nil fdes: none).
type cfi struct {
	once sync.Once
	fdes frame.FrameDescriptionEntries
}

func (u *Unwinder) cfiOf(o *symbols.Object) frame.FrameDescriptionEntries {
	u.mu.Lock()
	c := u.cfi[o]
	if c == nil {
		c = &cfi{}
		u.cfi[o] = c
	}
	u.mu.Unlock()
	c.once.Do(func() { c.fdes = readCFI(o.Path) })
	return c.fdes
}

// readCFI parses the .eh_frame of the ELF file at path or, if it has
// none, its .debug_frame (a Go binary's, which describes every function,
// assembly leaves included; debug/elf decompresses it); nil if it has
// neither or it does not parse.
func readCFI(path string) frame.FrameDescriptionEntries {
	ef, err := elf.Open(path)
	if err != nil {
		return nil
	}
	defer ef.Close()
	s, ehAddr := ef.Section(".eh_frame"), uint64(0)
	if s != nil {
		ehAddr = s.Addr
	} else if s = ef.Section(".debug_frame"); s == nil {
		return nil
	}
	data, err := s.Data()
	if err != nil {
		return nil
	}
	fdes, err := frame.Parse(data, binary.LittleEndian, 0, 8, ehAddr)
	if err != nil {
		return nil
	}
	// FDEForPC searches by address; .eh_frame lists entries in link
	// order (crt objects first, then each unit), not by address.
	sort.Slice(fdes, func(i, j int) bool { return fdes[i].Begin() < fdes[j].Begin() })
	return fdes
}

// DWARF register numbers on x86-64.
const (
	regRBP = 6
	regRSP = 7
	regRA  = 16
)

// Unwind returns the pcs of the stack that regs describe, innermost
// first, at most max of them. mem reads the thread's memory.
func (u *Unwinder) Unwind(regs Regs, mem io.ReaderAt, ims Images, max int) []uint64 {
	var pcs []uint64
	r := regs
	for len(pcs) < max && r.PC != 0 {
		pcs = append(pcs, r.PC)
		im := ims.ImageAt(r.PC)
		if im == nil {
			break
		}
		caller, ok := u.step(r, len(pcs) == 1, im, mem)
		if !ok || caller.SP <= r.SP {
			break
		}
		r = caller
	}
	return pcs
}

// step computes the caller's registers of the frame r (innermost: the
// first frame, whose pc is not a return address).
func (u *Unwinder) step(r Regs, innermost bool, im *symbols.Image, mem io.ReaderAt) (Regs, bool) {
	lookup := im.Vaddr(r.PC)
	if !innermost {
		lookup-- // inside the call instruction
	}
	if fdes := u.cfiOf(im.Object); fdes != nil {
		if fde, err := fdes.FDEForPC(lookup); err == nil {
			if fc, err := fde.EstablishFrame(lookup); err == nil {
				return stepCFI(r, fc, mem)
			}
		}
	}
	return stepFP(r, lookup, im, mem)
}

// stepCFI applies a frame's CFI rules.
func stepCFI(r Regs, fc *frame.FrameContext, mem io.ReaderAt) (Regs, bool) {
	if fc.CFA.Rule != frame.RuleCFA {
		return Regs{}, false // a DWARF expression: not worth evaluating here
	}
	var base uint64
	switch fc.CFA.Reg {
	case regRSP:
		base = r.SP
	case regRBP:
		base = r.BP
	default:
		return Regs{}, false
	}
	cfa := uint64(int64(base) + fc.CFA.Offset)
	ra, ok := fc.Regs[fc.RetAddrReg]
	if !ok || ra.Rule != frame.RuleOffset {
		return Regs{}, false
	}
	pc, err := word(mem, uint64(int64(cfa)+ra.Offset))
	if err != nil {
		return Regs{}, false
	}
	caller := Regs{PC: pc, SP: cfa, BP: r.BP}
	if bp, ok := fc.Regs[regRBP]; ok && bp.Rule == frame.RuleOffset {
		if v, err := word(mem, uint64(int64(cfa)+bp.Offset)); err == nil {
			caller.BP = v
		}
	}
	return caller, true
}

// stepFP follows the frame pointer chain.
func stepFP(r Regs, vaddr uint64, im *symbols.Image, mem io.ReaderAt) (Regs, bool) {
	if s, ok := im.Object.FuncAt(vaddr); ok && s.Value == vaddr {
		// At the first instruction: nothing pushed yet.
		pc, err := word(mem, r.SP)
		return Regs{PC: pc, SP: r.SP + 8, BP: r.BP}, err == nil
	}
	if r.BP == 0 {
		return Regs{}, false
	}
	pc, err1 := word(mem, r.BP+8)
	bp, err2 := word(mem, r.BP)
	return Regs{PC: pc, SP: r.BP + 16, BP: bp}, err1 == nil && err2 == nil
}

func word(mem io.ReaderAt, addr uint64) (uint64, error) {
	var b [8]byte
	if _, err := mem.ReadAt(b[:], int64(addr)); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// Name names the frames of pcs, as Unwind returned them. A pc inside
// code the compiler inlined (DWARF's inlined subroutines) gives a frame
// per inlined call, innermost first, all with that pc, as a race
// detector's report does: the inlined function at the pc's line, then
// each caller at the line of its call.
func Name(pcs []uint64, ims Images) []Frame {
	out := make([]Frame, 0, len(pcs))
	for i, pc := range pcs {
		out = append(out, name(pc, i > 0, ims)...)
	}
	return out
}

func name(pc uint64, isReturn bool, ims Images) []Frame {
	f := Frame{PC: pc}
	im := ims.ImageAt(pc)
	if im == nil {
		return []Frame{f}
	}
	f.Object = im.Object.Path
	vaddr := im.Vaddr(pc)
	if isReturn {
		vaddr--
	}
	if s, ok := im.Object.FuncAt(vaddr); ok {
		f.Func = symbols.Demangle(s.Name)
	}
	if l, ok := im.Object.LineAt(vaddr); ok {
		f.File, f.Line = l.File, l.Line
	}
	inl := im.Object.InlinedAt(vaddr)
	if len(inl) == 0 || inl[len(inl)-1].CallFile == "" {
		return []Frame{f}
	}
	out := make([]Frame, 0, len(inl)+1)
	file, line := f.File, f.Line
	for _, c := range inl {
		out = append(out, Frame{PC: pc, Func: symbols.Demangle(c.Func), File: file, Line: line, Object: f.Object})
		file, line = c.CallFile, c.CallLine
	}
	f.File, f.Line = file, line
	return append(out, f)
}
