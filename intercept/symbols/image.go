package symbols

import (
	"debug/elf"
	"fmt"
	"sort"
)

// pageSize is the x86-64 base page size: mappings start at multiples of
// it, and a segment's vaddr and file offset are congruent modulo it.
const pageSize = 4096

func pageDown(v uint64) uint64 { return v &^ (pageSize - 1) }

// Image is one loaded instance of an Object in a process's address space:
// the object and its load bias. Runtime address = link-time vaddr + Bias.
type Image struct {
	Object *Object
	// Path, Dev and Inode identify the mapped file as /proc/PID/maps
	// shows it.
	Path       string
	Dev, Inode uint64
	// Bias is 0 for an ET_EXEC object; for ET_DYN (PIE, shared library)
	// the address ld.so or the kernel placed link-time address 0 at.
	Bias uint64
	// Mappings are this instance's file mappings, sorted by address, as
	// of the last Objects.Update (or LoadImages call) that saw them.
	Mappings []Mapping
}

// Addr converts a link-time address to a runtime address.
func (im *Image) Addr(vaddr uint64) uint64 { return vaddr + im.Bias }

// Vaddr converts a runtime address to a link-time address.
func (im *Image) Vaddr(addr uint64) uint64 { return addr - im.Bias }

// Start and End bound the image's file mappings.
func (im *Image) Start() uint64 { return im.Mappings[0].Start }

// End is the end of the highest file mapping.
func (im *Image) End() uint64 { return im.Mappings[len(im.Mappings)-1].End }

// Contains reports whether addr lies in one of the image's file mappings.
func (im *Image) Contains(addr uint64) bool {
	for _, m := range im.Mappings {
		if addr >= m.Start && addr < m.End {
			return true
		}
	}
	return false
}

func (im *Image) String() string {
	return fmt.Sprintf("%s@%#x", im.Path, im.Bias)
}

func (im *Image) addrs(v []uint64) []uint64 {
	if len(v) == 0 {
		return nil
	}
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = x + im.Bias
	}
	return out
}

// Funcs is Object.Funcs in runtime addresses.
func (im *Image) Funcs(name string) []uint64 { return im.addrs(im.Object.Funcs(name)) }

// Inlined is Object.Inlined in runtime addresses.
func (im *Image) Inlined(name string) ([]uint64, error) {
	v, err := im.Object.Inlined(name)
	return im.addrs(v), err
}

// Lines is Object.Lines in runtime addresses.
func (im *Image) Lines(file string, line int) ([]uint64, error) {
	v, err := im.Object.Lines(file, line)
	return im.addrs(v), err
}

// Data is Object.Data with a runtime address.
func (im *Image) Data(name string) (addr, size uint64, ok bool) {
	a, s, ok := im.Object.Data(name)
	if !ok {
		return 0, 0, false
	}
	return a + im.Bias, s, true
}

// FuncAt is Object.FuncAt for a runtime address; the symbol's Value stays
// a link-time address.
func (im *Image) FuncAt(addr uint64) (Symbol, bool) { return im.Object.FuncAt(addr - im.Bias) }

// MappingBias computes the load bias that mapping m of o's file implies:
// the PT_LOAD segment p holding file offset m.Offset was mapped so that
// link-time address p.Vaddr + (m.Offset - p.Off) is at m.Start, so
//
//	bias = m.Start - (p.Vaddr - p.Off + m.Offset)
//
// (the kernel and ld.so map pageDown(p.Off) at bias + pageDown(p.Vaddr),
// and the ELF rules make p.Vaddr ≡ p.Off modulo the page size). This holds
// for every mapping of the modern layout (r-- headers, r-x text, r--
// rodata, rw- data, each its own mapping, RELRO split off by mprotect), for
// the older one (r-x from offset 0, rw- data) and for mappings split
// later. ET_EXEC objects must come out with bias 0.
//
// Segments may share a file page: gcc's PIE layout puts the end of
// .rodata and the start of the RELRO data on one page, mapped twice (r--
// at two addresses). A mapping of such a page alone is ambiguous;
// MappingBias prefers the segment that starts on the page and whose
// execute permission matches, then the later one. LoadImages settles the
// ambiguity against the bias of the text mapping.
func MappingBias(o *Object, m Mapping) (uint64, error) {
	cs, err := biasCandidates(o, m)
	if err != nil {
		return 0, err
	}
	return cs[0].bias, nil
}

type biasCandidate struct {
	bias uint64
	seg  *Segment
}

// biasCandidates returns the biases m is consistent with, best first.
func biasCandidates(o *Object, m Mapping) ([]biasCandidate, error) {
	type scored struct {
		biasCandidate
		score, order int
	}
	var cs []scored
	var firstErr error
	for i := range o.Loads {
		p := &o.Loads[i]
		if p.Filesz == 0 || m.Offset < pageDown(p.Off) || m.Offset >= p.Off+p.Filesz {
			continue
		}
		bias := m.Start - (p.Vaddr - p.Off + m.Offset)
		switch {
		case bias%pageSize != 0:
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: mapping %#x-%#x at file offset %#x implies an unaligned load bias %#x", o.Path, m.Start, m.End, m.Offset, bias)
			}
			continue
		case o.Type == elf.ET_EXEC && bias != 0:
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: ET_EXEC mapping %#x-%#x at file offset %#x is not at its link-time address", o.Path, m.Start, m.End, m.Offset)
			}
			continue
		}
		score := 0
		if pageDown(p.Off) == m.Offset {
			score += 2
		}
		if (p.Flags&elf.PF_X != 0) == (m.Perm&PermExec != 0) {
			score++
		}
		cs = append(cs, scored{biasCandidate{bias, p}, score, i})
	}
	if len(cs) == 0 {
		if firstErr != nil {
			return nil, firstErr
		}
		return nil, fmt.Errorf("%s: mapping %#x-%#x at file offset %#x is not in any PT_LOAD segment", o.Path, m.Start, m.End, m.Offset)
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].score != cs[j].score {
			return cs[i].score > cs[j].score
		}
		return cs[i].order > cs[j].order // ties: the later segment
	})
	out := make([]biasCandidate, len(cs))
	for i, c := range cs {
		out[i] = c.biasCandidate
	}
	return out, nil
}

// LoadImages groups the mappings of o's file (the caller selects them, by
// device and inode) into loaded instances, one Image per bias. An instance
// exists only once its text is mapped: an executable mapping of an
// executable segment. That leaves out a file the program mmaps as data,
// and a library ld.so is still mapping (its first mmap reserves the whole
// span read-only; text follows). Every other mapping joins the instance
// whose bias it is consistent with (see MappingBias for why a mapping can
// be consistent with several); mappings that fit none are ignored. The
// result is sorted by address.
func LoadImages(o *Object, maps []Mapping) []*Image {
	byBias := map[uint64]*Image{}
	var order []uint64
	for _, m := range maps {
		if m.Perm&PermExec == 0 {
			continue
		}
		cs, err := biasCandidates(o, m)
		if err != nil {
			continue
		}
		for _, c := range cs {
			if c.seg.Flags&elf.PF_X == 0 || !o.overlapsText(m.Start-c.bias, m.End-c.bias) {
				continue
			}
			if byBias[c.bias] == nil {
				byBias[c.bias] = &Image{Object: o, Path: m.Path, Dev: m.Dev, Inode: m.Inode, Bias: c.bias}
				order = append(order, c.bias)
			}
			break
		}
	}
	for _, m := range maps {
		cs, err := biasCandidates(o, m)
		if err != nil {
			continue
		}
		for _, c := range cs {
			if im := byBias[c.bias]; im != nil {
				im.Mappings = append(im.Mappings, m)
				break
			}
		}
	}
	var out []*Image
	for _, b := range order {
		im := byBias[b]
		sort.Slice(im.Mappings, func(i, j int) bool { return im.Mappings[i].Start < im.Mappings[j].Start })
		out = append(out, im)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start() < out[j].Start() })
	return out
}
