package schedtest

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// LinkFlags is the go test flag that keeps what schedfuzz needs in the
// test binary.
const LinkFlags = "-ldflags=-s=false -w=false"

// checkSymbols returns an error if the test binary at exe lacks its
// symbol table or its DWARF. `go test` links its binary with -s -w (no
// symbol table, no DWARF) unless it is asked for the binary (-c,
// profiles). schedfuzz finds Go's sync functions through them: the
// out-of-line ones (all of sync.Mutex under -race) in the symbol table,
// the copies of Lock and Unlock inlined into every caller in DWARF.
// Without them a lost update between two critical sections has no
// scheduling point in it, and exploring would pass for nothing.
func checkSymbols(exe string) error {
	f, err := elf.Open(exe)
	if err != nil {
		return fmt.Errorf("the test binary: %w", err)
	}
	defer f.Close()
	var missing []string
	if f.Section(".symtab") == nil {
		missing = append(missing, "symbol table")
	}
	if f.Section(".debug_info") == nil && f.Section(".zdebug_info") == nil {
		missing = append(missing, "DWARF")
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("the test binary %s has no %s (go test leaves them out unless -c is given), "+
		"which schedfuzz needs to find Go's sync.Mutex operations: run go test '%s'", filepath.Base(exe), strings.Join(missing, " and no "), LinkFlags)
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
