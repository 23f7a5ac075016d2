package sched

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Telling a deadlock from a wait for the outside. When no thread can run
// and a thread polls without a timeout, its fds may still be filled from
// outside the guest (a pipe on stdin that a shell feeds), or by nobody.
// pollInternal answers for the common case: a poll or ppoll whose every fd
// is a pipe or FIFO of which some guest process holds a write end can only
// be filled by the guest, which cannot run: a deadlock. Any other fd
// (sockets, terminals, select and epoll sets) is assumed to be reachable
// from outside, and the poll waits for real.

// pollInternal reports whether g's untimed poll can only be satisfied by
// guest processes.
func (s *Scheduler) pollInternal(g *gthread) bool {
	c := g.t.Syscall()
	args := c.OrigArgs()
	if c.Nr != unix.SYS_POLL && c.Nr != unix.SYS_PPOLL {
		return false
	}
	n := int(args[1])
	if n <= 0 || n > 1024 {
		return false
	}
	buf := make([]byte, 8*n)
	if _, err := g.t.Memory().ReadAt(buf, int64(args[0])); err != nil {
		return false
	}
	writers := s.pipeWriters()
	for i := 0; i < n; i++ {
		fd := int32(binary.LittleEndian.Uint32(buf[8*i:]))
		if fd < 0 {
			continue // ignored by poll
		}
		link, err := os.Readlink("/proc/" + strconv.Itoa(g.pid) + "/fd/" + strconv.Itoa(int(fd)))
		if err != nil || !strings.HasPrefix(link, "pipe:[") || !writers[link] {
			return false
		}
	}
	return true
}

// pipeWriters returns the pipes ("pipe:[INODE]") of which a live guest
// process holds a write end.
func (s *Scheduler) pipeWriters() map[string]bool {
	out := map[string]bool{}
	seen := map[int]bool{}
	for _, g := range s.threads {
		if g.state == stExited || seen[g.pid] || s.dying[g.pid] {
			continue
		}
		seen[g.pid] = true
		dir := "/proc/" + strconv.Itoa(g.pid) + "/fd/"
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			link, err := os.Readlink(dir + e.Name())
			if err != nil || !strings.HasPrefix(link, "pipe:[") || out[link] {
				continue
			}
			if writable("/proc/" + strconv.Itoa(g.pid) + "/fdinfo/" + e.Name()) {
				out[link] = true
			}
		}
	}
	return out
}

// writable reports whether an fdinfo file shows a descriptor open for
// writing.
func writable(fdinfo string) bool {
	b, err := os.ReadFile(fdinfo)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			fl, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && fl&unix.O_ACCMODE != unix.O_RDONLY
		}
	}
	return false
}
