package points

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"syscall"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/sched/points/memsites"
)

// tscFormat names the on-disk format of rdtsc site lists; bump it when
// memsites.TSCSites changes what it finds or encodeTSC what it writes.
const tscFormat = "tsc-v2"

type tscEntry struct {
	Sites []memsites.TSCSite
	Sure  bool
}

// CacheTSC makes the plan keep the rdtsc sites of objects with a build ID
// in dir (created on first use), so that a session does not read the text
// of libc and ld.so again to find them. Call it before the plan is used.
func (p *Plan) CacheTSC(dir string) { p.dir = dir }

// TSC returns the rdtsc and rdtscp instructions of an object (see
// memsites.TSCSites), memoized: a session's runs share the plan. The
// object's file is opened by its path, else by alt (a live process's
// /proc/PID/map_files entry: an Object cached from an earlier run may
// carry the map_files path of a process gone since), either only if it
// is the same file (FileKey). sure is false if they are not known for
// certain (the file could not be read, or its code not decoded everywhere
// either encoding occurs).
func (p *Plan) TSC(o *symbols.Object, alt string) (sites []memsites.TSCSite, sure bool) {
	p.mu.Lock()
	e, ok := p.tsc[o]
	p.mu.Unlock()
	if ok {
		return e.Sites, e.Sure
	}
	file := ""
	if p.dir != "" && o.BuildID != "" {
		file = p.tscFile(o)
	}
	if !readTSC(file, &e) {
		if f := openSame(o, o.Path, alt); f != nil {
			var err error
			e.Sites, e.Sure, err = memsites.TSCSites(f)
			f.Close()
			e.Sure = e.Sure && err == nil
			if err == nil {
				writeTSC(file, &e)
			}
		}
	}
	p.mu.Lock()
	if p.tsc == nil {
		p.tsc = map[*symbols.Object]tscEntry{}
	}
	p.tsc[o] = e
	p.mu.Unlock()
	return e.Sites, e.Sure
}

// WarmTSC reads o's rdtsc sites from the disk cache ahead of TSC, if they
// are there (a symbols.Cache Preload's warm function). What it memoizes is
// what TSC would read first, so which of them runs first changes nothing;
// a list not on disk is left for TSC, which may scan the file.
func (p *Plan) WarmTSC(o *symbols.Object) {
	if p.dir == "" || o.BuildID == "" {
		return
	}
	p.mu.Lock()
	_, ok := p.tsc[o]
	p.mu.Unlock()
	var e tscEntry
	if ok || !readTSC(p.tscFile(o), &e) {
		return
	}
	p.mu.Lock()
	if p.tsc == nil {
		p.tsc = map[*symbols.Object]tscEntry{}
	}
	if _, ok := p.tsc[o]; !ok {
		p.tsc[o] = e
	}
	p.mu.Unlock()
}

func (p *Plan) tscFile(o *symbols.Object) string {
	return filepath.Join(p.dir, o.BuildID+"."+tscFormat)
}

// openSame opens the first of paths that is o's file.
func openSame(o *symbols.Object, paths ...string) *os.File {
	for _, path := range paths {
		if path == "" {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Fstat(int(f.Fd()), &st) == nil && uint64(st.Ino) == o.Key.Ino && st.Size == o.Key.Size &&
			st.Mtim.Nano() == o.Key.Mtime {
			return f
		}
		f.Close()
	}
	return nil
}

func readTSC(file string, e *tscEntry) bool {
	if file == "" {
		return false
	}
	data, err := os.ReadFile(file)
	return err == nil && decodeTSC(data, e)
}

// encodeTSC writes a site list as the format name, a CRC-32 of the rest
// (a wrong site is an int3 in the middle of an instruction), then
// uvarints: sure (0 or 1), the number of sites, and each site's address
// (the first absolute, the others as the distance from the one before:
// sites are sorted) and length. (gob took a fifth of a millisecond to
// decode one at every session's start.)
func encodeTSC(e *tscEntry) []byte {
	var b []byte
	sure := uint64(0)
	if e.Sure {
		sure = 1
	}
	b = binary.AppendUvarint(b, sure)
	b = binary.AppendUvarint(b, uint64(len(e.Sites)))
	var last uint64
	for _, s := range e.Sites {
		b = binary.AppendUvarint(b, s.Vaddr-last)
		b = binary.AppendUvarint(b, uint64(s.Len))
		last = s.Vaddr
	}
	return append(binary.LittleEndian.AppendUint32([]byte(tscFormat), crc32.ChecksumIEEE(b)), b...)
}

// decodeTSC reads what encodeTSC wrote; false if data is not that.
func decodeTSC(data []byte, e *tscEntry) bool {
	rest, ok := bytes.CutPrefix(data, []byte(tscFormat))
	if !ok || len(rest) < 4 || crc32.ChecksumIEEE(rest[4:]) != binary.LittleEndian.Uint32(rest) {
		return false
	}
	rest = rest[4:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return 0, false
		}
		rest = rest[n:]
		return v, true
	}
	sure, ok1 := next()
	n, ok2 := next()
	if !ok1 || !ok2 || sure > 1 || n > uint64(len(rest)) {
		return false
	}
	sites := make([]memsites.TSCSite, n)
	var last uint64
	for i := range sites {
		d, ok1 := next()
		l, ok2 := next()
		if !ok1 || !ok2 || l == 0 || l > 15 || i > 0 && d == 0 {
			return false
		}
		last += d
		sites[i] = memsites.TSCSite{Vaddr: last, Len: int(l)}
	}
	if len(rest) != 0 {
		return false
	}
	e.Sites, e.Sure = sites, sure == 1
	return true
}

// writeTSC stores e, best effort (a lost write costs a scan), through a
// rename so that a concurrent reader never sees half a file.
func writeTSC(file string, e *tscEntry) {
	if file == "" {
		return
	}
	if os.MkdirAll(filepath.Dir(file), 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tsc-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(encodeTSC(e))
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
	}
}
