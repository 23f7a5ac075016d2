package schedtest

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// checkDWARF returns an error if the test binary at exe has no DWARF.
// `go test` links its binary without DWARF (-s -w) unless it is asked
// for the binary (-c, profiles); Go inlines sync.Mutex's Lock and Unlock
// into every caller, and schedfuzz finds those inlined copies only
// through DWARF: without it a lost update between two critical sections
// has no scheduling point in it, and exploring would pass for nothing.
func checkDWARF(exe string) error {
	f, err := elf.Open(exe)
	if err != nil {
		return fmt.Errorf("the test binary: %w", err)
	}
	defer f.Close()
	if f.Section(".debug_info") != nil || f.Section(".zdebug_info") != nil {
		return nil
	}
	return fmt.Errorf("the test binary %s has no DWARF debug information (go test leaves it out unless -c is given), "+
		"which schedfuzz needs to find Go's inlined sync.Mutex operations: run go test -ldflags=-w=false "+
		"(or set GOFLAGS=-ldflags=-w=false)", filepath.Base(exe))
}

// keptBinary is where a copy of the test binary with SHA-256 sum is kept
// for `schedfuzz replay` of its seeds: the binary `go test` runs is
// removed when it ends. The directory is under the user's cache
// directory, named by the hash, so each binary is kept once.
func keptBinary(exe, sum string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "schedfuzz", "schedtest", sum[:16], filepath.Base(exe))
}

// keepBinary copies exe to dst unless it is there: written to a
// temporary name and renamed, so a reader never sees half a file.
func keepBinary(exe, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	src, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
