package replay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Writing a seed file never leaves half a file, nor a temporary file that
// nothing removes, whenever the writer is killed:
//
//   - The file is written unnamed (open(O_TMPFILE)), synced, and linked
//     into place under its final name (linkat): it appears complete or
//     not at all, and a writer killed before the link leaves nothing.
//   - Where the filesystem has no O_TMPFILE, it is written to a
//     ".tmp-*" file locked with flock(2) while it is written, and renamed
//     into place. A writer killed meanwhile leaves that file behind;
//     CleanTemp removes such files once no writer holds their lock.

// writeAtomic writes data as the file path, atomically.
func writeAtomic(path string, data []byte) error {
	err := writeLinked(path, data)
	if errors.Is(err, errNoTmpfile) {
		err = writeRenamed(path, data)
	}
	return err
}

var errNoTmpfile = errors.New("O_TMPFILE not supported")

// writeLinked writes an O_TMPFILE file and links it as path. An existing
// path is replaced (as rename would).
func writeLinked(path string, data []byte) error {
	fd, err := unix.Open(filepath.Dir(path), unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	switch err {
	case nil:
	case unix.EOPNOTSUPP, unix.EISDIR, unix.EINVAL:
		return errNoTmpfile
	default:
		return &fs.PathError{Op: "create", Path: filepath.Dir(path), Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if err := writeSync(f, data); err != nil {
		return err
	}
	// The umask applied at creation; a seed file is world-readable.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	err = unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
	if err == unix.EEXIST {
		// Replace it: link under a temporary name, rename over.
		tmp := filepath.Join(filepath.Dir(path), ".tmp-link-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		if err = unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, tmp, unix.AT_SYMLINK_FOLLOW); err == nil {
			if err = os.Rename(tmp, path); err != nil {
				os.Remove(tmp)
			}
			return err
		}
	}
	if err == unix.ENOENT {
		return errNoTmpfile // no /proc: write it the other way
	}
	if err != nil {
		return &fs.PathError{Op: "link", Path: path, Err: err}
	}
	return nil
}

// writeRenamed writes a locked temporary file next to path and renames
// it into place.
func writeRenamed(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	// Held until the file is renamed and closed: CleanTemp leaves a
	// locked file alone.
	err = unix.Flock(int(tmp.Fd()), unix.LOCK_EX)
	if err == nil {
		err = writeSync(tmp, data)
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeSync(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}

// staleAge is how old an unlocked temporary file must be before
// CleanTemp removes it: a writer locks its file right after creating it,
// so only a file created a moment ago can be both unlocked and in use.
const staleAge = 10 * time.Second

// CleanTemp removes the temporary files (".tmp-*") that writers killed
// while saving left in the corpus (in Dir and its signature directories),
// and returns how many it removed. A file a live writer holds is left
// alone. A corpus that does not exist is clean.
func (s Store) CleanTemp() (int, error) {
	dirs := []string{s.Dir}
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("corpus %s: %w", s.Dir, unwrapPath(err))
	}
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(s.Dir, e.Name()))
		}
	}
	n := 0
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.Type().IsRegular() && strings.HasPrefix(e.Name(), ".tmp-") && removeStale(filepath.Join(d, e.Name())) {
				n++
			}
		}
	}
	return n, nil
}

// removeStale removes a temporary file that no writer holds.
func removeStale(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false // a writer holds it
	}
	st, err := f.Stat()
	if err != nil || time.Since(st.ModTime()) < staleAge {
		return false
	}
	return os.Remove(path) == nil
}
