package symbols

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Preloading: a session's first run waits for the symbol tables of the
// executable, ld.so and each library as the process maps them. A cache
// that keeps tables on disk also remembers, per program, which files its
// processes mapped (SavePreload), and a later session reads those tables
// ahead (Preload), on a goroutine of its own, while it does other work
// (the CLI: while it makes its sandbox). The list is a hint: a file that
// changed or went away since is opened for nothing (the cache is keyed by
// the file's identity, so what a run gets is what it maps, whoever opened
// it first), and one not listed is opened when mapped, as without.

// preloadFile is the list of files for key, in the disk directory.
func (c *Cache) preloadFile(key string) string {
	if c == nil || c.disk == nil || c.disk.dir == "" || key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.disk.dir, "preload-"+hex.EncodeToString(sum[:12]))
}

// Preload opens the files that processes of an earlier session of key
// (the program's path) mapped, in the order they were listed, on a
// goroutine of its own, and calls warm (on that goroutine) with each
// object opened. The returned channel is closed when it is done. Without
// a disk directory (or a cache: c may be nil), or a list for key, it
// does nothing.
func (c *Cache) Preload(key string, warm func(*Object)) <-chan struct{} {
	done := make(chan struct{})
	file := c.preloadFile(key)
	if file == "" {
		close(done)
		return done
	}
	data, err := os.ReadFile(file)
	if err != nil {
		close(done)
		return done
	}
	paths := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	c.mu.Lock()
	c.preloaded = paths
	c.mu.Unlock()
	go func() {
		defer close(done)
		for _, p := range paths {
			if o, err := c.Open(p); err == nil && warm != nil {
				warm(o)
			}
		}
	}()
	return done
}

// noteMapped records that a process mapped o (Objects), for SavePreload.
func (c *Cache) noteMapped(o *Object) {
	c.mu.Lock()
	if !c.seen[o] {
		c.seen[o] = true
		c.mappedOrder = append(c.mappedOrder, o)
	}
	c.mu.Unlock()
}

// SavePreload records, for a later Preload of key, the files that
// processes this cache served (through Objects) mapped, in the order
// they were first mapped; files known only through /proc (deleted or
// replaced files, a process's own mount namespace) are left out. It
// writes nothing if no process mapped a file, or the list is the one
// Preload read. Best effort.
func (c *Cache) SavePreload(key string) {
	file := c.preloadFile(key)
	if file == "" {
		return
	}
	c.mu.Lock()
	var paths []string
	for _, o := range c.mappedOrder {
		if !strings.HasPrefix(o.Path, "/proc/") && !slices.Contains(paths, o.Path) {
			paths = append(paths, o.Path)
		}
	}
	same := slices.Equal(paths, c.preloaded)
	c.mu.Unlock()
	if len(paths) == 0 || same || os.MkdirAll(c.disk.dir, 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(c.disk.dir, ".preload-*")
	if err != nil {
		return
	}
	_, err = tmp.WriteString(strings.Join(paths, "\n") + "\n")
	if cerr := tmp.Close(); err != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
	}
}
