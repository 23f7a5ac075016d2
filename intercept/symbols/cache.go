package symbols

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
	"syscall"
)

// DefaultDebugDirs are where separate debug files are looked up by build
// ID (<dir>/.build-id/xx/rest.debug), as gdb does.
var DefaultDebugDirs = []string{"/usr/lib/debug"}

// Cache parses each ELF file once. Entries are keyed by the file's
// content identity (device, inode, size, mtime, from fstat of the opened
// file), so a library mapped by every process of a run, by every run of a
// session, or under several paths (symlinks, /proc/PID/map_files) is
// parsed once, and a rebuilt binary is parsed again. Failures are cached
// too (a mapped locale archive is not ELF every time it is seen).
//
// A Cache is safe for concurrent use: parallel runs may share one. A
// mutex guards the table; concurrent opens of one file wait for the first
// parse. Objects stay until Close; there is no eviction (a session sees a
// few dozen distinct files).
type Cache struct {
	debugDirs []string
	disk      *diskCache // nil: symbol tables are not kept on disk

	mu      sync.Mutex
	entries map[FileKey]*cacheEntry
	mapped  map[fileID]*Object // parsed objects by device and inode
	closed  bool
	// What processes mapped, and what Preload read (preload.go).
	seen        map[*Object]bool
	mappedOrder []*Object
	preloaded   []string
}

type cacheEntry struct {
	ready chan struct{}
	obj   *Object
	err   error
}

// NewCache returns an empty cache that looks for separate debug files in
// debugDirs (nil: DefaultDebugDirs; empty non-nil: nowhere).
func NewCache(debugDirs []string) *Cache {
	if debugDirs == nil {
		debugDirs = DefaultDebugDirs
	}
	return &Cache{debugDirs: append([]string(nil), debugDirs...), entries: map[FileKey]*cacheEntry{},
		mapped: map[fileID]*Object{}, seen: map[*Object]bool{}}
}

// KeepOnDisk makes the cache keep the symbol tables of objects with a
// build ID in dir (created on first use), for later sessions: they read a
// table instead of parsing and sorting the object's symbols (see
// diskCache). Call it before the first Open.
func (c *Cache) KeepOnDisk(dir string) *Cache {
	if dir != "" {
		c.disk = &diskCache{dir: dir}
	}
	return c
}

// lookupMapped returns the object already parsed for the file with this
// device and inode, without opening it: what /proc/PID/maps shows of a
// mapped file identifies it (a rebuilt file is a new inode; a file
// rewritten in place while mapped is not noticed).
func (c *Cache) lookupMapped(id fileID) *Object {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mapped[id]
}

// ErrClosed is returned by Open after Close.
var ErrClosed = errors.New("symbols: cache closed")

func keyOf(fi fs.FileInfo) FileKey {
	k := FileKey{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.Dev, k.Ino = uint64(st.Dev), st.Ino
	}
	return k
}

// Open returns the parsed object for the file at path, parsing it on
// first use. The returned Object is shared: do not Close it.
func (c *Cache) Open(path string) (*Object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w (not a regular file)", path, ErrNotELF)
	}
	key := keyOf(fi)

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		f.Close()
		return nil, ErrClosed
	}
	if e, ok := c.entries[key]; ok {
		c.mu.Unlock()
		f.Close()
		<-e.ready
		return e.obj, e.err
	}
	e := &cacheEntry{ready: make(chan struct{})}
	c.entries[key] = e
	c.mu.Unlock()

	e.obj, e.err = parse(path, key, f, c.debugDirs, c.disk)
	if e.err != nil {
		f.Close()
	} else {
		c.mu.Lock()
		c.mapped[key.id()] = e.obj
		c.mu.Unlock()
	}
	close(e.ready)
	return e.obj, e.err
}

// Len returns the number of files parsed (or found unparsable).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Objects returns the successfully parsed objects, sorted by path.
func (c *Cache) Objects() []*Object {
	c.mu.Lock()
	es := make([]*cacheEntry, 0, len(c.entries))
	for _, e := range c.entries {
		es = append(es, e)
	}
	c.mu.Unlock()
	var out []*Object
	for _, e := range es {
		<-e.ready
		if e.obj != nil {
			out = append(out, e.obj)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Close releases the descriptors the cached objects keep for lazy DWARF
// reads. Objects already returned stay usable for symbols; their DWARF
// queries fail if not made before. Call it when no run uses the cache.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	es := c.entries
	c.mu.Unlock()
	var errs []error
	for _, e := range es {
		<-e.ready
		if e.obj != nil {
			if err := e.obj.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
