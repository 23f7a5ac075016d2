package memsites

import (
	"debug/buildinfo"
	"debug/dwarf"
	"debug/elf"
	"io"
	"sort"
	"strings"
)

// What counts as the program's own code (ScopeProgram).

// goPackage returns the import path of the package a Go symbol belongs to:
// "main" for main.worker and main.(*T).m, "github.com/x/y" for
// github.com/x/y.F, "" for compiler-generated names such as type:.eq.T.
// A dot in the last path element is escaped as %2e in symbol names.
func goPackage(sym string) string {
	if i := strings.IndexByte(sym, '['); i >= 0 {
		sym = sym[:i] // generic instantiation: [go.shape.int,...]
	}
	slash := strings.LastIndexByte(sym, '/')
	dot := strings.IndexByte(sym[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	pkg := sym[:slash+1+dot]
	if strings.ContainsAny(pkg, ":") {
		return ""
	}
	return strings.ReplaceAll(pkg, "%2e", ".")
}

// goUserPackages returns the test of a Go binary's own packages: main and
// the packages of its main module and dependencies (debug/buildinfo); the
// standard library and runtime are not. Without build information, a
// package is the user's if it is main or its path's first element has a
// dot (a module path), as the standard library's never do.
func goUserPackages(r io.ReaderAt) func(pkg string) bool {
	var mods []string
	if bi, err := buildinfo.Read(r); err == nil {
		if bi.Main.Path != "" {
			mods = append(mods, bi.Main.Path)
		}
		if bi.Path != "" && bi.Path != "command-line-arguments" {
			mods = append(mods, bi.Path)
		}
		for _, d := range bi.Deps {
			mods = append(mods, d.Path)
		}
	}
	return func(pkg string) bool {
		if pkg == "" {
			return false
		}
		if pkg == "main" || strings.HasPrefix(pkg, "main.") {
			return true
		}
		if len(mods) == 0 {
			first, _, _ := strings.Cut(pkg, "/")
			return strings.Contains(first, ".")
		}
		for _, m := range mods {
			if pkg == m || strings.HasPrefix(pkg, m+"/") {
				return true
			}
		}
		return false
	}
}

// ranges is a sorted list of disjoint [lo, hi) address ranges.
type ranges [][2]uint64

func (rs ranges) overlaps(lo, hi uint64) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i][1] > lo })
	return i < len(rs) && rs[i][0] < hi
}

func (rs ranges) contains(a uint64) bool { return rs.overlaps(a, a+1) }

// normalize sorts and merges.
func (rs ranges) normalize() ranges {
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	out := rs[:0]
	for _, r := range rs {
		if r[0] >= r[1] {
			continue
		}
		if n := len(out); n > 0 && r[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

// programRanges returns the address ranges of a C object's compile units
// written in a language other than assembly, from DWARF: the program's
// own code (a static binary's libc and the C runtime's start-up files
// carry no DWARF, or assembly units). nil if the object has no DWARF.
func programRanges(ef *elf.File) ranges {
	d, err := ef.DWARF()
	if err != nil {
		return nil
	}
	var rs ranges
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			break
		}
		if e.Tag == dwarf.TagCompileUnit && !assembly(e) {
			if cr, err := d.Ranges(e); err == nil {
				rs = append(rs, cr...)
			}
		}
		r.SkipChildren()
	}
	return rs.normalize()
}

// dwLangMipsAssembler is DW_LANG_Mips_Assembler, what gas writes.
const dwLangMipsAssembler = 0x8001

func assembly(cu *dwarf.Entry) bool {
	if lang, ok := cu.Val(dwarf.AttrLanguage).(int64); ok && lang == dwLangMipsAssembler {
		return true
	}
	p, _ := cu.Val(dwarf.AttrProducer).(string)
	return strings.HasPrefix(p, "GNU AS")
}
