package symbols

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Perm is the protection of a mapping.
type Perm uint8

const (
	PermRead Perm = 1 << iota
	PermWrite
	PermExec
	PermShared // 's' (MAP_SHARED) instead of 'p'
)

func (p Perm) String() string {
	b := []byte("---p")
	if p&PermRead != 0 {
		b[0] = 'r'
	}
	if p&PermWrite != 0 {
		b[1] = 'w'
	}
	if p&PermExec != 0 {
		b[2] = 'x'
	}
	if p&PermShared != 0 {
		b[3] = 's'
	}
	return string(b)
}

// Mapping is one line of /proc/PID/maps.
type Mapping struct {
	Start, End uint64 // [Start, End)
	Offset     uint64 // file offset of Start
	Perm       Perm
	Dev        uint64 // unix.Mkdev(major, minor) of the file's device
	Inode      uint64 // 0 for anonymous mappings
	// Path is the file (without the kernel's " (deleted)" suffix), a
	// pseudo name ("[heap]", "[stack]", "[vdso]", "[anon:...]") or "".
	Path string
	// Deleted: the file was unlinked (or replaced) since it was mapped;
	// Path may now name another file or none.
	Deleted bool
}

// IsFile reports whether the mapping is backed by a file.
func (m Mapping) IsFile() bool { return m.Inode != 0 && strings.HasPrefix(m.Path, "/") }

func (m Mapping) String() string {
	path := m.Path
	if m.Deleted {
		path += " (deleted)"
	}
	return fmt.Sprintf("%x-%x %s %08x %02x:%02x %d %s", m.Start, m.End, m.Perm, m.Offset,
		unix.Major(m.Dev), unix.Minor(m.Dev), m.Inode, path)
}

// ReadMaps reads /proc/pid/maps. The mappings are consistent if the
// process is stopped (under ptrace); of a running process the kernel
// gives no atomic snapshot.
func ReadMaps(pid int) ([]Mapping, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("reading maps of process %d: %w", pid, err)
	}
	ms, err := ParseMaps(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	return ms, nil
}

// ParseMaps parses the /proc/PID/maps format:
//
//	start-end perms offset major:minor inode [path]
//
// with hexadecimal start, end, offset, major and minor. A malformed line
// is an error naming its line number.
func ParseMaps(r io.Reader) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMapsLine(line)
		if err != nil {
			return nil, fmt.Errorf("maps line %d: %v: %q", n, err, line)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading maps: %w", err)
	}
	return out, nil
}

func parseMapsLine(line string) (Mapping, error) {
	var m Mapping
	field := func() string {
		line = strings.TrimLeft(line, " ")
		i := strings.IndexByte(line, ' ')
		if i < 0 {
			f := line
			line = ""
			return f
		}
		f := line[:i]
		line = line[i+1:]
		return f
	}
	rng, perms, off, dev, ino := field(), field(), field(), field(), field()
	if ino == "" {
		return m, fmt.Errorf("want at least 5 fields")
	}
	lo, hi, ok := strings.Cut(rng, "-")
	if !ok {
		return m, fmt.Errorf("bad address range %q", rng)
	}
	var err error
	if m.Start, err = strconv.ParseUint(lo, 16, 64); err != nil {
		return m, fmt.Errorf("bad start address %q", lo)
	}
	if m.End, err = strconv.ParseUint(hi, 16, 64); err != nil {
		return m, fmt.Errorf("bad end address %q", hi)
	}
	if m.End < m.Start {
		return m, fmt.Errorf("end %#x below start %#x", m.End, m.Start)
	}
	if len(perms) != 4 {
		return m, fmt.Errorf("bad permissions %q", perms)
	}
	for i, c := range perms {
		want := "rwx"[min(i, 2)]
		switch {
		case i < 3 && c == rune(want):
			m.Perm |= Perm(1) << i
		case i < 3 && c == '-':
		case i == 3 && c == 's':
			m.Perm |= PermShared
		case i == 3 && c == 'p':
		default:
			return m, fmt.Errorf("bad permissions %q", perms)
		}
	}
	if m.Offset, err = strconv.ParseUint(off, 16, 64); err != nil {
		return m, fmt.Errorf("bad offset %q", off)
	}
	maj, mnr, ok := strings.Cut(dev, ":")
	if !ok {
		return m, fmt.Errorf("bad device %q", dev)
	}
	ma, err1 := strconv.ParseUint(maj, 16, 32)
	mi, err2 := strconv.ParseUint(mnr, 16, 32)
	if err1 != nil || err2 != nil {
		return m, fmt.Errorf("bad device %q", dev)
	}
	m.Dev = unix.Mkdev(uint32(ma), uint32(mi))
	if m.Inode, err = strconv.ParseUint(ino, 10, 64); err != nil {
		return m, fmt.Errorf("bad inode %q", ino)
	}
	// The path is the rest after the padding; it may contain spaces.
	p := strings.TrimLeft(line, " ")
	if s, ok := strings.CutSuffix(p, " (deleted)"); ok && m.Inode != 0 {
		p, m.Deleted = s, true
	}
	m.Path = p
	return m, nil
}
