package memsites

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
)

// TSCSite is an rdtsc (0f 31) or rdtscp (0f 01 f9) instruction: its
// link-time address and length. The scheduler plants a breakpoint on each
// and answers it with virtual time, so that a guest's rdtsc need not trap
// (PR_SET_TSC makes the kernel rewrite CR4 at every switch between the
// tracer and a trapping guest: about 10 µs per scheduling point under
// nested virtualization).
type TSCSite struct {
	Vaddr uint64
	Len   int
}

var (
	rdtscBytes  = []byte{0x0f, 0x31}
	rdtscpBytes = []byte{0x0f, 0x01, 0xf9}
)

// TSCSites lists the rdtsc and rdtscp instructions of an x86-64 ELF
// object's executable sections (the PLT included), sorted by address.
// Only the stretches between function symbols whose bytes contain one of
// the two encodings are decoded, each from its start with insnLen, as
// Scan does; an object without either byte string costs one pass over its
// text. sure is false when an occurrence of either encoding may be an
// instruction the sweep missed or a false one it found: it follows bytes
// insnLen could not decode in its stretch; or when the object has no
// section headers.
// The caller must then trap every rdtsc of the process instead.
func TSCSites(r io.ReaderAt) (sites []TSCSite, sure bool, err error) {
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, false, err
	}
	if ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_X86_64 {
		return nil, false, fmt.Errorf("%w (%s %s)", ErrNotX86, ef.Class, ef.Machine)
	}
	o := &object{ef: ef, scope: ScopeAll, secData: map[*elf.Section][]byte{}}
	hit := map[*elf.Section]bool{}
	execSecs := 0
	for _, sec := range ef.Sections {
		if sec.Type != elf.SHT_PROGBITS || sec.Flags&elf.SHF_EXECINSTR == 0 || sec.Size == 0 {
			continue
		}
		execSecs++
		data, err := sec.Data()
		if err != nil {
			return nil, false, fmt.Errorf("section %s: %w", sec.Name, err)
		}
		o.secData[sec] = data
		if bytes.Contains(data, rdtscBytes) || bytes.Contains(data, rdtscpBytes) {
			hit[sec] = true
		}
	}
	if execSecs == 0 {
		return nil, false, nil // no section headers: the text is not known
	}
	if len(hit) == 0 {
		return nil, true, nil
	}
	syms, err := ef.Symbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, false, fmt.Errorf(".symtab: %w", err)
	}
	dyn, err := ef.DynamicSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, false, fmt.Errorf(".dynsym: %w", err)
	}
	o.makeChunks(syms, dyn)
	o.chunks = append(o.chunks, pltChunks(ef)...)
	sure = true
	for _, c := range o.chunks {
		if !hit[c.sec] {
			continue
		}
		code, err := o.text(c)
		if err != nil {
			return nil, false, err
		}
		if !bytes.Contains(code, rdtscBytes) && !bytes.Contains(code, rdtscpBytes) {
			continue
		}
		found, ok := tscChunk(code, c.lo)
		sites = append(sites, found...)
		sure = sure && ok
	}
	return sites, sure, nil
}

// pltChunks are the PLT sections, which makeChunks leaves out (Scan
// wants no sites there) but whose bytes are code all the same.
func pltChunks(ef *elf.File) []chunk {
	var cs []chunk
	for _, sec := range ef.Sections {
		if sec.Type == elf.SHT_PROGBITS && sec.Flags&elf.SHF_EXECINSTR != 0 && sec.Size > 0 &&
			len(sec.Name) >= 4 && sec.Name[:4] == ".plt" {
			cs = append(cs, chunk{name: sec.Name, lo: sec.Addr, hi: sec.Addr + sec.Size, sec: sec})
		}
	}
	return cs
}

// tscChunk sweeps one stretch of code from its start and returns its
// rdtsc and rdtscp instructions (legacy prefixes allowed, as the CPU
// allows them); ok is false if either encoding occurs after a byte
// insnLen could not decode.
func tscChunk(code []byte, lo uint64) (sites []TSCSite, ok bool) {
	ok = true
	bad := -1 // the offset of the first undecodable byte
	for off := 0; off < len(code); {
		n, valid := insnLen(code[off:])
		if !valid {
			if bad < 0 {
				bad = off
			}
			off++
			continue
		}
		if op := opcodeAt(code[off : off+n]); bytes.HasPrefix(op, rdtscBytes) || bytes.HasPrefix(op, rdtscpBytes) {
			sites = append(sites, TSCSite{Vaddr: lo + uint64(off), Len: n})
		}
		off += n
	}
	if bad < 0 {
		return sites, true
	}
	// After a byte it could not decode the sweep may be out of step:
	// neither a site found there nor an encoding passed over is sure.
	tail := code[bad:]
	ok = !bytes.Contains(tail, rdtscBytes) && !bytes.Contains(tail, rdtscpBytes)
	return sites, ok
}

// opcodeAt skips an instruction's legacy prefixes.
func opcodeAt(in []byte) []byte {
	i := 0
	for i < len(in) {
		switch in[i] {
		case 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65:
			i++
			continue
		}
		break
	}
	return in[i:]
}
