package sched

import (
	"bufio"
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Shared futex keys. A futex op without FUTEX_PRIVATE_FLAG on a word in a
// shared mapping (MAP_SHARED memory, anonymous or of a file, shm_open,
// SysV shm) is keyed, as the kernel's get_futex_key keys it, by the
// mapped object and the word's offset in it: a process-shared mutex,
// condition variable or semaphore then works across fork, or between
// processes that map the object at different addresses. Every other futex
// is keyed by process and address.
//
// Each process's shared mappings are read from /proc/PID/maps when a
// shared futex op first needs them and kept until the process maps,
// unmaps, remaps, attaches or detaches memory or execs (the cache is
// dropped at that call's entry and again at the thread's next point,
// once the call has run, before any other thread can use it).

// sharedRange is one shared mapping: [start, end) maps the object
// (dev, ino) from offset off.
type sharedRange struct {
	start, end, off, dev, ino uint64
}

// futexKeyOf is the key of the futex word at addr of g's process.
func (s *Scheduler) futexKeyOf(g *gthread, addr uint64, private bool) futexKey {
	if !private {
		for _, r := range s.sharedMaps(g.pid) {
			if addr >= r.start && addr < r.end {
				return futexKey{addr: r.off + addr - r.start, dev: r.dev, ino: r.ino}
			}
		}
	}
	return futexKey{pid: g.pid, addr: addr}
}

// sharedMaps returns the shared mappings of process pid (cached).
func (s *Scheduler) sharedMaps(pid int) []sharedRange {
	if m, ok := s.maps[pid]; ok {
		return m
	}
	m := readSharedMaps(pid)
	s.maps[pid] = m
	return m
}

// remaps reports whether syscall nr may change a process's mappings.
func remaps(nr int) bool {
	switch nr {
	case unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MREMAP, unix.SYS_SHMAT, unix.SYS_SHMDT,
		unix.SYS_REMAP_FILE_PAGES, unix.SYS_EXECVE, unix.SYS_EXECVEAT:
		return true
	}
	return false
}

// readSharedMaps parses the shared mappings out of /proc/PID/maps.
func readSharedMaps(pid int) []sharedRange {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return nil
	}
	var out []sharedRange
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// start-end perms offset major:minor inode [path]
		f := bytes.Fields(sc.Bytes())
		if len(f) < 5 || len(f[1]) < 4 || f[1][3] != 's' {
			continue
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		major, minor, ok2 := bytes.Cut(f[3], []byte(":"))
		if !ok || !ok2 {
			continue
		}
		start, e1 := strconv.ParseUint(string(lo), 16, 64)
		end, e2 := strconv.ParseUint(string(hi), 16, 64)
		off, e3 := strconv.ParseUint(string(f[2]), 16, 64)
		maj, e4 := strconv.ParseUint(string(major), 16, 32)
		mnr, e5 := strconv.ParseUint(string(minor), 16, 32)
		ino, e6 := strconv.ParseUint(string(f[4]), 10, 64)
		if e1 != nil || e2 != nil || e3 != nil || e4 != nil || e5 != nil || e6 != nil {
			continue
		}
		out = append(out, sharedRange{start, end, off, unix.Mkdev(uint32(maj), uint32(mnr)), ino})
	}
	return out
}
