package symbols

import (
	"debug/elf"
	"fmt"
	"math"
)

// table is an object's symbols in the form the disk cache keeps them
// (disk.go): fixed-size records in one string, read in place. Reading a
// kept table is then a file read and a bounds check, not a decoding of
// every symbol: libc's 10 000 symbols (with its debug file) took 3 ms to
// decode into a []Symbol and a name map, most of a warm session's
// start-up.
//
// Records are sorted by (Name, Value, VersionedName), so a name's symbols
// are a run found by binary search; addrs lists the code and data
// records by address (see Object.index). A table is immutable.
type table struct {
	recs  string   // recSize bytes per symbol (layout below)
	addrs string   // 4 bytes per entry: a record number
	strs  string   // the names, each once
	vers  []string // the versions; vers[0] is ""
}

// Record layout, little-endian:
//
//	0  name offset in strs (4)   4  name length (4)   8  version index (4)
//	12 flags (1)  13 kind (1)  14 bind (1)  15 unused (1)
//	16 value (8)  24 size (8)
const recSize = 32

const (
	recHidden = 1 << iota
	recDynamic
)

// newTable lays out syms (sorted as records are) and byAddr (indexes
// into syms).
func newTable(syms []Symbol, byAddr []int) (*table, error) {
	t := &table{vers: []string{""}}
	verIdx := map[string]uint32{"": 0}
	recs := make([]byte, 0, len(syms)*recSize)
	var strs []byte
	var lastOff uint32
	for i, s := range syms {
		if i == 0 || s.Name != syms[i-1].Name {
			lastOff = uint32(len(strs))
			strs = append(strs, s.Name...)
		}
		v, ok := verIdx[s.Version]
		if !ok {
			v = uint32(len(t.vers))
			verIdx[s.Version] = v
			t.vers = append(t.vers, s.Version)
		}
		var fl byte
		if s.Hidden {
			fl |= recHidden
		}
		if s.Dynamic {
			fl |= recDynamic
		}
		recs = le32(recs, lastOff)
		recs = le32(recs, uint32(len(s.Name)))
		recs = le32(recs, v)
		recs = append(recs, fl, byte(s.Kind), byte(s.Bind), 0)
		recs = le64(recs, s.Value)
		recs = le64(recs, s.Size)
	}
	if len(strs) > math.MaxUint32 || len(syms) > math.MaxUint32 {
		return nil, fmt.Errorf("%d symbols, %d bytes of names: too many", len(syms), len(strs))
	}
	addrs := make([]byte, 0, 4*len(byAddr))
	for _, i := range byAddr {
		addrs = le32(addrs, uint32(i))
	}
	t.recs, t.addrs, t.strs = string(recs), string(addrs), string(strs)
	return t, nil
}

func le32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

func le64(b []byte, v uint64) []byte {
	return le32(le32(b, uint32(v)), uint32(v>>32))
}

func get32(s string, i int) uint32 {
	_ = s[i+3]
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

func get64(s string, i int) uint64 {
	return uint64(get32(s, i)) | uint64(get32(s, i+4))<<32
}

// check reports whether every record's name and version, and every
// address entry, lie inside the table: a table read from disk is checked
// once so that no lookup can go out of bounds.
func (t *table) check() bool {
	if len(t.recs)%recSize != 0 || len(t.addrs)%4 != 0 {
		return false
	}
	n := t.len()
	for i := range n {
		r := i * recSize
		off, l := uint64(get32(t.recs, r)), uint64(get32(t.recs, r+4))
		if off+l > uint64(len(t.strs)) || get32(t.recs, r+8) >= uint32(len(t.vers)) {
			return false
		}
	}
	for k := range t.naddrs() {
		if int(get32(t.addrs, 4*k)) >= n {
			return false
		}
	}
	return true
}

// len is the number of symbols.
func (t *table) len() int {
	if t == nil {
		return 0
	}
	return len(t.recs) / recSize
}

func (t *table) name(i int) string {
	r := i * recSize
	off := get32(t.recs, r)
	return t.strs[off : off+get32(t.recs, r+4)]
}

func (t *table) kind(i int) Kind      { return Kind(t.recs[i*recSize+13]) }
func (t *table) value(i int) uint64   { return get64(t.recs, i*recSize+16) }
func (t *table) version(i int) string { return t.vers[get32(t.recs, i*recSize+8)] }

// sym returns symbol i.
func (t *table) sym(i int) Symbol {
	r := i * recSize
	fl := t.recs[r+12]
	return Symbol{Name: t.name(i), Version: t.version(i), Hidden: fl&recHidden != 0, Dynamic: fl&recDynamic != 0,
		Kind: Kind(t.recs[r+13]), Bind: elf.SymBind(t.recs[r+14]), Value: get64(t.recs, r+16), Size: get64(t.recs, r+24)}
}

// naddrs is the number of entries of the address index.
func (t *table) naddrs() int {
	if t == nil {
		return 0
	}
	return len(t.addrs) / 4
}

// addr returns the record number of address index entry k.
func (t *table) addr(k int) int { return int(get32(t.addrs, 4*k)) }

// all returns every symbol, in record order.
func (t *table) all() []Symbol {
	out := make([]Symbol, t.len())
	for i := range out {
		out[i] = t.sym(i)
	}
	return out
}
