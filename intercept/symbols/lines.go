package symbols

import (
	"debug/dwarf"
	"debug/elf"
	"debug/gosym"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Source lines of addresses, for reports: the reverse of Lines. Both are
// read lazily and only when asked: exploration never pays for them.
//
// With DWARF, the compile unit that covers the address is found by its
// ranges (an index built on first use) and its line table is searched
// (LineReader.SeekPC). A Go binary without DWARF (-ldflags=-w) still has
// its pclntab, which debug/gosym reads.

// Line is a source position.
type Line struct {
	File string
	Line int
}

func (l Line) String() string { return fmt.Sprintf("%s:%d", l.File, l.Line) }

// cuRange is an address range of one compile unit.
type cuRange struct {
	lo, hi uint64
	cu     *dwarf.Entry
}

// lineIndex is what LineAt needs, built once per object.
type lineIndex struct {
	once   sync.Once
	ranges []cuRange // sorted by lo
	gotab  *gosym.Table
	err    error
}

// LineAt returns the source line of the instruction at link-time address
// vaddr. ok is false when neither DWARF nor a Go pclntab covers it.
func (o *Object) LineAt(vaddr uint64) (Line, bool) {
	li := o.lineIndex()
	if li.ranges != nil {
		if l, ok := o.dwarfLineAt(li, vaddr); ok {
			return l, true
		}
	}
	if li.gotab != nil {
		if file, line, fn := li.gotab.PCToLine(vaddr); fn != nil && line > 0 {
			return Line{file, line}, true
		}
	}
	return Line{}, false
}

func (o *Object) lineIndex() *lineIndex {
	li := &o.lines
	li.once.Do(func() {
		if idx, err := o.dwarf(); err == nil {
			li.ranges = cuRanges(idx)
		}
		if o.IsGo {
			li.gotab, li.err = goTable(o.Path)
		}
	})
	return li
}

// cuRanges indexes the compile units of idx by address.
func cuRanges(idx *dwarfIndex) []cuRange {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	out := []cuRange{}
	for _, cu := range idx.cus {
		rs, err := idx.data.Ranges(cu)
		if err != nil {
			continue
		}
		for _, r := range rs {
			if r[1] > r[0] {
				out = append(out, cuRange{r[0], r[1], cu})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lo < out[j].lo })
	return out
}

func (o *Object) dwarfLineAt(li *lineIndex, vaddr uint64) (Line, bool) {
	// The last range starting at or below vaddr, or one of the few
	// before it (a unit's ranges can enclose another's).
	last := sort.Search(len(li.ranges), func(i int) bool { return li.ranges[i].lo > vaddr }) - 1
	for i := last; i >= 0 && i > last-16; i-- {
		r := li.ranges[i]
		if vaddr < r.lo || vaddr >= r.hi {
			continue
		}
		idx := o.dwIdx
		idx.mu.Lock()
		l, ok := lineInUnit(idx.data, r.cu, vaddr)
		idx.mu.Unlock()
		return l, ok
	}
	return Line{}, false
}

// lineInUnit scans a unit's line table for the row covering vaddr: the
// last row at or below it whose sequence goes on past it. (LineReader's
// SeekPC assumes sequences sorted by address; gcc puts main's, in
// .text.startup, after the others.)
func lineInUnit(d *dwarf.Data, cu *dwarf.Entry, vaddr uint64) (Line, bool) {
	lr, err := d.LineReader(cu)
	if err != nil || lr == nil {
		return Line{}, false
	}
	var le, prev dwarf.LineEntry
	have := false
	for lr.Next(&le) == nil {
		if have && !prev.EndSequence && prev.Address <= vaddr && vaddr < le.Address {
			if prev.File == nil || prev.Line <= 0 {
				return Line{}, false
			}
			return Line{prev.File.Name, prev.Line}, true
		}
		prev, have = le, true
	}
	return Line{}, false
}

// goTable reads the pclntab of the Go binary at path.
func goTable(path string) (*gosym.Table, error) {
	ef, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer ef.Close()
	pcln, text := ef.Section(".gopclntab"), ef.Section(".text")
	if pcln == nil || text == nil {
		return nil, errors.New(path + ": no .gopclntab")
	}
	data, err := pcln.Data()
	if err != nil {
		return nil, err
	}
	return gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
}
