package memsites

import (
	"debug/dwarf"
	"path"
	"slices"
	"sort"
	"strconv"
)

// nameLines gives each site its source line ("lf_stack.c:42") from the
// DWARF line tables of the compile units that hold sites. Sites of an
// object without DWARF keep no line (named by function and offset). In a
// Go program it first drops the sites of library code inlined into the
// program's functions.
func (o *object) nameLines(t *Table) {
	if len(t.Sites) == 0 {
		return
	}
	d, err := o.ef.DWARF()
	if err != nil {
		return
	}
	if o.isGo && o.scope == ScopeProgram {
		lib := goInlinedLibrary(d, t.Sites, o.goUser)
		t.Sites = slices.DeleteFunc(t.Sites, func(s Site) bool { return lib.contains(s.Vaddr) })
	}
	rows := lineRows(d, t.Sites)
	for i := range t.Sites {
		s := &t.Sites[i]
		j := sort.Search(len(rows), func(j int) bool { return rows[j].addr > s.Vaddr }) - 1
		if j >= 0 && rows[j].line > 0 {
			s.Line = rows[j].file + ":" + strconv.Itoa(rows[j].line)
		}
	}
}

type lineRow struct {
	addr uint64
	file string // base name
	line int    // 0: the end of a sequence (no line)
	seq  int    // order within the table, to keep the last row of an address
}

// lineRows reads the line tables of the units whose ranges hold a site,
// sorted by address; at one address the row read last wins, and a
// sequence that starts there wins over one that ends there.
func lineRows(d *dwarf.Data, sites []Site) []lineRow {
	var rows []lineRow
	r := d.Reader()
	for {
		cu, err := r.Next()
		if err != nil || cu == nil {
			break
		}
		r.SkipChildren()
		if cu.Tag != dwarf.TagCompileUnit {
			continue
		}
		if rs, err := d.Ranges(cu); err != nil || !holdsSite(rs, sites) {
			continue
		}
		lr, err := d.LineReader(cu)
		if err != nil || lr == nil {
			continue
		}
		var le dwarf.LineEntry
		for lr.Next(&le) == nil {
			row := lineRow{addr: le.Address, seq: len(rows)}
			if !le.EndSequence && le.File != nil {
				row.file, row.line = path.Base(le.File.Name), le.Line
			}
			rows = append(rows, row)
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.addr != b.addr {
			return a.addr < b.addr
		}
		if (a.line == 0) != (b.line == 0) {
			return a.line == 0 // a sequence's end before another's start
		}
		return a.seq < b.seq
	})
	return rows
}

// goInlinedLibrary returns the address ranges of code the Go compiler
// inlined into the program's functions from packages that are not the
// program's (sync.(*Mutex).Lock's compare-and-swap, the runtime's
// helpers), in the compile units that hold sites: the standard library's
// code is left out wherever it was compiled.
func goInlinedLibrary(d *dwarf.Data, sites []Site, user func(pkg string) bool) ranges {
	var out ranges
	names := map[dwarf.Offset]string{}
	origin := func(off dwarf.Offset) string {
		if n, ok := names[off]; ok {
			return n
		}
		r := d.Reader()
		r.Seek(off)
		n := ""
		if e, err := r.Next(); err == nil && e != nil {
			n, _ = e.Val(dwarf.AttrName).(string)
		}
		names[off] = n
		return n
	}
	r := d.Reader()
	for {
		cu, err := r.Next()
		if err != nil || cu == nil {
			break
		}
		if cu.Tag != dwarf.TagCompileUnit {
			r.SkipChildren()
			continue
		}
		if rs, err := d.Ranges(cu); err != nil || !holdsSite(rs, sites) {
			r.SkipChildren()
			continue
		}
		// Walk the unit's tree; an inlined copy of a library function
		// is excluded whole, children included.
		for depth := 1; depth > 0; {
			e, err := r.Next()
			if err != nil || e == nil {
				return out.normalize()
			}
			if e.Tag == 0 {
				depth--
				continue
			}
			if e.Tag == dwarf.TagInlinedSubroutine {
				if off, ok := e.Val(dwarf.AttrAbstractOrigin).(dwarf.Offset); ok && !user(goPackage(origin(off))) {
					if rs, err := d.Ranges(e); err == nil {
						out = append(out, rs...)
					}
					if e.Children {
						r.SkipChildren()
					}
					continue
				}
			}
			if e.Children {
				depth++
			}
		}
	}
	return out.normalize()
}

// holdsSite reports whether one of the ranges holds a site.
func holdsSite(rs [][2]uint64, sites []Site) bool {
	for _, r := range rs {
		i := sort.Search(len(sites), func(i int) bool { return sites[i].Vaddr >= r[0] })
		if i < len(sites) && sites[i].Vaddr < r[1] {
			return true
		}
	}
	return false
}
