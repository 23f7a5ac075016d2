package memsites

import (
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// fnContext is what classifying an instruction needs to know about its
// function and object.
type fnContext struct {
	// frame: the function sets rbp up as a frame pointer (mov rbp, rsp),
	// so rbp-based operands are stack accesses.
	frame bool
	// goABI: Go's register ABI, where r14 holds the current goroutine.
	goABI bool
	// global reports whether a RIP-relative or absolute target is
	// shared-writable data.
	global func(vaddr uint64) bool
	// known says what registers are known to point at (provenance.go);
	// nil: nothing.
	known *known
}

// noAccess are instructions with a memory operand that do not access it
// as data: address arithmetic, hints, control transfers (the GOT, jump
// tables) and the processor-state saves of signal and context switching.
var noAccess = map[x86asm.Op]bool{
	x86asm.LEA: true, x86asm.NOP: true, x86asm.CALL: true, x86asm.JMP: true,
	x86asm.LCALL: true, x86asm.LJMP: true, x86asm.CLFLUSH: true,
	x86asm.FXSAVE: true, x86asm.FXSAVE64: true, x86asm.FXRSTOR: true, x86asm.FXRSTOR64: true,
	x86asm.XSAVE: true, x86asm.XSAVE64: true, x86asm.XSAVEOPT: true, x86asm.XSAVEOPT64: true,
	x86asm.XRSTOR: true, x86asm.XRSTOR64: true, x86asm.XSAVEC: true, x86asm.XSAVEC64: true,
	x86asm.XSAVES: true, x86asm.XSAVES64: true, x86asm.XRSTORS: true, x86asm.XRSTORS64: true,
	x86asm.LDMXCSR: true, x86asm.STMXCSR: true, x86asm.VLDMXCSR: true, x86asm.VSTMXCSR: true,
	x86asm.FLDCW: true, x86asm.FNSTCW: true, x86asm.FLDENV: true, x86asm.FNSTENV: true,
}

// readOnly are instructions whose first operand, when it is memory, is
// only read (for every other instruction a memory first operand is a
// destination).
var readOnly = map[x86asm.Op]bool{
	x86asm.CMP: true, x86asm.TEST: true, x86asm.BT: true, x86asm.PUSH: true,
	x86asm.UCOMISS: true, x86asm.UCOMISD: true, x86asm.COMISS: true, x86asm.COMISD: true,
	x86asm.VUCOMISS: true, x86asm.VUCOMISD: true, x86asm.VCOMISS: true, x86asm.VCOMISD: true,
	x86asm.PTEST: true, x86asm.VPTEST: true, x86asm.CMPSB: true, x86asm.CMPSW: true,
	x86asm.CMPSD: true, x86asm.CMPSQ: true, x86asm.SCASB: true, x86asm.SCASW: true,
	x86asm.SCASD: true, x86asm.SCASQ: true, x86asm.LODSB: true, x86asm.LODSW: true,
	x86asm.LODSD: true, x86asm.LODSQ: true, x86asm.VERR: true, x86asm.VERW: true,
}

// classify decides whether the instruction at pc is a site.
func classify(in *x86asm.Inst, pc uint64, ctx fnContext) (Site, bool) {
	if noAccess[in.Op] || strings.HasPrefix(in.Op.String(), "PREFETCH") {
		return Site{}, false
	}
	var m x86asm.Mem
	arg := -1
	for i, a := range in.Args {
		if a == nil {
			break
		}
		if mm, ok := a.(x86asm.Mem); ok {
			m, arg = mm, i
			break
		}
	}
	if arg < 0 || m.Segment == x86asm.FS || m.Segment == x86asm.GS {
		return Site{}, false
	}
	base, okb := gpr(m.Base)
	index, oki := gpr(m.Index)
	if !okb || !oki {
		return Site{}, false // a vector index (gather, scatter)
	}
	s := Site{Vaddr: pc, Len: uint8(in.Len), Mem: Operand{Base: base, Index: index, Scale: m.Scale,
		Disp: m.Disp, Addr32: in.AddrSize == 32, Size: accessSize(in)}}
	s.Write = arg == 0 && !readOnly[in.Op]
	switch {
	case atomic(in):
		s.Class, s.Write = Atomic, true
	case base == RIP:
		if !ctx.global(pc + uint64(in.Len) + uint64(m.Disp)) {
			return Site{}, false
		}
		s.Class = Global
	case base == NoReg:
		// An absolute address, maybe indexed (a table in non-PIE code).
		if !ctx.global(uint64(m.Disp)) {
			return Site{}, false
		}
		s.Class = Global
	case ctx.stack(base):
		return Site{}, false
	default:
		if t, ok := ctx.pointsAt(base, index, m.Scale); ok {
			// lea base, [rip+t] before: an access to what t is.
			if !ctx.global(t + uint64(m.Disp)) {
				return Site{}, false
			}
			s.Class = Global
			break
		}
		s.Class = Pointer
	}
	return s, true
}

// stack reports whether a register addresses the stack or the goroutine.
func (ctx fnContext) stack(r Reg) bool {
	return r == RSP || r == RBP && ctx.frame || r == R14 && ctx.goABI
}

// pointsAt returns what an operand's base points at, if a lea made it
// point at a link-time address; unoptimized code puts that register in
// the index position of [offset+table] (scale 1) as often as in the base.
func (ctx fnContext) pointsAt(base, index Reg, scale uint8) (uint64, bool) {
	if t, ok := ctx.known.get(base); ok {
		return t, true
	}
	if scale <= 1 {
		return ctx.known.get(index)
	}
	return 0, false
}

// atomic reports a locked read-modify-write: a lock prefix, xchg with
// memory (locked implicitly), cmpxchg (a CAS even without lock, as in a
// uniprocessor build).
func atomic(in *x86asm.Inst) bool {
	switch in.Op {
	case x86asm.XCHG, x86asm.CMPXCHG, x86asm.CMPXCHG8B, x86asm.CMPXCHG16B:
		return true
	}
	for _, p := range in.Prefix {
		if p == 0 {
			break
		}
		if p&0xff == x86asm.PrefixLOCK && p&(x86asm.PrefixIgnored|x86asm.PrefixInvalid) == 0 {
			return true
		}
	}
	return false
}

// gpr maps a general-purpose address register (64- or 32-bit) or RIP to
// Reg; ok is false for any other register.
func gpr(r x86asm.Reg) (Reg, bool) {
	switch {
	case r == 0:
		return NoReg, true
	case r == x86asm.RIP || r == x86asm.EIP:
		return RIP, true
	case r >= x86asm.RAX && r <= x86asm.R15:
		return RAX + Reg(r-x86asm.RAX), true
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return RAX + Reg(r-x86asm.EAX), true
	}
	return NoReg, false
}

// accessSize is the number of bytes the instruction accesses (one element
// of a string instruction).
func accessSize(in *x86asm.Inst) uint8 {
	if in.MemBytes > 0 {
		return uint8(min(in.MemBytes, 255))
	}
	op := in.Op.String()
	switch op {
	case "MOVSB", "STOSB", "LODSB", "CMPSB", "SCASB":
		return 1
	case "MOVSW", "STOSW", "LODSW", "CMPSW", "SCASW":
		return 2
	case "MOVSD", "STOSD", "LODSD", "CMPSD", "SCASD":
		return 4
	case "MOVSQ", "STOSQ", "LODSQ", "CMPSQ", "SCASQ":
		return 8
	}
	return 0
}
