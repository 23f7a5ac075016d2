package memsites

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Scope says which functions of an object are scanned.
type Scope uint8

const (
	// ScopeProgram: the program's own code (see the package doc).
	ScopeProgram Scope = iota
	// ScopeAll: every function of the object.
	ScopeAll
)

func (s Scope) String() string {
	if s == ScopeAll {
		return "all"
	}
	return "program"
}

// ErrNotX86 is returned (wrapped) for an ELF file that is not x86-64.
var ErrNotX86 = errors.New("not an x86-64 ELF object")

// Scan disassembles the object at path and returns its sites.
func Scan(path string, scope Scope) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ScanReader(f, path, scope)
}

// ScanReader is Scan of an already opened file; name is for errors.
func ScanReader(r io.ReaderAt, name string, scope Scope) (*Table, error) {
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("%s: %w (%s %s)", name, ErrNotX86, ef.Class, ef.Machine)
	}
	o, err := newObject(ef, r, scope)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	t := &Table{Key: tableKey(BuildID(ef), scope), Scope: scope}
	for _, c := range o.chunks {
		if !o.wanted(c) {
			continue
		}
		code, err := o.text(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		o.scanChunk(t, c, code)
	}
	o.nameLines(t)
	return t, nil
}

// tableKey is the on-disk cache key of a table ("" without a build ID).
func tableKey(id string, scope Scope) string {
	if id == "" {
		return ""
	}
	return id + "-" + scope.String()
}

// chunk is a stretch of text decoded in one sweep: from a function
// symbol (or a section's start) to the next symbol (or the section's end).
type chunk struct {
	name   string
	lo, hi uint64
	sec    *elf.Section
	// fn: the chunk starts at a function symbol (not a gap).
	fn bool
}

// object is what Scan needs to know about an ELF file.
type object struct {
	ef     *elf.File
	scope  Scope
	isGo   bool
	isExec bool // an executable (ET_EXEC, or ET_DYN with PT_INTERP)
	chunks []chunk
	// writable: PF_W segments; relro: PT_GNU_RELRO (read-only after
	// relocation: the GOT).
	writable [][2]uint64
	relro    [2]uint64
	data     []dataSym // sorted by value
	user     ranges    // C: DWARF ranges of the program's compile units
	goUser   func(pkg string) bool
	secData  map[*elf.Section][]byte
	funcs    map[uint64]string // function symbols by address
	// scanChunk's buffers, reused from chunk to chunk.
	steps []step
	cands []candidate
}

type dataSym struct {
	name       string
	value, end uint64
	dynamic    bool
}

func newObject(ef *elf.File, r io.ReaderAt, scope Scope) (*object, error) {
	o := &object{ef: ef, scope: scope, secData: map[*elf.Section][]byte{}}
	o.isGo = ef.Section(".go.buildinfo") != nil || ef.Section(".note.go.buildid") != nil
	o.isExec = ef.Type == elf.ET_EXEC
	for _, p := range ef.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			o.isExec = true
		case elf.PT_LOAD:
			if p.Flags&elf.PF_W != 0 {
				o.writable = append(o.writable, [2]uint64{p.Vaddr, p.Vaddr + p.Memsz})
			}
		case elf.PT_GNU_RELRO:
			o.relro = [2]uint64{p.Vaddr, p.Vaddr + p.Memsz}
		}
	}
	syms, err := ef.Symbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, fmt.Errorf(".symtab: %w", err)
	}
	dyn, err := ef.DynamicSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, fmt.Errorf(".dynsym: %w", err)
	}
	o.dataSymbols(syms, dyn)
	o.makeChunks(syms, dyn)
	if o.isGo {
		o.goUser = goUserPackages(r)
	} else if scope == ScopeProgram {
		o.user = programRanges(ef)
	}
	return o, nil
}

// dataSymbols collects the objects RIP-relative targets are attributed
// to; dynamic marks those the executable exports (copy relocations of a
// library's variables, such as stdout).
func (o *object) dataSymbols(syms, dyn []elf.Symbol) {
	exported := map[uint64]bool{}
	for _, s := range dyn {
		if elf.ST_TYPE(s.Info) == elf.STT_OBJECT && s.Section != elf.SHN_UNDEF {
			exported[s.Value] = true
		}
	}
	add := func(ss []elf.Symbol) {
		for _, s := range ss {
			if elf.ST_TYPE(s.Info) != elf.STT_OBJECT || s.Section == elf.SHN_UNDEF || s.Value == 0 {
				continue
			}
			o.data = append(o.data, dataSym{name: s.Name, value: s.Value, end: s.Value + max(s.Size, 1), dynamic: exported[s.Value]})
		}
	}
	add(syms)
	if len(syms) == 0 {
		add(dyn)
	}
	sort.Slice(o.data, func(i, j int) bool { return o.data[i].value < o.data[j].value })
}

// dataAt returns the data symbol holding vaddr.
func (o *object) dataAt(vaddr uint64) (dataSym, bool) {
	i := sort.Search(len(o.data), func(i int) bool { return o.data[i].value > vaddr }) - 1
	if i >= 0 && vaddr < o.data[i].end {
		return o.data[i], true
	}
	return dataSym{}, false
}

// makeChunks splits every executable section at function symbols, as
// objdump -d restarts decoding at each symbol. PLT sections are left out
// (indirect jumps through the GOT).
func (o *object) makeChunks(syms, dyn []elf.Symbol) {
	fsyms := syms
	if !hasFuncs(fsyms) {
		fsyms = dyn
	}
	starts := map[uint64]string{}
	o.funcs = starts
	for _, s := range fsyms {
		t := elf.ST_TYPE(s.Info)
		if (t != elf.STT_FUNC && t != elf.STT_GNU_IFUNC) || s.Section == elf.SHN_UNDEF || s.Value == 0 {
			continue
		}
		if n, ok := starts[s.Value]; !ok || betterName(s.Name, n) {
			starts[s.Value] = s.Name
		}
	}
	addrs := make([]uint64, 0, len(starts))
	for a := range starts {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i] < addrs[j] })
	for _, sec := range o.ef.Sections {
		if sec.Type != elf.SHT_PROGBITS || sec.Flags&elf.SHF_EXECINSTR == 0 || sec.Size == 0 || strings.HasPrefix(sec.Name, ".plt") {
			continue
		}
		lo, hi := sec.Addr, sec.Addr+sec.Size
		i := sort.Search(len(addrs), func(i int) bool { return addrs[i] >= lo })
		cur := chunk{name: sec.Name, lo: lo, sec: sec}
		for ; i < len(addrs) && addrs[i] < hi; i++ {
			if addrs[i] > cur.lo {
				cur.hi = addrs[i]
				o.chunks = append(o.chunks, cur)
			}
			cur = chunk{name: starts[addrs[i]], lo: addrs[i], sec: sec, fn: true}
		}
		cur.hi = hi
		o.chunks = append(o.chunks, cur)
	}
}

func hasFuncs(ss []elf.Symbol) bool {
	for _, s := range ss {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Section != elf.SHN_UNDEF {
			return true
		}
	}
	return false
}

// betterName prefers public names to internal aliases (pthread_mutex_lock
// over __pthread_mutex_lock), then the shorter, then the smaller.
func betterName(a, b string) bool {
	ua, ub := strings.HasPrefix(a, "_"), strings.HasPrefix(b, "_")
	if ua != ub {
		return !ua
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// crtFuncs are the C runtime's start-up and tear-down functions linked
// into every C executable: not the program's code.
var crtFuncs = map[string]bool{
	"_start": true, "_init": true, "_fini": true, "deregister_tm_clones": true,
	"register_tm_clones": true, "__do_global_dtors_aux": true, "frame_dummy": true,
	"__libc_csu_init": true, "__libc_csu_fini": true, "_dl_relocate_static_pie": true,
}

// wanted reports whether a chunk is in the scan's scope.
func (o *object) wanted(c chunk) bool {
	if o.scope == ScopeAll {
		return true
	}
	if c.sec.Name == ".init" || c.sec.Name == ".fini" {
		return false
	}
	if o.isGo {
		return c.fn && o.goUser(goPackage(c.name))
	}
	if len(o.user) > 0 {
		return o.user.overlaps(c.lo, c.hi)
	}
	return c.fn && !crtFuncs[c.name] && !strings.HasPrefix(c.name, "__x86.get_pc_thunk")
}

// text returns the bytes of a chunk.
func (o *object) text(c chunk) ([]byte, error) {
	data, ok := o.secData[c.sec]
	if !ok {
		var err error
		if data, err = c.sec.Data(); err != nil {
			return nil, fmt.Errorf("section %s: %w", c.sec.Name, err)
		}
		o.secData[c.sec] = data
	}
	lo, hi := c.lo-c.sec.Addr, c.hi-c.sec.Addr
	if hi > uint64(len(data)) || lo > hi {
		return nil, fmt.Errorf("section %s: %s at %#x..%#x lies outside it", c.sec.Name, c.name, c.lo, c.hi)
	}
	return data[lo:hi], nil
}

// sweep decodes code, which starts at address lo, one instruction after
// the other, and calls fn at each: with the instruction if x86asm decodes
// it with the right length (insnLen's), else with nil (it is skipped
// whole, and counted in t.Undecoded; t may be nil).
func sweep(code []byte, lo uint64, t *Table, fn func(pc uint64, in *x86asm.Inst)) {
	for off := 0; off < len(code); {
		n, ok := insnLen(code[off:])
		in, err := x86asm.Decode(code[off:], 64)
		pc := lo + uint64(off)
		switch {
		case err == nil && in.Len > 0 && (!ok || in.Len == n):
			fn(pc, &in)
			off += in.Len
			continue
		case ok:
			off += n
		default:
			off++
		}
		if t != nil {
			t.Undecoded++
		}
		fn(pc, nil)
	}
}

// scanChunk decodes one chunk and appends its sites. The first pass
// keeps every instruction's step (small) and only the instructions with
// a memory operand (x86asm.Inst is large: copying all of them cost more
// than decoding); the second walks the steps and classifies those.
func (o *object) scanChunk(t *Table, c chunk, code []byte) {
	steps, cands := o.steps[:0], o.cands[:0]
	frame, wb := false, false
	targets := map[uint64]bool{}
	sweep(code, c.lo, t, func(pc uint64, in *x86asm.Inst) {
		if in == nil {
			return
		}
		st := stepOf(in, pc)
		if st.jump >= c.lo && st.jump < c.hi {
			targets[st.jump] = true
		}
		steps = append(steps, st)
		if in.Op == x86asm.MOV && in.Args[0] == x86asm.RBP && in.Args[1] == x86asm.RSP {
			frame = true
		}
		if o.isGo {
			var skip bool
			if skip, wb = o.writeBarrier(in, pc, wb); skip {
				return
			}
		}
		if hasMem(in) {
			cands = append(cands, candidate{len(steps) - 1, *in})
		}
	})
	o.steps, o.cands = steps, cands
	t.Text += len(code)
	t.Insns += len(steps)
	fn := int32(-1)
	var k known
	ctx := fnContext{frame: frame, goABI: o.isGo, global: o.global, known: &k}
	next := 0
	for i, st := range steps {
		if targets[st.pc] {
			k = known{}
		}
		if next < len(cands) && cands[next].step == i {
			in := &cands[next].in
			next++
			if s, ok := classify(in, st.pc, ctx); ok {
				if fn < 0 {
					t.Funcs = append(t.Funcs, Func{Name: c.name, Start: c.lo})
					fn = int32(len(t.Funcs) - 1)
				}
				s.Func = fn
				t.Sites = append(t.Sites, s)
			}
		}
		k.apply(st)
	}
}

// candidate is an instruction with a memory operand and the index of its
// step.
type candidate struct {
	step int
	in   x86asm.Inst
}

// hasMem reports whether an instruction has a memory argument.
func hasMem(in *x86asm.Inst) bool {
	for _, a := range in.Args {
		if a == nil {
			return false
		}
		if _, ok := a.(x86asm.Mem); ok {
			return true
		}
	}
	return false
}

// writeBarrier follows Go's write barriers: the call to
// runtime.gcWriteBarrierN and the stores through r11 into the buffer it
// returns (the runtime's per-P buffer, not the program's data), which
// come among other moves after the call. inBarrier says whether the
// instructions before in (at pc) were in one; skip whether in is a
// buffer store.
func (o *object) writeBarrier(in *x86asm.Inst, pc uint64, inBarrier bool) (skip, still bool) {
	switch {
	case in.Op == x86asm.CALL:
		rel, ok := in.Args[0].(x86asm.Rel)
		return false, ok && strings.HasPrefix(o.funcs[pc+uint64(in.Len)+uint64(int64(rel))], "runtime.gcWriteBarrier")
	case !inBarrier || in.Op != x86asm.MOV:
		return false, false
	}
	m, ok := in.Args[0].(x86asm.Mem)
	return ok && m.Base == x86asm.R11, true
}

// global reports whether a RIP-relative target is shared-writable data
// worth a point: writable, not RELRO, not a variable of the runtime or
// of libc.
func (o *object) global(target uint64) bool {
	if target >= o.relro[0] && target < o.relro[1] {
		return false
	}
	in := false
	for _, w := range o.writable {
		if target >= w[0] && target < w[1] {
			in = true
			break
		}
	}
	if !in {
		return false
	}
	if o.scope == ScopeAll {
		return true
	}
	d, ok := o.dataAt(target)
	switch {
	case !ok:
		return true
	case o.isGo:
		return o.goUser(goPackage(d.name))
	case o.isExec && d.dynamic:
		return false // a copy-relocated library variable (stdout, environ)
	}
	return true
}

// BuildID returns the object's GNU build ID in hex, else its Go build ID,
// else "".
func BuildID(ef *elf.File) string {
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_NOTE {
			continue
		}
		data, err := s.Data()
		if err != nil {
			continue
		}
		if id := noteID(ef.ByteOrder, data, 3, "GNU\x00"); id != nil {
			return fmt.Sprintf("%x", id)
		}
	}
	if s := ef.Section(".note.go.buildid"); s != nil {
		if data, err := s.Data(); err == nil {
			if id := noteID(ef.ByteOrder, data, 4, "Go\x00\x00"); id != nil {
				return "go-" + strings.NewReplacer("/", "_", "+", "-").Replace(string(bytes.TrimRight(id, "\x00")))
			}
		}
	}
	return ""
}

// noteID returns the descriptor of the first ELF note of the given type
// and name in data.
func noteID(order interface{ Uint32([]byte) uint32 }, data []byte, typ uint32, name string) []byte {
	for len(data) >= 12 {
		namesz, descsz, t := order.Uint32(data[0:]), order.Uint32(data[4:]), order.Uint32(data[8:])
		data = data[12:]
		nameEnd := (uint64(namesz) + 3) &^ 3
		descEnd := nameEnd + (uint64(descsz)+3)&^3
		if uint64(len(data)) < descEnd {
			return nil
		}
		if t == typ && namesz == uint32(len(name)) && string(data[:namesz]) == name {
			return data[nameEnd : nameEnd+uint64(descsz)]
		}
		data = data[descEnd:]
	}
	return nil
}
