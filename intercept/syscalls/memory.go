package syscalls

import (
	"errors"
	"sort"
)

// Memory is a guest address space: ReadAt reads len(p) bytes at the guest
// address addr. A read that stops at an unmapped page returns the bytes
// read so far and an error. *intercept.Memory implements it.
type Memory interface {
	ReadAt(p []byte, addr int64) (int, error)
}

// ErrUnmapped is returned by MemMap for addresses it does not hold.
var ErrUnmapped = errors.New("address not mapped")

// MemMap is a recorded address space: byte ranges at guest addresses. It
// implements Memory for tests and for formatting recorded events. The zero
// value is empty.
type MemMap struct {
	regions []memRegion // sorted by addr, non-overlapping
}

type memRegion struct {
	addr uint64
	data []byte
}

// Map makes data readable at addr (the slice is not copied) and returns m.
// A later Map replaces any overlap.
func (m *MemMap) Map(addr uint64, data []byte) *MemMap {
	end := addr + uint64(len(data))
	var keep []memRegion
	for _, r := range m.regions {
		rend := r.addr + uint64(len(r.data))
		if rend <= addr || r.addr >= end {
			keep = append(keep, r)
			continue
		}
		if r.addr < addr {
			keep = append(keep, memRegion{r.addr, r.data[:addr-r.addr]})
		}
		if rend > end {
			keep = append(keep, memRegion{end, r.data[end-r.addr:]})
		}
	}
	keep = append(keep, memRegion{addr, data})
	sort.Slice(keep, func(i, j int) bool { return keep[i].addr < keep[j].addr })
	m.regions = keep
	return m
}

// ReadAt implements Memory. Adjacent regions read as one.
func (m *MemMap) ReadAt(p []byte, off int64) (int, error) {
	addr := uint64(off)
	n := 0
	for n < len(p) {
		i := m.find(addr)
		if i == len(m.regions) || m.regions[i].addr > addr {
			return n, ErrUnmapped
		}
		r := m.regions[i]
		c := copy(p[n:], r.data[addr-r.addr:])
		n += c
		addr += uint64(c)
	}
	return n, nil
}

// find returns the index of the first region ending after addr.
func (m *MemMap) find(addr uint64) int {
	lo, hi := 0, len(m.regions)
	for lo < hi {
		mid := (lo + hi) / 2
		if r := m.regions[mid]; r.addr+uint64(len(r.data)) > addr {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
