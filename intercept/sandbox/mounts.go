package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// privateDirs get a fresh, empty tmpfs in every run.
var privateDirs = []string{"/tmp", "/var/tmp", "/dev/shm"}

// underPrivate returns the private directory path is in ("" if none).
func underPrivate(path string) string {
	for _, d := range privateDirs {
		if within(path, d) {
			return d
		}
	}
	return ""
}

// within reports whether path is dir or lies under it (both clean and
// absolute).
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/") || dir == "/"
}

// newTmpfs makes a detached tmpfs mount (fsopen/fsmount: it is in no
// mount namespace until moved somewhere, and goes away with its last
// reference).
func newTmpfs(opts ...string) (int, error) {
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fs)
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		if err := unix.FsconfigSetString(fs, k, v); err != nil {
			return -1, fmt.Errorf("tmpfs %s: %w", o, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("create tmpfs: %w", err)
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("fsmount tmpfs: %w", err)
	}
	return m, nil
}

// newOverlay makes a detached overlay of the directory lower whose
// writes go to upper, with work as its work directory: all three given as
// fds, which the kernel resolves whatever mount namespace and /proc the
// caller sees (FSCONFIG_SET_FD, Linux 6.13+ for overlayfs).
func newOverlay(lower, upper, work int) (int, error) {
	fs, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fs)
	if inOwnUserNS {
		// Outside the initial user namespace overlayfs may not use
		// trusted.* extended attributes; tmpfs has user.* ones.
		if err := unix.FsconfigSetFlag(fs, "userxattr"); err != nil {
			return -1, fmt.Errorf("overlay userxattr: %w", err)
		}
	}
	for _, kv := range []struct {
		key string
		fd  int
	}{{"lowerdir+", lower}, {"upperdir", upper}, {"workdir", work}} {
		if err := unix.FsconfigSetFd(fs, kv.key, kv.fd); err != nil {
			return -1, fmt.Errorf("overlay %s: %w", kv.key, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("create overlay: %w", err)
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("fsmount overlay: %w", err)
	}
	return m, nil
}

// cloneTree returns a detached copy (bind) of the mount tree at path
// under dirfd (path "": dirfd itself).
func cloneTree(dirfd int, path string, readOnly bool) (int, error) {
	return cloneTreeFlags(dirfd, path, readOnly, 0)
}

// cloneTreeRec is cloneTree with the mounts below path too.
func cloneTreeRec(dirfd int, path string) (int, error) {
	return cloneTreeFlags(dirfd, path, false, unix.AT_RECURSIVE)
}

func cloneTreeFlags(dirfd int, path string, readOnly bool, extra uint) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC) | extra
	if path == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	fd, err := unix.OpenTree(dirfd, path, flags)
	if err != nil {
		return -1, fmt.Errorf("open_tree %s: %w", path, err)
	}
	if readOnly {
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("read-only %s: %w", path, err)
		}
	}
	return fd, nil
}

// attach moves a detached mount onto target and closes its fd.
func attach(fd int, target string) error {
	defer unix.Close(fd)
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount on %s: %w", target, err)
	}
	return nil
}

// mountPoint makes sure path exists as a directory (or, if file, as an
// empty file) to mount on, creating what is missing: only ever inside a
// run's fresh tmpfs, never on the host.
func mountPoint(path string, file bool) error {
	if file {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return err
		}
		return f.Close()
	}
	return os.MkdirAll(path, 0o755)
}

// hasSubmounts reports whether a mount point lies strictly under dir (an
// overlay of dir would hide it).
func hasSubmounts(dir string) (bool, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMountinfo(f[4])
		if mp != dir && within(mp, dir) {
			return true, nil
		}
	}
	return false, nil
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of
// mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
