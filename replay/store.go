package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Store is a corpus of seed files under Dir: one subdirectory per failure
// signature (SignatureDir), each holding seed files named by target and
// content hash. Seed files lying directly in Dir (the layout before
// Store) are part of the corpus too. A Store holds no state besides Dir;
// concurrent writers are safe (every file is written by rename), though
// two of them may both report a new signature as New.
type Store struct {
	Dir string
}

// Entry is one seed file of a corpus.
type Entry struct {
	Path string
	Seed *SeedFile
}

// SignatureDir is the subdirectory of s holding seeds with signature sig:
// a filesystem-safe slug of sig and the first 8 hex digits of its
// SHA-256 ("exit-1-t1-write-3f0a9c21").
func (s Store) SignatureDir(sig string) string {
	sum := sha256.Sum256([]byte(sig))
	return filepath.Join(s.Dir, slug(sig, 48)+"-"+hex.EncodeToString(sum[:4]))
}

// Save adds f to the corpus and returns the file's path and whether the
// corpus already held a seed with f's signature (a Known failure). A seed
// without a signature is filed under its outcome. A file with identical
// content is not written twice: Save returns the existing one (known).
func (s Store) Save(f *SeedFile) (path string, known bool, err error) {
	g := *f
	data, err := g.Encode()
	if err != nil {
		return "", false, err
	}
	sig := signatureOf(&g)
	dir := s.SignatureDir(sig)
	known = hasSeed(dir) || s.flatHas(sig)
	sum := sha256.Sum256(data)
	path = filepath.Join(dir, slug(filepath.Base(g.Target), 32)+"-"+hex.EncodeToString(sum[:8])+".seed")
	if old, err := os.ReadFile(path); err == nil {
		if bytes.Equal(old, data) {
			return path, true, nil
		}
		return "", false, fmt.Errorf("save seed: %s exists with other content", path)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("save seed: %w", err)
	}
	if err := writeAtomic(path, data); err != nil {
		return "", false, fmt.Errorf("save seed: %w", err)
	}
	return path, known, nil
}

// hasSeed reports whether dir holds a seed file.
func hasSeed(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".seed") {
			return true
		}
	}
	return false
}

// signatureOf is the signature f is filed under: its own, else its
// outcome.
func signatureOf(f *SeedFile) string {
	if f.Signature != "" {
		return f.Signature
	}
	return f.Outcome
}

// flatHas reports whether a readable seed file directly in s.Dir has
// signature sig (signatureOf).
func (s Store) flatHas(sig string) bool {
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".seed") {
			continue
		}
		f, err := Load(filepath.Join(s.Dir, e.Name()))
		if err != nil {
			continue
		}
		if signatureOf(f) == sig {
			return true
		}
	}
	return false
}

// Paths returns every file named *.seed under s.Dir, at any depth,
// sorted. Symbolic links are followed, to files and to directories (a
// directory reached twice, through a link loop or two links, is walked
// once); a dangling link is skipped.
func (s Store) Paths() ([]string, error) {
	var paths []string
	seen := map[devIno]bool{}
	if err := walkSeeds(s.Dir, seen, &paths); err != nil {
		return nil, fmt.Errorf("corpus %s: %w", s.Dir, unwrapPath(err))
	}
	sort.Strings(paths)
	return paths, nil
}

type devIno struct{ dev, ino uint64 }

func walkSeeds(dir string, seen map[devIno]bool, paths *[]string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		k := devIno{uint64(sys.Dev), sys.Ino}
		if seen[k] {
			return nil
		}
		seen[k] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			st, err := os.Stat(p)
			if err != nil {
				continue // dangling
			}
			mode = st.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if err := walkSeeds(p, seen, paths); err != nil {
				return err
			}
		case mode.IsRegular() && strings.HasSuffix(e.Name(), ".seed"):
			*paths = append(*paths, p)
		}
	}
	return nil
}

// List loads every seed file of the corpus, in Paths order. The first
// unreadable or corrupt file is the error ("DIR/x.seed: seed file line 3:
// ...").
func (s Store) List() ([]Entry, error) {
	paths, err := s.Paths()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(paths))
	for _, p := range paths {
		f, err := Load(p)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Path: p, Seed: f})
	}
	return out, nil
}

// Load reads and parses the seed file at path; errors name the path.
func Load(path string) (*SeedFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	defer fh.Close()
	f, err := Parse(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// unwrapPath drops the *fs.PathError wrapper (whose path the caller
// already names).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// slug makes s safe as a file name: lower-case letters, digits, "." and
// "_" kept, runs of anything else as one "-", at most n bytes, never
// empty or starting with ".".
func slug(s string, n int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_'
		if !ok {
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteRune(r)
		if b.Len() >= n {
			break
		}
	}
	out := strings.TrimLeft(b.String(), ".-")
	if out == "" {
		return "x"
	}
	return out
}

// FileSHA256 returns the hex SHA-256 of the file at path: a seed file's
// sha256 key.
func FileSHA256(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
