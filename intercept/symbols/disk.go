package symbols

import (
	"bufio"
	"encoding/gob"
	"os"
	"path/filepath"
	"strconv"
)

// diskFormat names the on-disk symbol table format: bump it whenever
// Symbol, readSymbols or index change what an Object holds.
const diskFormat = "symbols-v1"

// diskCache keeps the symbol tables of objects that have a build ID in a
// directory, one gob file per build ID and file size, so that a session
// does not read and sort libc's symbols again (a cold start of a session
// with sync points spent most of its time there). A nil *diskCache keeps
// nothing. Reads and writes are best effort: a missing, stale or
// unreadable file means the object is parsed, and the table written
// again; writes go through a rename, so a reader never sees half a file.
type diskCache struct{ dir string }

// diskTable is what is stored: everything readSymbols finds.
type diskTable struct {
	Format    string
	BuildID   string
	HasSymtab bool
	IsGo      bool
	DebugFile string
	Imports   map[string]bool
	Syms      []Symbol
	ByAddr    []int
}

func (d *diskCache) file(o *Object) string {
	if d == nil || d.dir == "" || o.BuildID == "" {
		return ""
	}
	return filepath.Join(d.dir, o.BuildID+"-"+strconv.FormatInt(o.Key.Size, 10)+"."+diskFormat+".gob")
}

// load fills o's symbols from disk and reports whether it could.
func (d *diskCache) load(o *Object) bool {
	file := d.file(o)
	if file == "" {
		return false
	}
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	var t diskTable
	if gob.NewDecoder(bufio.NewReader(f)).Decode(&t) != nil || t.Format != diskFormat || t.BuildID != o.BuildID {
		return false
	}
	for _, i := range t.ByAddr {
		if i < 0 || i >= len(t.Syms) {
			return false
		}
	}
	o.HasSymtab, o.IsGo, o.DebugFile, o.Imports = t.HasSymtab, t.IsGo, t.DebugFile, t.Imports
	o.syms, o.byAddr = t.Syms, t.ByAddr
	o.byName = make(map[string][]int, len(o.syms))
	for i, s := range o.syms {
		o.byName[s.Name] = append(o.byName[s.Name], i)
	}
	return true
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
	w := bufio.NewWriter(tmp)
	err = gob.NewEncoder(w).Encode(diskTable{Format: diskFormat, BuildID: o.BuildID, HasSymtab: o.HasSymtab, IsGo: o.IsGo,
		DebugFile: o.DebugFile, Imports: o.Imports, Syms: o.syms, ByAddr: o.byAddr})
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
	}
}
