package symbols

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// diskFormat names the on-disk symbol table format: bump it whenever
// Symbol, readSymbols, index or the encoding below change.
const diskFormat = "symbols-v4"

// diskCache keeps the symbol tables of objects that have a build ID in a
// directory, one file per build ID and file size, so that a session does
// not read and sort libc's symbols again (a cold start of a session with
// sync points spent most of its time there). A nil *diskCache keeps
// nothing. Reads and writes are best effort: a missing, stale or
// unreadable file means the object is parsed, and the table written
// again; writes go through a rename, so a reader never sees half a file.
//
// A file is a short header (what Object's fields need: build ID, flags,
// debug file, imports) and a body: the object's table (table.go) as it is
// in memory, so reading it is a file read, a checksum and a bounds check,
// with no decoding of symbols (gob took 3 ms to decode libc's; a varint
// list and a name map still took 1-3 ms for libc with its debug file's
// 10 000 symbols, most of a warm session's start-up). Only the header is
// read when the object is opened; the body when a symbol is first looked
// up (Object.table), through the descriptor opened then: a session whose
// points are resolved from their own cache (package points) never reads
// libc's.
//
//	format name | header length (4) | header CRC-32 (4) | body CRC-32 (4)
//	header: uvarints and length-prefixed strings: build ID, flags, debug
//	        file, imports, versions, the lengths of the three body parts
//	body:   records | address index | names
type diskCache struct{ dir string }

func (d *diskCache) file(o *Object) string {
	if d == nil || d.dir == "" || o.BuildID == "" {
		return ""
	}
	return filepath.Join(d.dir, o.BuildID+"-"+strconv.FormatInt(o.Key.Size, 10)+"."+diskFormat)
}

// lazyTable is an object's table file whose header has been read: its
// body is read on first use. elf is the object's file, to parse the
// symbols from if the body turns out to be unusable (ownELF: this closes
// it; else its DWARF source does).
type lazyTable struct {
	once   sync.Once
	f      *os.File // the table file
	off    int64    // where the body starts
	nr, na int64    // lengths of the records and the address index
	ns     int64    // length of the names
	crc    uint32   // the body's
	vers   []string
	elf    *os.File
	ownELF bool
	debug  []string   // debug directories, for the fallback parse
	disk   *diskCache // where to keep the table it parses
}

// load reads the header of o's table file into o and leaves the body for
// later (o.lazy). It reports whether it could.
func (d *diskCache) load(o *Object) bool {
	file := d.file(o)
	if file == "" {
		return false
	}
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	lt, err := readHeader(f, o)
	if err != nil {
		f.Close()
		return false
	}
	o.lazy = lt
	return true
}

const fixedLen = len(diskFormat) + 12

// readHeader reads and checks a table file's header and fills o's fields
// from it.
func readHeader(f *os.File, o *Object) (*lazyTable, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var buf [4096]byte
	n, err := f.ReadAt(buf[:], 0)
	if n < fixedLen || err != nil && err != io.EOF || string(buf[:len(diskFormat)]) != diskFormat {
		return nil, errBadTable
	}
	fixed := buf[len(diskFormat):fixedLen]
	hlen := int64(binary.LittleEndian.Uint32(fixed))
	if hlen > st.Size()-int64(fixedLen) {
		return nil, errBadTable
	}
	hcrc, bcrc := binary.LittleEndian.Uint32(fixed[4:]), binary.LittleEndian.Uint32(fixed[8:])
	head := buf[fixedLen:n]
	if int64(len(head)) >= hlen {
		head = head[:hlen]
	} else {
		head = make([]byte, hlen)
		if _, err := f.ReadAt(head, int64(fixedLen)); err != nil {
			return nil, errBadTable
		}
	}
	if crc32.ChecksumIEEE(head) != hcrc {
		return nil, errBadTable
	}
	d := &decoder{s: string(head)}
	if d.str() != o.BuildID {
		return nil, errBadTable
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
	lt := &lazyTable{f: f, off: int64(fixedLen) + hlen, crc: bcrc, vers: make([]string, d.count())}
	for i := range lt.vers {
		lt.vers[i] = d.str()
	}
	lt.nr, lt.na, lt.ns = int64(d.u()), int64(d.u()), int64(d.u())
	if d.err != nil || d.s != "" || len(lt.vers) == 0 || lt.vers[0] != "" || lt.nr < 0 || lt.na < 0 || lt.ns < 0 ||
		lt.off+lt.nr+lt.na+lt.ns != st.Size() {
		return nil, errBadTable
	}
	o.HasSymtab, o.IsGo, o.DebugFile, o.Imports = fl&flagHasSymtab != 0, fl&flagIsGo != 0, debugFile, imports
	return lt, nil
}

// body reads and checks the table's body. It is read straight into the
// string the table then uses in place: one buffer, checksummed as it is
// filled (os.ReadFile and a conversion to a string made two, and
// faulting in their fresh pages cost more than the rest).
func (lt *lazyTable) body() (*table, error) {
	n := lt.nr + lt.na + lt.ns
	var b strings.Builder
	b.Grow(int(n))
	crc := crc32.NewIEEE()
	if _, err := io.Copy(io.MultiWriter(&b, crc), io.NewSectionReader(lt.f, lt.off, n)); err != nil {
		return nil, err
	}
	data := b.String()
	if int64(len(data)) != n || crc.Sum32() != lt.crc {
		return nil, errBadTable
	}
	t := &table{recs: data[:lt.nr], addrs: data[lt.nr : lt.nr+lt.na], strs: data[lt.nr+lt.na:], vers: lt.vers}
	if !t.check() {
		return nil, errBadTable
	}
	return t, nil
}

// close releases the table file, and the object's file if it is ours.
func (lt *lazyTable) close() error {
	err := lt.f.Close()
	if lt.ownELF && lt.elf != nil {
		if e := lt.elf.Close(); err == nil {
			err = e
		}
	}
	return err
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

// encodeTable writes the table file of o, whose table is in memory.
func encodeTable(o *Object) []byte {
	t := o.tab
	if t == nil {
		t = &table{vers: []string{""}}
	}
	var h []byte
	u := func(v uint64) { h = binary.AppendUvarint(h, v) }
	str := func(s string) { u(uint64(len(s))); h = append(h, s...) }
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
	for _, n := range slices.Sorted(maps.Keys(o.Imports)) {
		str(n)
	}
	u(uint64(len(t.vers)))
	for _, v := range t.vers {
		str(v)
	}
	u(uint64(len(t.recs)))
	u(uint64(len(t.addrs)))
	u(uint64(len(t.strs)))
	body := crc32.NewIEEE()
	for _, part := range []string{t.recs, t.addrs, t.strs} {
		io.WriteString(body, part)
	}
	b := []byte(diskFormat)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(h)))
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(h))
	b = binary.LittleEndian.AppendUint32(b, body.Sum32())
	b = append(b, h...)
	return append(append(append(b, t.recs...), t.addrs...), t.strs...)
}

var errBadTable = errors.New("symbols: bad table file")

// decoder reads encodeTable's header; the first error sticks.
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

// bytes reads n bytes.
func (d *decoder) bytes(n uint64) string {
	if d.err != nil || n > uint64(len(d.s)) {
		d.err = errBadTable
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

func (d *decoder) str() string { return d.bytes(d.u()) }

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
