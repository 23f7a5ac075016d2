package symbols

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
)

// diskFormat names the on-disk symbol table format: bump it whenever
// Symbol, readSymbols, index or the encoding below change.
const diskFormat = "symbols-v2"

// diskCache keeps the symbol tables of objects that have a build ID in a
// directory, one file per build ID and file size, so that a session does
// not read and sort libc's symbols again (a cold start of a session with
// sync points spent most of its time there). A nil *diskCache keeps
// nothing. Reads and writes are best effort: a missing, stale or
// unreadable file means the object is parsed, and the table written
// again; writes go through a rename, so a reader never sees half a file.
//
// The encoding is a flat list of uvarints and length-prefixed strings (not
// gob: decoding libc's 3000 symbols through reflection took 3 ms, most of
// a warm session's start-up); every string of a table is a slice of one
// string holding the whole file.
type diskCache struct{ dir string }

func (d *diskCache) file(o *Object) string {
	if d == nil || d.dir == "" || o.BuildID == "" {
		return ""
	}
	return filepath.Join(d.dir, o.BuildID+"-"+strconv.FormatInt(o.Key.Size, 10)+"."+diskFormat)
}

// load fills o's symbols from disk and reports whether it could.
func (d *diskCache) load(o *Object) bool {
	file := d.file(o)
	if file == "" {
		return false
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	return decodeTable(string(data), o) == nil
}

// store writes o's symbols.
func (d *diskCache) store(o *Object) {
	file := d.file(o)
	if file == "" || os.MkdirAll(d.dir, 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(d.dir, ".symbols-*")
	if err != nil {
		return
	}
	_, err = tmp.Write(encodeTable(o))
	if cerr := tmp.Close(); err != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
	}
}

const (
	flagHasSymtab = 1 << iota
	flagIsGo
)

const (
	symHidden = 1 << iota
	symDynamic
)

func encodeTable(o *Object) []byte {
	b := []byte(diskFormat)
	u := func(v uint64) { b = binary.AppendUvarint(b, v) }
	str := func(s string) { u(uint64(len(s))); b = append(b, s...) }
	str(o.BuildID)
	var fl uint64
	if o.HasSymtab {
		fl |= flagHasSymtab
	}
	if o.IsGo {
		fl |= flagIsGo
	}
	u(fl)
	str(o.DebugFile)
	u(uint64(len(o.Imports)))
	for n := range o.Imports {
		str(n)
	}
	u(uint64(len(o.syms)))
	for _, s := range o.syms {
		str(s.Name)
		str(s.Version)
		var sf uint64
		if s.Hidden {
			sf |= symHidden
		}
		if s.Dynamic {
			sf |= symDynamic
		}
		u(sf)
		u(uint64(s.Kind))
		u(uint64(s.Bind))
		u(s.Value)
		u(s.Size)
	}
	u(uint64(len(o.byAddr)))
	for _, i := range o.byAddr {
		u(uint64(i))
	}
	return b
}

var errBadTable = errors.New("symbols: bad table file")

// decoder reads what encodeTable wrote; the first error sticks.
type decoder struct {
	s   string
	err error
}

func (d *decoder) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint([]byte(d.s[:min(len(d.s), binary.MaxVarintLen64)]))
	if n <= 0 {
		d.err = errBadTable
		return 0
	}
	d.s = d.s[n:]
	return v
}

func (d *decoder) str() string {
	n := d.u()
	if d.err != nil || n > uint64(len(d.s)) {
		d.err = errBadTable
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

// count reads a length that must not exceed what is left of the input
// (each element takes a byte at least).
func (d *decoder) count() int {
	n := d.u()
	if n > uint64(len(d.s)) {
		d.err = errBadTable
		return 0
	}
	return int(n)
}

func decodeTable(data string, o *Object) error {
	if len(data) < len(diskFormat) || data[:len(diskFormat)] != diskFormat {
		return errBadTable
	}
	d := &decoder{s: data[len(diskFormat):]}
	if d.str() != o.BuildID {
		return errBadTable
	}
	fl := d.u()
	debugFile := d.str()
	var imports map[string]bool
	if n := d.count(); n > 0 {
		imports = make(map[string]bool, n)
		for range n {
			imports[d.str()] = true
		}
	}
	syms := make([]Symbol, d.count())
	for i := range syms {
		s := &syms[i]
		s.Name, s.Version = d.str(), d.str()
		sf := d.u()
		s.Hidden, s.Dynamic = sf&symHidden != 0, sf&symDynamic != 0
		s.Kind, s.Bind = Kind(d.u()), elf.SymBind(d.u())
		s.Value, s.Size = d.u(), d.u()
	}
	byAddr := make([]int, d.count())
	for i := range byAddr {
		byAddr[i] = int(d.u())
		if byAddr[i] >= len(syms) {
			d.err = errBadTable
		}
	}
	if d.err != nil || d.s != "" {
		return errBadTable
	}
	o.HasSymtab, o.IsGo, o.DebugFile, o.Imports = fl&flagHasSymtab != 0, fl&flagIsGo != 0, debugFile, imports
	o.syms, o.byAddr = syms, byAddr
	o.byName = make(map[string][]int, len(syms))
	for i, s := range syms {
		o.byName[s.Name] = append(o.byName[s.Name], i)
	}
	return nil
}
