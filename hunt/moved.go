package hunt

import (
	"debug/elf"
	"fmt"
	"slices"

	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
	"github.com/schedfuzz/schedfuzz/sched/points/memsites"
)

// pieBase is where the kernel loads a PIE executable when address space
// randomization is off, as schedfuzz runs every guest: ELF_ET_DYN_BASE,
// two thirds of the 47-bit user address space, page-aligned.
const pieBase = 0x555555554000

// movedSites explains, for a program rebuilt since a seed with memory
// points was recorded, which of the points recorded in the program are
// no longer at the same instructions ("" if none moved or it cannot
// tell): "; 2 of its 16 memory points moved: mem@x.c:42 (recorded at
// 0x555555555189, now 0x555555555191), ...".
func movedSites(path string, ps replay.PointSet) string {
	ef, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer ef.Close()
	bias := uint64(0)
	if ef.Type == elf.ET_DYN {
		bias = pieBase
	}
	var lo, hi uint64 = ^uint64(0), 0
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			lo, hi = min(lo, bias+p.Vaddr), max(hi, bias+p.Vaddr+p.Memsz)
		}
	}
	tab, err := memsites.Scan(path, memsites.ScopeProgram)
	if err != nil {
		return ""
	}
	now := map[string][]uint64{}
	for i := range tab.Sites {
		n := tab.Name(&tab.Sites[i])
		now[n] = append(now[n], bias+tab.Sites[i].Vaddr)
	}
	total := 0
	var moved []string
	for _, pt := range ps.Points {
		if !sched.IsMemoryPoint(pt.Spec) {
			continue
		}
		for _, a := range pt.Addrs {
			if a < lo || a >= hi {
				continue // in a library
			}
			total++
			if slices.Contains(now[pt.Spec], a) {
				continue
			}
			where := "no memory access at that line"
			if as := now[pt.Spec]; len(as) > 0 {
				where = fmt.Sprintf("now %#x", as[0])
			}
			moved = append(moved, fmt.Sprintf("%s (recorded at %#x, %s)", pt.Spec, a, where))
		}
	}
	if len(moved) == 0 {
		return ""
	}
	more := ""
	if len(moved) > 1 {
		more = ", ..." // one example: the message is one line
	}
	return fmt.Sprintf("; %d of its %d memory points moved: %s%s", len(moved), total, moved[0], more)
}
