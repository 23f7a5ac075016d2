package symbols

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
)

// dwarfSource is the ELF file holding an object's DWARF (the object itself
// or its separate debug file) and the descriptor it is read through. A
// separate debug file (debugID set) is opened on first use (open).
type dwarfSource struct {
	file    *elf.File
	path    string
	closer  *os.File
	debugID string

	mu     sync.Mutex
	closed bool
}

func (s *dwarfSource) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.closer == nil {
		s.closed = true
		return nil
	}
	s.closed = true
	return s.closer.Close()
}

// open opens a separate debug file, once (under Object.dwOnce): it must
// still be the object's (its build ID) and hold DWARF.
func (s *dwarfSource) open() error {
	if s.debugID == "" {
		return nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	ef, err := elf.NewFile(f)
	if err == nil && (buildID(ef) != s.debugID || !hasDWARF(ef)) {
		err = ErrNoDWARF
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && s.closed {
		err = errors.New("DWARF read after the object was closed")
	}
	if err != nil {
		f.Close()
		return err
	}
	s.file, s.closer = ef, f
	return nil
}

// dwarfIndex is what an object's DWARF says, read once.
type dwarfIndex struct {
	data *dwarf.Data
	cus  []*dwarf.Entry // compile units, in section order

	mu sync.Mutex // serializes line-table reads through data

	inlOnce sync.Once
	inl     []inlineSite     // sorted by entry address
	inlBy   map[string][]int // function name -> indexes into inl
	inlErr  error
}

// inlineSite is one DW_TAG_inlined_subroutine: a copy of a function's
// body inside another function.
type inlineSite struct {
	name   string
	entry  uint64
	ranges [][2]uint64
	// callFile and callLine are where the copy was called from
	// (DW_AT_call_file:DW_AT_call_line; "" if not given).
	callFile string
	callLine int
}

// ErrNoSourceFile is returned (wrapped) by Lines when no line table of
// the object names a matching source file.
var ErrNoSourceFile = errors.New("no such source file in the line tables")

// ErrNoDWARF is returned (wrapped) by Lines and Inlined for an object
// without debug information.
var ErrNoDWARF = errors.New("no DWARF debug information")

func (o *Object) dwarf() (*dwarfIndex, error) {
	o.dwOnce.Do(func() {
		if o.dw == nil {
			o.dwErr = fmt.Errorf("%s: %w (built without -g, or stripped)", o.Path, ErrNoDWARF)
			return
		}
		o.dw.mu.Lock()
		closed := o.dw.closed
		o.dw.mu.Unlock()
		if closed {
			o.dwErr = fmt.Errorf("%s: DWARF read after the object was closed", o.Path)
			return
		}
		if err := o.dw.open(); err != nil {
			o.dwErr = fmt.Errorf("%s: %w", o.dw.path, err)
			return
		}
		d, err := o.dw.file.DWARF()
		if err != nil {
			o.dwErr = fmt.Errorf("%s: reading DWARF: %w", o.dw.path, err)
			return
		}
		idx := &dwarfIndex{data: d}
		r := d.Reader()
		for {
			e, err := r.Next()
			if err != nil {
				o.dwErr = fmt.Errorf("%s: reading DWARF: %w", o.dw.path, err)
				return
			}
			if e == nil {
				break
			}
			if e.Tag == dwarf.TagCompileUnit || e.Tag == dwarf.TagPartialUnit {
				idx.cus = append(idx.cus, e)
			}
			r.SkipChildren()
		}
		o.dwIdx = idx
	})
	return o.dwIdx, o.dwErr
}

// inlines builds the inlined-subroutine index: one pass over every DIE.
func (o *Object) inlines() (*dwarfIndex, error) {
	idx, err := o.dwarf()
	if err != nil {
		return nil, err
	}
	idx.inlOnce.Do(func() { idx.inlErr = idx.buildInlines(o.dw.path) })
	if idx.inlErr != nil {
		return nil, idx.inlErr
	}
	return idx, nil
}

func (idx *dwarfIndex) buildInlines(file string) error {
	type subprogram struct {
		name   string
		origin dwarf.Offset // DW_AT_abstract_origin or DW_AT_specification
	}
	subs := map[dwarf.Offset]subprogram{}
	type pending struct {
		origin   dwarf.Offset
		site     inlineSite
		cu       int   // index into idx.cus
		callFile int64 // DW_AT_call_file, -1 if absent
		callLine int64
		exact    bool // DW_AT_entry_pc given
	}
	var sites []pending

	d := idx.data
	r := d.Reader()
	cu := -1
	for {
		e, err := r.Next()
		if err != nil {
			return fmt.Errorf("%s: reading DWARF: %w", file, err)
		}
		if e == nil {
			break
		}
		switch e.Tag {
		case dwarf.TagCompileUnit, dwarf.TagPartialUnit:
			cu++
		case dwarf.TagSubprogram:
			var sp subprogram
			sp.name, _ = e.Val(dwarf.AttrName).(string)
			if sp.name == "" {
				if ln, ok := e.Val(dwarf.AttrLinkageName).(string); ok {
					sp.name = ln
				}
			}
			if off, ok := e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset); ok {
				sp.origin = off
			} else if off, ok := e.Val(dwarf.AttrSpecification).(dwarf.Offset); ok {
				sp.origin = off
			}
			subs[e.Offset] = sp
		case dwarf.TagInlinedSubroutine:
			origin, ok := e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset)
			if !ok {
				continue
			}
			ranges, err := d.Ranges(e)
			if err != nil || len(ranges) == 0 {
				continue // no code left (or unreadable ranges)
			}
			sort.Slice(ranges, func(i, j int) bool { return ranges[i][0] < ranges[j][0] })
			p := pending{origin: origin, cu: cu, callFile: -1,
				site: inlineSite{ranges: ranges, entry: ranges[0][0]}}
			if v, ok := e.Val(dwarf.AttrCallFile).(int64); ok {
				p.callFile = v
			}
			p.callLine, _ = e.Val(dwarf.AttrCallLine).(int64)
			// DW_AT_entry_pc (gcc) says where the inlined body starts
			// executing.
			if f := e.AttrField(dwarf.AttrEntrypc); f != nil {
				switch v := f.Val.(type) {
				case uint64:
					if f.Class == dwarf.ClassAddress {
						p.site.entry, p.exact = v, true
					}
				case int64:
					// DWARF 5: a constant is an offset from the
					// entity's base (its lowest address).
					p.site.entry, p.exact = ranges[0][0]+uint64(v), true
				}
			}
			sites = append(sites, p)
		}
	}

	// Without DW_AT_entry_pc (Go), the lowest address of a copy is not
	// always where it starts: the compiler hoists a spill of the
	// inlined body's argument above earlier code of the caller. The
	// body starts right after the inline mark, an instruction of the
	// caller at the call's line (DW_AT_call_file:DW_AT_call_line). So
	// the entry is the first range that the line table shows preceded
	// by a row of the call line; failing that, the lowest address.
	// Each copy's call file is named from its unit's line table too.
	byCU := map[int][]int{}
	var cuOrder []int
	for i := range sites {
		if p := &sites[i]; p.callFile >= 0 && p.cu >= 0 && p.cu < len(idx.cus) {
			if _, ok := byCU[p.cu]; !ok {
				cuOrder = append(cuOrder, p.cu)
			}
			byCU[p.cu] = append(byCU[p.cu], i)
		}
	}
	for _, c := range cuOrder {
		lr, err := d.LineReader(idx.cus[c])
		if err != nil || lr == nil {
			continue
		}
		files := lr.Files()
		type row struct {
			addr uint64
			file *dwarf.LineFile
			line int
		}
		var rows []row
		read := false // the rows, read for the first copy without an entry_pc
		for _, i := range byCU[c] {
			p := &sites[i]
			if p.callFile >= int64(len(files)) || files[p.callFile] == nil {
				continue
			}
			want := files[p.callFile]
			p.site.callFile, p.site.callLine = want.Name, int(p.callLine)
			if p.exact {
				continue
			}
			if !read {
				read = true
				var le dwarf.LineEntry
				for lr.Next(&le) == nil {
					if !le.EndSequence {
						rows = append(rows, row{le.Address, le.File, le.Line})
					}
				}
				sort.SliceStable(rows, func(i, j int) bool { return rows[i].addr < rows[j].addr })
			}
			for _, rg := range p.site.ranges {
				k := sort.Search(len(rows), func(k int) bool { return rows[k].addr >= rg[0] }) - 1
				if k >= 0 && rows[k].file == want && int64(rows[k].line) == p.callLine {
					p.site.entry = rg[0]
					break
				}
			}
		}
	}

	nameOf := func(off dwarf.Offset) string {
		for range 8 { // origin chains are short; bound against cycles
			sp, ok := subs[off]
			if !ok {
				return ""
			}
			if sp.name != "" {
				return sp.name
			}
			if sp.origin == 0 {
				return ""
			}
			off = sp.origin
		}
		return ""
	}
	sort.SliceStable(sites, func(i, j int) bool { return sites[i].site.entry < sites[j].site.entry })
	idx.inlBy = map[string][]int{}
	for _, p := range sites {
		p.site.name = nameOf(p.origin)
		idx.inlBy[p.site.name] = append(idx.inlBy[p.site.name], len(idx.inl))
		idx.inl = append(idx.inl, p.site)
	}
	return nil
}

// InlineCopy is one inlined copy of a function inside another function:
// the address its body starts executing at, and the link-time ranges
// [lo, hi) its code occupies (often several: the compiler moves slow paths
// to the end of the caller).
type InlineCopy struct {
	Entry  uint64
	Ranges [][2]uint64
}

// Contains reports whether the link-time address lies in the copy.
func (c InlineCopy) Contains(addr uint64) bool {
	for _, r := range c.Ranges {
		if addr >= r[0] && addr < r[1] {
			return true
		}
	}
	return false
}

// InlinedCopies returns the inlined copies of function name (the
// DW_TAG_inlined_subroutine entries whose abstract origin is named name),
// sorted by entry, including copies nested in other inlined copies. The
// entry is DW_AT_entry_pc where the compiler gives it (gcc); else (Go)
// the start of the copy's first range that follows a line-table row of
// the call line (the caller's inline mark), else its lowest address. The
// result is nil, with no error, for a function that is never inlined;
// ErrNoDWARF (wrapped) without debug information.
func (o *Object) InlinedCopies(name string) ([]InlineCopy, error) {
	idx, err := o.inlines()
	if err != nil {
		return nil, err
	}
	var out []InlineCopy
	for _, i := range idx.inlBy[name] {
		s := idx.inl[i]
		out = append(out, InlineCopy{Entry: s.entry, Ranges: s.ranges})
	}
	return out, nil
}

// Inlined returns the link-time entry addresses of the inlined copies of
// function name, sorted and without duplicates (see InlinedCopies). A
// breakpoint there is reached each time the inlined call is.
func (o *Object) Inlined(name string) ([]uint64, error) {
	cs, err := o.InlinedCopies(name)
	if err != nil {
		return nil, err
	}
	out := make([]uint64, len(cs))
	for i, c := range cs {
		out[i] = c.Entry
	}
	return dedupSorted(out), nil
}

// InlineFrame is one inlined call whose code holds an address: the
// inlined function and where it was called from.
type InlineFrame struct {
	Func     string // the inlined function (DW_AT_name of its origin)
	CallFile string // "" if DWARF does not say
	CallLine int
}

// InlinedAt returns the inlined calls whose code holds the link-time
// address vaddr, innermost first: the address is in InlinedAt[0].Func,
// called at its CallFile:CallLine from InlinedAt[1].Func (or, for the
// last, from the function the symbol table names). nil when the address
// is in no inlined copy or the object has no DWARF.
func (o *Object) InlinedAt(vaddr uint64) []InlineFrame {
	idx, err := o.inlines()
	if err != nil {
		return nil
	}
	type hit struct {
		i    int
		size uint64
	}
	var hits []hit
	for i := range idx.inl {
		s := &idx.inl[i]
		for _, r := range s.ranges {
			if vaddr >= r[0] && vaddr < r[1] {
				size := uint64(0)
				for _, r := range s.ranges {
					size += r[1] - r[0]
				}
				hits = append(hits, hit{i, size})
				break
			}
		}
	}
	// Copies nest: the smaller is the inner.
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].size < hits[b].size })
	out := make([]InlineFrame, len(hits))
	for k, h := range hits {
		s := &idx.inl[h.i]
		out[k] = InlineFrame{Func: s.name, CallFile: s.callFile, CallLine: s.callLine}
	}
	return out
}

// inlineAt returns the index of the innermost inlined copy whose ranges
// contain addr, or -1.
func (idx *dwarfIndex) inlineAt(addr uint64) int {
	best, bestSize := -1, uint64(0)
	// Sites are sorted by entry; a site's ranges can start before its
	// entry only for gcc's entry_pc, so scan all (a few thousand).
	for i := range idx.inl {
		s := &idx.inl[i]
		for _, r := range s.ranges {
			if addr >= r[0] && addr < r[1] {
				size := uint64(0)
				for _, r := range s.ranges {
					size += r[1] - r[0]
				}
				if best < 0 || size < bestSize {
					best, bestSize = i, size
				}
				break
			}
		}
	}
	return best
}

// cleanPath normalizes a source path for suffix matching.
func cleanPath(p string) string {
	p = path.Clean(p)
	return strings.TrimPrefix(p, "./")
}

// pathMatches reports whether want names full: equal, or a suffix that
// starts at a path component ("bug.c", "dir/bug.c" match
// "/src/dir/bug.c"; "ug.c" does not).
func pathMatches(full, want string) bool {
	return full == want || strings.HasSuffix(full, "/"+want)
}

// Lines returns the link-time addresses of source line file:line, from
// the DWARF line tables, sorted. file is matched against the full paths
// in the tables by suffix at a path component ("bug.c", "src/bug.c").
//
// A line usually has several runs of rows (a loop header compiles to an
// initialization, a test and an increment); like gdb, one address is kept
// per function or per inlined copy of the line: the lowest is_stmt row
// (the addresses the compiler recommends for breakpoints). Where a block
// has no is_stmt row for the line, its lowest row is used: Go marks the
// call line of an inlined call (mu.Lock()) only with a non-stmt row at
// the inline mark. So a line inside an inline function called from three
// places yields three addresses, and a loop header in one function one.
//
// Errors: no DWARF; no file matching file (with the closest names); file
// matching several different source files (give more of the path); no
// code at that line (with the nearest lines that have code).
func (o *Object) Lines(file string, line int) ([]uint64, error) {
	if line <= 0 {
		return nil, fmt.Errorf("%s:%d: line numbers start at 1", file, line)
	}
	want := cleanPath(file)
	if want == "" || want == "." || want == "/" {
		return nil, fmt.Errorf("%q: empty source file name", file)
	}
	idx, err := o.dwarf()
	if err != nil {
		return nil, err
	}

	// A run is a maximal sequence of consecutive rows for file:line;
	// addr is its first is_stmt row, or its first row if it has none.
	type run struct {
		addr uint64
		stmt bool
	}
	var (
		runs     []run
		matched  = map[string]bool{}
		below    = 0 // nearest line < line with code
		above    = 0 // nearest line > line with code
		seenBase = map[string]bool{}
	)
	idx.mu.Lock()
	for _, cu := range idx.cus {
		lr, err := idx.data.LineReader(cu)
		if err != nil {
			idx.mu.Unlock()
			return nil, fmt.Errorf("%s: line table: %w", o.dw.path, err)
		}
		if lr == nil {
			continue
		}
		any := false
		for _, f := range lr.Files() {
			if f == nil {
				continue
			}
			if pathMatches(cleanPath(f.Name), want) {
				any = true
			} else if len(seenBase) < 4096 {
				seenBase[cleanPath(f.Name)] = true
			}
		}
		if !any {
			continue
		}
		var le dwarf.LineEntry
		cur := -1                             // index in runs of the open run
		cache := map[*dwarf.LineFile]string{} // file -> matched clean path ("" = no)
		for {
			if err := lr.Next(&le); err != nil {
				break // io.EOF, or a damaged table: use what was read
			}
			if le.EndSequence {
				cur = -1
				continue
			}
			p, ok := cache[le.File]
			if !ok {
				if le.File != nil {
					if c := cleanPath(le.File.Name); pathMatches(c, want) {
						p = c
					}
				}
				cache[le.File] = p
			}
			if p == "" {
				cur = -1
				continue
			}
			matched[p] = true
			if le.Line == line {
				switch {
				case cur < 0:
					runs = append(runs, run{le.Address, le.IsStmt})
					cur = len(runs) - 1
				case le.IsStmt && !runs[cur].stmt:
					runs[cur] = run{le.Address, true}
				}
				continue
			}
			cur = -1
			if le.Line > 0 {
				if le.Line < line && le.Line > below {
					below = le.Line
				}
				if le.Line > line && (above == 0 || le.Line < above) {
					above = le.Line
				}
			}
		}
	}
	idx.mu.Unlock()

	if len(matched) == 0 {
		return nil, fmt.Errorf("%s: %s: %w%s", o.Path, file, ErrNoSourceFile, similar(want, seenBase))
	}
	if len(matched) > 1 {
		paths := make([]string, 0, len(matched))
		for p := range matched {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		return nil, fmt.Errorf("%s: %s matches %d source files (%s): give more of the path", o.Path, file, len(paths), strings.Join(paths, ", "))
	}
	if len(runs) == 0 {
		var near []string
		if below > 0 {
			near = append(near, fmt.Sprint(below))
		}
		if above > 0 {
			near = append(near, fmt.Sprint(above))
		}
		hint := ""
		if len(near) > 0 {
			hint = " (nearest lines with code: " + strings.Join(near, ", ") + ")"
		}
		return nil, fmt.Errorf("%s:%d: no code at this line%s", file, line, hint)
	}

	// One address per block: the innermost inlined copy containing the
	// address, else the function containing it, else the run itself.
	var inl *dwarfIndex
	if ix, err := o.inlines(); err == nil {
		inl = ix
	}
	type blockKey struct {
		kind int // 0 inline copy, 1 function, 2 bare run
		id   uint64
	}
	type choice struct {
		addr uint64
		stmt bool
	}
	best := map[blockKey]choice{}
	var keys []blockKey
	for _, r := range runs {
		k := blockKey{2, r.addr}
		if inl != nil {
			if i := inl.inlineAt(r.addr); i >= 0 {
				k = blockKey{0, uint64(i)}
			}
		}
		if k.kind == 2 {
			if fn, ok := o.FuncAt(r.addr); ok {
				k = blockKey{1, fn.Value}
			}
		}
		c, ok := best[k]
		if !ok {
			keys = append(keys, k)
		}
		// is_stmt rows win; among equals, the lowest address.
		if !ok || r.stmt && !c.stmt || r.stmt == c.stmt && r.addr < c.addr {
			best[k] = choice(r)
		}
	}
	out := make([]uint64, 0, len(keys))
	for _, k := range keys {
		out = append(out, best[k].addr)
	}
	return dedupSorted(out), nil
}

// similar lists up to three source files with the same base name as want.
func similar(want string, seen map[string]bool) string {
	base := path.Base(want)
	var c []string
	for p := range seen {
		if path.Base(p) == base || strings.Contains(path.Base(p), strings.TrimSuffix(base, path.Ext(base))) && strings.HasSuffix(p, path.Ext(base)) {
			c = append(c, p)
		}
	}
	if len(c) == 0 {
		return ""
	}
	sort.Strings(c)
	if len(c) > 3 {
		c = c[:3]
	}
	return " (similar: " + strings.Join(c, ", ") + ")"
}
