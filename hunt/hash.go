package hunt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// keepHashAbove is the size from which a program's SHA-256 is kept on
// disk: hashing node's 99 MB took 65 ms of every session's start; a small
// file is hashed faster than its kept sum is read.
const keepHashAbove = 1 << 20

// programSHA256 is replay.FileSHA256 of the program at path, kept on disk
// (CacheDir("sha256")) for large files by their identity: device, inode,
// size, modification and change times. Any write to the file changes its
// change time, which no one but the kernel sets, so a kept sum is the
// file's. Keeping is best effort.
func programSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	dir := CacheDir("sha256")
	if st.Size < keepHashAbove || dir == "" {
		return hashFile(path, f)
	}
	key := fmt.Sprintf("%d %d %d %d.%09d %d.%09d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
	name := sha256.Sum256([]byte(key))
	file := filepath.Join(dir, hex.EncodeToString(name[:12]))
	if b, err := os.ReadFile(file); err == nil {
		if k, sum, ok := strings.Cut(strings.TrimSuffix(string(b), "\n"), "\n"); ok && k == key && len(sum) == 64 {
			if _, err := hex.DecodeString(sum); err == nil {
				return sum, nil
			}
		}
	}
	sum, err := hashFile(path, f)
	if err == nil && os.MkdirAll(dir, 0o755) == nil {
		if tmp, err := os.CreateTemp(dir, ".sha256-*"); err == nil {
			_, werr := tmp.WriteString(key + "\n" + sum + "\n")
			if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
				os.Remove(tmp.Name())
			}
		}
	}
	return sum, err
}

func hashFile(path string, f *os.File) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
