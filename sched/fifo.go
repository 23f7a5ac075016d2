package sched

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// Opening a FIFO. A blocking open for reading waits until the FIFO has a
// writer, one for writing until it has a reader (fifo_open's
// wait_for_partner); O_RDWR and O_NONBLOCK opens never wait. Under the
// scheduler the other end is usually another guest thread, held while
// the opener would sleep in the kernel, so a blocking open runs as:
//
//   - a writer's open with O_NONBLOCK added: it succeeds if there is a
//     reader; with ENXIO it waits, held at its exit, until a guest opens
//     the FIFO for reading, and is then re-issued;
//   - a reader's open runs as is if some guest process holds the FIFO
//     open for writing (it returns at once); otherwise with O_NONBLOCK
//     added, which registers it as a reader at once, and it waits, held
//     at its exit, until a guest opens the FIFO for writing;
//   - the guest's fd gets its blocking mode back when the open returns.
//
// The other end may also come from outside the guest: when no guest
// thread can run, a waiting reader waits for real for data or a hang-up
// on its fd, and a waiting writer is let go to open for real; the run is
// then marked as depending on external input.

// fifoOpen is a thread's open of a FIFO, from its entry to its return.
type fifoOpen struct {
	key         fileKey
	read, write bool // the access it opens with
	blocking    bool // it would wait for the other end
	fd          int  // a waiting reader's fd (opened non-blocking)
}

// fileKey identifies a file by device and inode.
type fileKey struct{ dev, ino uint64 }

// openCall looks at an open or openat entry for a FIFO. It reports
// whether the call is settled (g.resume set).
func (s *Scheduler) openCall(g *gthread, c *intercept.Syscall) {
	pathArg, flagArg, dirfd := 0, 1, unix.AT_FDCWD
	if c.Nr == unix.SYS_OPENAT {
		pathArg, flagArg, dirfd = 1, 2, int(int32(c.Args[0]))
	}
	mem := g.t.Memory()
	p, _, err := mem.ReadString(c.Args[pathArg], unix.PathMax)
	if err != nil || p == "" {
		return
	}
	if p == "/dev/urandom" || p == "/dev/random" {
		g.resume = intercept.TraceExit() // learn the fd at the exit
		return
	}
	flags := int(c.Args[flagArg])
	if flags&unix.O_PATH != 0 {
		return
	}
	key, ok := s.fifoAt(g.pid, dirfd, p)
	if !ok {
		return
	}
	acc := flags & unix.O_ACCMODE
	f := &fifoOpen{key: key, read: acc != unix.O_WRONLY, write: acc != unix.O_RDONLY, fd: -1,
		blocking: acc != unix.O_RDWR && flags&unix.O_NONBLOCK == 0}
	g.resume = intercept.TraceExit() // its exit may release the other end
	if g.fifoReal {
		// Let go to wait for the other end from outside, for real.
		g.fifoReal = false
		f.blocking = false
	}
	if f.blocking && f.read && s.fifoHasWriter(key) {
		f.blocking = false // returns at once
	}
	if f.blocking {
		c.Args[flagArg] |= unix.O_NONBLOCK
	}
	g.fifo = f
}

// fifoAt stats a guest path, relative to dirfd, and reports whether it
// is a FIFO.
func (s *Scheduler) fifoAt(pid, dirfd int, p string) (fileKey, bool) {
	base := "/proc/" + strconv.Itoa(pid)
	switch {
	case strings.HasPrefix(p, "/"):
		base += "/root"
	case dirfd == unix.AT_FDCWD:
		base += "/cwd/"
	default:
		base += "/fd/" + strconv.Itoa(dirfd) + "/"
	}
	var st unix.Stat_t
	if unix.Stat(base+p, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return fileKey{}, false
	}
	return fileKey{st.Dev, st.Ino}, true
}

// fifoExit handles the exit of an open of a FIFO.
func (s *Scheduler) fifoExit(g *gthread, ret int64) int64 {
	f := g.fifo
	if ret < 0 {
		if f.blocking && !f.read && ret == intercept.Errno(unix.ENXIO) {
			// No reader yet: wait for one.
			s.setPoint(g, PointSyscall, g.pname, 0)
			s.holdAtExit(g, blkFifo)
			s.schedule(g)
			return ret
		}
		g.fifo = nil
		return ret
	}
	if f.blocking {
		s.setBlocking(g.pid, int(ret))
	}
	s.fifoOpened(g, f)
	if f.blocking && f.read {
		// Registered as a reader; wait for a writer.
		f.fd = int(ret)
		s.setPoint(g, PointSyscall, g.pname, 0)
		s.holdAtExit(g, blkFifo)
		s.schedule(g)
		return ret
	}
	g.fifo = nil
	return ret
}

// setBlocking clears O_NONBLOCK on a guest fd's open file description.
func (s *Scheduler) setBlocking(pid, fd int) {
	dup, ok := s.dupFD(pid, fd)
	if !ok {
		return
	}
	defer unix.Close(dup)
	if fl, err := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0); err == nil {
		unix.FcntlInt(uintptr(dup), unix.F_SETFL, fl&^unix.O_NONBLOCK)
	}
}

// fifoOpened releases the threads waiting to open f's FIFO that opener's
// open satisfies: writers waiting for a reader are re-issued, readers
// waiting for a writer return.
func (s *Scheduler) fifoOpened(opener *gthread, f *fifoOpen) {
	for _, g := range s.threads {
		w := g.fifo
		if g == opener || g.state != stBlocked || g.block != blkFifo || w == nil || w.key != f.key {
			continue
		}
		switch {
		case w.read && f.write:
			g.fifo = nil
			s.wake(g, intercept.Continue())
		case !w.read && f.read:
			g.fifo = nil
			s.retry(g)
		}
	}
}

// fifoHasWriter reports whether a guest process holds the FIFO open for
// writing (then a blocking open for reading returns at once).
func (s *Scheduler) fifoHasWriter(key fileKey) bool {
	seen := map[int]bool{}
	for _, g := range s.threads {
		if g.state == stExited || seen[g.pid] {
			continue
		}
		seen[g.pid] = true
		if procHoldsForWriting(g.pid, key) {
			return true
		}
	}
	return false
}

// procHoldsForWriting reports whether process pid has an fd open for
// writing on the file key.
func procHoldsForWriting(pid int, key fileKey) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	ents, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return false
	}
	for _, e := range ents {
		var st unix.Stat_t
		if unix.Stat(dir+"/fd/"+e.Name(), &st) != nil || st.Dev != key.dev || st.Ino != key.ino {
			continue
		}
		b, err := os.ReadFile(dir + "/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				fl, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
				if err == nil && fl&unix.O_ACCMODE != unix.O_RDONLY {
					return true
				}
			}
		}
	}
	return false
}

// fifoExternal is waitExternal's part for FIFO openers when no guest
// thread can run: it returns the fds of waiting readers to poll (each
// with its thread), or lets the first waiting writer open for real.
func (s *Scheduler) fifoExternal() (readers []*gthread, released bool) {
	for _, g := range s.threads {
		if g.state != stBlocked || g.block != blkFifo || g.fifo == nil || s.dying[g.pid] {
			continue
		}
		if g.fifo.read {
			readers = append(readers, g)
			continue
		}
		if !released {
			g.fifo = nil
			g.fifoReal = true
			s.retry(g)
			released = true
		}
	}
	return readers, released
}
