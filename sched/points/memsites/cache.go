package memsites

import (
	"bytes"
	"debug/elf"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// formatVersion names the on-disk table format and classification rules:
// bump it whenever either changes, so that stale tables are rebuilt.
const formatVersion = "memsites-v1"

// Cache memoizes tables per file and scope; see the package doc. It is
// safe for concurrent use: parallel runs share one, and concurrent
// requests for one file wait for the first scan.
type Cache struct {
	dir string // "" : no disk cache

	mu  sync.Mutex
	mem map[fileKey]*cacheEntry
}

type fileKey struct {
	dev, ino    uint64
	size, mtime int64
	scope       Scope
}

type cacheEntry struct {
	ready chan struct{}
	t     *Table
	err   error
}

// NewCache returns a cache that also keeps tables in dir (created on
// first use) if dir is not "".
func NewCache(dir string) *Cache {
	return &Cache{dir: dir, mem: map[fileKey]*cacheEntry{}}
}

// DefaultDir is where the CLI keeps tables: schedfuzz/memsites under the
// user's cache directory ("" if there is none).
func DefaultDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "schedfuzz", "memsites")
}

// Table returns the sites of the object at path in scope: from memory,
// from disk, or by scanning it.
func (c *Cache) Table(path string, scope Scope) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	k := fileKey{size: fi.Size(), mtime: fi.ModTime().UnixNano(), scope: scope}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.dev, k.ino = uint64(st.Dev), st.Ino
	}
	c.mu.Lock()
	e, ok := c.mem[k]
	if !ok {
		e = &cacheEntry{ready: make(chan struct{})}
		c.mem[k] = e
	}
	c.mu.Unlock()
	if ok {
		<-e.ready
		return e.t, e.err
	}
	e.t, e.err = c.load(f, path, scope)
	close(e.ready)
	return e.t, e.err
}

// load reads the table from disk or scans the file and stores it.
func (c *Cache) load(f *os.File, path string, scope Scope) (*Table, error) {
	key := ""
	if c.dir != "" {
		if ef, err := elf.NewFile(f); err == nil {
			key = tableKey(BuildID(ef), scope)
		}
	}
	if key != "" {
		if t, err := c.read(key); err == nil {
			return t, nil
		}
	}
	t, err := ScanReader(f, path, scope)
	if err != nil {
		return nil, err
	}
	if key != "" && t.Key == key {
		c.write(key, t) // best effort: the table is right either way
	}
	return t, nil
}

func (c *Cache) file(key string) string {
	return filepath.Join(c.dir, key+"."+formatVersion+".gob")
}

// diskTable is the on-disk form: the format version, then the table.
type diskTable struct {
	Format string
	Table  *Table
}

func (c *Cache) read(key string) (*Table, error) {
	data, err := os.ReadFile(c.file(key))
	if err != nil {
		return nil, err
	}
	var d diskTable
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&d); err != nil {
		return nil, err
	}
	if d.Format != formatVersion || d.Table == nil || d.Table.Key != key {
		return nil, errors.New("stale table")
	}
	return d.Table, nil
}

// write stores t atomically (a temporary file renamed into place), so
// that a concurrent reader sees the old file, the new one or none.
func (c *Cache) write(key string, t *Table) error {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(diskTable{Format: formatVersion, Table: t}); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), c.file(key))
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("memsites cache: %w", werr)
	}
	return nil
}
