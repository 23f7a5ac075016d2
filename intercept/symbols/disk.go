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
)

// diskFormat names the on-disk symbol table format: bump it whenever
// Symbol, readSymbols, index or the encoding below change.
const diskFormat = "symbols-v3"

// diskCache keeps the symbol tables of objects that have a build ID in a
// directory, one file per build ID and file size, so that a session does
// not read and sort libc's symbols again (a cold start of a session with
// sync points spent most of its time there). A nil *diskCache keeps
// nothing. Reads and writes are best effort: a missing, stale or
// unreadable file means the object is parsed, and the table written
// again; writes go through a rename, so a reader never sees half a file.
//
// The file holds the object's table (table.go) as it is in memory, after
// a short header: reading it is a file read, a checksum and a bounds
// check, with no decoding of symbols (gob took 3 ms to decode libc's; a
// varint list and a name map still took 1-3 ms for libc with its debug
// file's 10 000 symbols, most of a warm session's start-up); every
// string of a table is a slice of one string holding the whole file.
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
	data, ok := readChecked(file)
	return ok && decodeTable(data, o) == nil
}

// readChecked returns a table file's contents but its checksum, if the
// checksum (its last 4 bytes: the CRC-32 of the rest) is right. The file
// is read straight into the string the table then uses in place: one
// buffer, computed over as it is filled (os.ReadFile and a conversion to
// a string made two, and faulting in their fresh pages cost more than
// the rest of reading libc's table).
func readChecked(file string) (string, bool) {
	f, err := os.Open(file)
	if err != nil {
		return "", false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() < 4 {
		return "", false
	}
	var b strings.Builder
	b.Grow(int(st.Size() - 4))
	crc := crc32.NewIEEE()
	if _, err := io.CopyN(io.MultiWriter(&b, crc), f, st.Size()-4); err != nil {
		return "", false
	}
	var sum [4]byte
	if _, err := io.ReadFull(f, sum[:]); err != nil || binary.LittleEndian.Uint32(sum[:]) != crc.Sum32() {
		return "", false
	}
	return b.String(), true
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

// encodeTable writes the table file: the format name; a header of
// uvarints and length-prefixed strings (build ID, flags, debug file,
// imports, versions, the lengths of the three parts); the records, the
// address index and the names as they are in memory (table); and a
// CRC-32 of all that.
func encodeTable(o *Object) []byte {
	t := o.tab
	if t == nil {
		t = &table{vers: []string{""}}
	}
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
	b = append(b, t.recs...)
	b = append(b, t.addrs...)
	b = append(b, t.strs...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
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

// decodeTable fills o from a table file's contents (readChecked). The
// records, index and names are used in place (slices of data); they are
// checked once (table.check) so that no lookup can go out of bounds.
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
	t := &table{vers: make([]string, d.count())}
	for i := range t.vers {
		t.vers[i] = d.str()
	}
	nr, na, ns := d.u(), d.u(), d.u()
	t.recs, t.addrs, t.strs = d.bytes(nr), d.bytes(na), d.bytes(ns)
	if d.err != nil || d.s != "" || len(t.vers) == 0 || t.vers[0] != "" || !t.check() {
		return errBadTable
	}
	o.HasSymtab, o.IsGo, o.DebugFile, o.Imports = fl&flagHasSymtab != 0, fl&flagIsGo != 0, debugFile, imports
	o.tab = t
	return nil
}
