package points

import (
	"bytes"
	"encoding/gob"
	"os"
	"path/filepath"
	"syscall"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/sched/points/memsites"
)

// tscFormat names the on-disk format of rdtsc site lists; bump it when
// memsites.TSCSites changes what it finds.
const tscFormat = "tsc-v1"

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
		file = filepath.Join(p.dir, o.BuildID+"."+tscFormat+".gob")
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
	return err == nil && gob.NewDecoder(bytes.NewReader(data)).Decode(e) == nil
}

// writeTSC stores e, best effort (a lost write costs a scan), through a
// rename so that a concurrent reader never sees half a file.
func writeTSC(file string, e *tscEntry) {
	if file == "" {
		return
	}
	var b bytes.Buffer
	if gob.NewEncoder(&b).Encode(e) != nil || os.MkdirAll(filepath.Dir(file), 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tsc-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b.Bytes())
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
	}
}
