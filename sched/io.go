package sched

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// Blocking transfers. A blocking call that the kernel may complete only
// in part before it sleeps (a write larger than the free space of a pipe
// or socket buffer, a recv with MSG_WAITALL, sendmmsg, recvmmsg,
// sendfile), or that sleeps until another guest thread changes some
// state (splice and tee between pipes, a connect to a unix listener
// whose backlog is full, flock, fcntl(F_SETLKW), msgsnd, msgrcv, semop,
// mq_timedsend, mq_timedreceive), runs as a sequence of non-blocking
// pieces:
//
//   - A piece is non-blocking through the call's own flag (MSG_DONTWAIT,
//     SPLICE_F_NONBLOCK, LOCK_NB, F_SETLK, IPC_NOWAIT) or, for calls
//     without one (write, writev, sendfile, connect, mq_*), through
//     O_NONBLOCK set on the open file description for the piece's
//     duration, with fcntl on the tracer's pidfd_getfd duplicate: every
//     other guest thread is stopped meanwhile, so none can observe it.
//   - Where the piece would have blocked, the thread waits at its exit, at
//     a scheduling point, for its fd's readiness (or, for locks, IPC and
//     connect, until another thread has run), then the rest is re-issued
//     (intercept.Thread.RestartWith) with the buffers advanced; a piece
//     that moved all it asked for while more remains (one iovec of a
//     sendmsg) goes on at once.
//   - The guest sees one call, its registers as it passed them, and the
//     native result: the full count for a blocking fd, a partial count if
//     an error (EPIPE, with its SIGPIPE) or end of file came after some
//     progress, the error otherwise.
//
// Writes of at most a page to a pipe that polls writable cannot block
// (a page is one free slot) and run as they are, without the cost of a
// second stop; so do calls on non-blocking fds and calls with the guest's
// own non-blocking flag: the guest then sees EAGAIN and partial results
// as it does natively.

// pipeBufFast is the largest write to a pipe that polls writable which
// cannot block: it fits in the free slot (PIPE_BUF is a page on Linux).
const pipeBufFast = 4096

type xfKind uint8

const (
	xfBytes xfKind = iota // a byte count: done when all moved, at EOF or on an error
	xfMsgs                // a count of messages (sendmmsg, recvmmsg)
	xfOnce                // one call, retried while it would block
)

// iovec is a guest struct iovec.
type iovec struct{ base, len uint64 }

// transfer is a blocking call in progress as non-blocking pieces.
type transfer struct {
	kind  xfKind
	guest int       // the guest's syscall number
	args  [6]uint64 // the first piece's arguments: the guest's, non-blocking
	// fd is the file whose readiness it waits for between pieces,
	// events what for (0: until another thread has run).
	fd     int
	events int16
	bufs   []iovec // the guest's buffers (xfBytes from memory)
	iov    uint64  // the guest's iovec array (writev)
	total  int64   // bytes or messages asked for
	done   int64   // moved so far
	// The current piece: its call, how much it asks for, and where its
	// syscall instruction returns (its entry is recognized by all three).
	nr      int
	pargs   [6]uint64
	plen    int64
	ip      uint64
	armed   bool // the piece has not started: set it up when the thread runs
	running bool // the piece runs: its exit is the transfer's
	// toggle: set O_NONBLOCK on fd around each piece; dup and flags are
	// the tracer's duplicate and the status flags to restore meanwhile.
	toggle bool
	dup    int
	flags  int
	// wouldBlock are the errors of a piece that would have blocked.
	wouldBlock [2]unix.Errno
	// deadline (virtual, -1: none) and the result when it passes with
	// nothing moved; expired once it has.
	deadline  int64
	onTimeout int64
	expired   bool
	// after is recvmmsg's deadline, checked only after some progress
	// (-1: none); once: done after any progress (MSG_WAITFORONE).
	after   int64
	once    bool
	scratch []byte // written at the piece's address pargs[1] before each piece (semop)
}

// fdInfo is what the tracer sees of a guest fd through a duplicate.
type fdInfo struct {
	mode     uint32 // st_mode & S_IFMT (0 for anonymous inodes)
	nonblock bool
}

// inspectFD looks at a guest fd. ok is false if it cannot be duplicated.
func (s *Scheduler) inspectFD(pid, fd int) (fi fdInfo, ok bool) {
	dup, ok := s.dupFD(pid, fd)
	if !ok {
		return fi, false
	}
	defer unix.Close(dup)
	fl, err := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err != nil {
		return fi, false
	}
	var st unix.Stat_t
	if unix.Fstat(dup, &st) != nil {
		return fi, false
	}
	return fdInfo{mode: st.Mode & unix.S_IFMT, nonblock: fl&unix.O_NONBLOCK != 0}, true
}

// mayBlockOnGuest reports whether writes to a file of this type can wait
// for another guest thread: pipes, FIFOs, sockets, and anonymous inodes
// (eventfd). Regular files never do, terminals only on the outside.
func (fi fdInfo) mayBlockOnGuest() bool {
	switch fi.mode {
	case unix.S_IFIFO, unix.S_IFSOCK, 0:
		return true
	}
	return false
}

// sockOpt reads an int socket option of a guest fd.
func (s *Scheduler) sockOpt(pid, fd, opt int) (int, bool) {
	dup, ok := s.dupFD(pid, fd)
	if !ok {
		return 0, false
	}
	defer unix.Close(dup)
	v, err := unix.GetsockoptInt(dup, unix.SOL_SOCKET, opt)
	return v, err == nil
}

// newTransfer starts a transfer of g's call c, whose first piece is c
// itself (possibly with a non-blocking flag set in c.Args).
func (s *Scheduler) newTransfer(g *gthread, c *intercept.Syscall, kind xfKind, fd int, events int16) *transfer {
	x := &transfer{kind: kind, guest: c.Nr, fd: fd, events: events, dup: -1,
		wouldBlock: [2]unix.Errno{unix.EAGAIN, unix.EAGAIN}, deadline: -1, after: -1,
		nr: c.Nr, ip: c.IP, armed: true}
	g.io = x
	g.resume = intercept.TraceExit()
	return x
}

// first makes c, as the scheduler modified it (a non-blocking flag), the
// transfer's first piece, asking for n; the rest derive from it.
func (x *transfer) first(c *intercept.Syscall, n int64) {
	x.args = c.Args
	x.setPiece(c.Nr, c.Args, n)
}

// setPiece makes (nr, args) the transfer's current piece, asking for n.
func (x *transfer) setPiece(nr int, args [6]uint64, n int64) {
	x.nr, x.pargs, x.plen = nr, args, n
}

// beginWrite models write, writev, sendto and sendmsg on a blocking
// pipe, FIFO, socket or eventfd. It reports false if the call just runs.
func (s *Scheduler) beginWrite(g *gthread, c *intercept.Syscall) bool {
	fd := int(c.Args[0])
	flagArg := -1
	switch c.Nr {
	case unix.SYS_SENDTO:
		flagArg = 3
	case unix.SYS_SENDMSG:
		flagArg = 2
	}
	if flagArg >= 0 && c.Args[flagArg]&unix.MSG_DONTWAIT != 0 {
		return true // non-blocking by the guest's choice: runs as is
	}
	fi, ok := s.inspectFD(g.pid, fd)
	if !ok || fi.nonblock {
		return ok
	}
	if !fi.mayBlockOnGuest() {
		return false
	}
	bufs, iov, ok := s.callBuffers(g, c)
	if !ok {
		return false
	}
	total := sumLen(bufs)
	if total == 0 {
		return false
	}
	if fi.mode == unix.S_IFIFO && total <= pipeBufFast {
		if ready, ok := s.fdReady(g.pid, fd, unix.POLLOUT); ok && ready {
			// Runs as is, if the pipe still has room when it runs.
			g.fd, g.events, g.recheck = fd, unix.POLLOUT, true
			return true
		}
	}
	x := s.newTransfer(g, c, xfBytes, fd, unix.POLLOUT)
	x.bufs, x.iov, x.total = bufs, iov, total
	if flagArg >= 0 {
		c.Args[flagArg] |= unix.MSG_DONTWAIT
	} else {
		x.toggle = true
	}
	x.first(c, total)
	return true
}

// beginRecvAll models recvfrom and recvmsg with MSG_WAITALL on a blocking
// stream socket: they wait until the whole buffer is filled, EOF or an
// error. It reports false if the call is not one.
func (s *Scheduler) beginRecvAll(g *gthread, c *intercept.Syscall) bool {
	flagArg := 3
	if c.Nr == unix.SYS_RECVMSG {
		flagArg = 2
	}
	fl := c.Args[flagArg]
	if fl&unix.MSG_WAITALL == 0 || fl&(unix.MSG_DONTWAIT|unix.MSG_PEEK) != 0 {
		return false
	}
	fd := int(c.Args[0])
	fi, ok := s.inspectFD(g.pid, fd)
	if !ok || fi.nonblock || fi.mode != unix.S_IFSOCK {
		return false
	}
	if typ, ok := s.sockOpt(g.pid, fd, unix.SO_TYPE); !ok || typ != unix.SOCK_STREAM {
		return false
	}
	bufs, _, ok := s.callBuffers(g, c)
	if !ok || sumLen(bufs) == 0 {
		return false
	}
	x := s.newTransfer(g, c, xfBytes, fd, unix.POLLIN)
	x.bufs, x.total = bufs, sumLen(bufs)
	c.Args[flagArg] |= unix.MSG_DONTWAIT
	x.first(c, x.total)
	return true
}

// beginMmsg models sendmmsg and recvmmsg on a blocking socket: all vlen
// messages are sent or received (recvmmsg: at least one with
// MSG_WAITFORONE), the timeout of recvmmsg checked after each piece.
func (s *Scheduler) beginMmsg(g *gthread, c *intercept.Syscall) bool {
	if c.Args[3]&unix.MSG_DONTWAIT != 0 || c.Args[2] == 0 {
		return false
	}
	fd := int(c.Args[0])
	fi, ok := s.inspectFD(g.pid, fd)
	if !ok || fi.nonblock || fi.mode != unix.S_IFSOCK {
		return false
	}
	events := int16(unix.POLLOUT)
	if c.Nr == unix.SYS_RECVMMSG {
		events = unix.POLLIN
	}
	deadline := int64(-1)
	if c.Nr == unix.SYS_RECVMMSG && c.Args[4] != 0 {
		d, err := readTimespec(g.t.Memory(), c.Args[4])
		if err != nil {
			return false
		}
		deadline = s.now + d
	}
	x := s.newTransfer(g, c, xfMsgs, fd, events)
	x.total = int64(uint32(c.Args[2]))
	x.once = c.Nr == unix.SYS_RECVMMSG && c.Args[3]&unix.MSG_WAITFORONE != 0
	c.Args[3] |= unix.MSG_DONTWAIT
	c.Args[4] = 0 // its timeout is checked here, after each piece
	x.first(c, x.total)
	x.after = deadline
	return true
}

// beginSendfile models sendfile to a blocking socket: the whole count is
// sent unless the input ends or an error comes first. Into a pipe the
// kernel moves what fits once there is room (splice_file_to_pipe), at
// most the pipe's capacity: one piece, retried while the pipe is full.
func (s *Scheduler) beginSendfile(g *gthread, c *intercept.Syscall) bool {
	out := int(c.Args[0])
	fi, ok := s.inspectFD(g.pid, out)
	if !ok || fi.nonblock || !fi.mayBlockOnGuest() || c.Args[3] == 0 {
		return false
	}
	if fi.mode == unix.S_IFIFO {
		x := s.newTransfer(g, c, xfOnce, out, unix.POLLOUT)
		x.toggle = true
		x.first(c, 0)
		return true
	}
	x := s.newTransfer(g, c, xfBytes, out, unix.POLLOUT)
	x.total = int64(c.Args[3])
	x.toggle = true
	x.first(c, x.total)
	return true
}

// beginSplice models splice and tee without SPLICE_F_NONBLOCK: a piece
// that would block waits for its input pipe to have data, or its output
// pipe room.
func (s *Scheduler) beginSplice(g *gthread, c *intercept.Syscall) bool {
	flagArg := 5
	if c.Nr == unix.SYS_TEE {
		flagArg = 3
	}
	if c.Args[flagArg]&unix.SPLICE_F_NONBLOCK != 0 {
		return false
	}
	out := int(c.Args[2])
	if c.Nr == unix.SYS_TEE {
		out = int(c.Args[1])
	}
	for _, fd := range []int{int(c.Args[0]), out} {
		// Linux splices non-blocking if either end is O_NONBLOCK.
		if fi, ok := s.inspectFD(g.pid, fd); !ok || fi.nonblock {
			return false
		}
	}
	x := s.newTransfer(g, c, xfOnce, int(c.Args[0]), unix.POLLIN)
	c.Args[flagArg] |= unix.SPLICE_F_NONBLOCK
	x.first(c, 0)
	return true
}

// beginConnect models connect on a blocking unix socket: with the
// listener's backlog full it would wait for an accept.
func (s *Scheduler) beginConnect(g *gthread, c *intercept.Syscall) bool {
	fd := int(c.Args[0])
	fi, ok := s.inspectFD(g.pid, fd)
	if !ok || fi.nonblock || fi.mode != unix.S_IFSOCK {
		return false
	}
	if dom, ok := s.sockOpt(g.pid, fd, unix.SO_DOMAIN); !ok || dom != unix.AF_UNIX {
		return false // TCP connects on loopback complete in the kernel
	}
	x := s.newTransfer(g, c, xfOnce, fd, 0)
	x.toggle = true
	x.first(c, 0)
	return true
}

// beginLock models flock and fcntl(F_SETLKW, F_OFD_SETLKW): the lock is
// tried without waiting, and tried again once another thread has run.
func (s *Scheduler) beginLock(g *gthread, c *intercept.Syscall) bool {
	switch c.Nr {
	case unix.SYS_FLOCK:
		op := c.Args[1]
		if op&unix.LOCK_NB != 0 || op&(unix.LOCK_SH|unix.LOCK_EX) == 0 {
			return false
		}
		x := s.newTransfer(g, c, xfOnce, int(c.Args[0]), 0)
		c.Args[1] |= unix.LOCK_NB
		x.first(c, 0)
	case unix.SYS_FCNTL:
		var try uint64
		switch c.Args[1] {
		case unix.F_SETLKW:
			try = unix.F_SETLK
		case unix.F_OFD_SETLKW:
			try = unix.F_OFD_SETLK
		default:
			return false
		}
		x := s.newTransfer(g, c, xfOnce, int(c.Args[0]), 0)
		x.wouldBlock = [2]unix.Errno{unix.EAGAIN, unix.EACCES}
		c.Args[1] = try
		x.first(c, 0)
	default:
		return false
	}
	return true
}

// beginSysV models msgsnd, msgrcv, semop and semtimedop without
// IPC_NOWAIT: tried without waiting, again once another thread has run.
func (s *Scheduler) beginSysV(g *gthread, c *intercept.Syscall) bool {
	switch c.Nr {
	case unix.SYS_MSGSND, unix.SYS_MSGRCV:
		flagArg := 3
		if c.Nr == unix.SYS_MSGRCV {
			flagArg = 4
		}
		if c.Args[flagArg]&unix.IPC_NOWAIT != 0 {
			return false
		}
		x := s.newTransfer(g, c, xfOnce, -1, 0)
		if c.Nr == unix.SYS_MSGRCV {
			x.wouldBlock = [2]unix.Errno{unix.ENOMSG, unix.ENOMSG}
		}
		c.Args[flagArg] |= unix.IPC_NOWAIT
		x.first(c, 0)
	case unix.SYS_SEMOP, unix.SYS_SEMTIMEDOP:
		return s.beginSemop(g, c)
	default:
		return false
	}
	return true
}

// maxSemops bounds the sembuf arrays copied below the guest's stack
// pointer with IPC_NOWAIT set (6 bytes each).
const maxSemops = 32

func (s *Scheduler) beginSemop(g *gthread, c *intercept.Syscall) bool {
	n := c.Args[2]
	if n == 0 || n > maxSemops {
		return false
	}
	ops := make([]byte, 6*n)
	if _, err := g.t.Memory().ReadAt(ops, int64(c.Args[1])); err != nil {
		return false
	}
	for i := uint64(0); i < n; i++ {
		fl := binary.LittleEndian.Uint16(ops[6*i+4:])
		if fl&unix.IPC_NOWAIT != 0 {
			return false // the guest's own non-blocking ops: as is
		}
		binary.LittleEndian.PutUint16(ops[6*i+4:], fl|unix.IPC_NOWAIT)
	}
	deadline := int64(-1)
	if c.Nr == unix.SYS_SEMTIMEDOP && c.Args[3] != 0 {
		d, err := readTimespec(g.t.Memory(), c.Args[3])
		if err != nil {
			return false
		}
		deadline = s.now + d
	}
	x := s.newTransfer(g, c, xfOnce, -1, 0)
	x.scratch = ops
	x.deadline, x.onTimeout = deadline, intercept.Errno(unix.EAGAIN)
	c.Args[1] = scratchBelow(c.SP, len(ops))
	if c.Nr == unix.SYS_SEMTIMEDOP {
		c.Args[3] = 0
	}
	x.first(c, 0)
	return true
}

// beginMq models mq_timedsend and mq_timedreceive on a blocking queue:
// they wait for room or a message, until their absolute CLOCK_REALTIME
// deadline (ETIMEDOUT).
func (s *Scheduler) beginMq(g *gthread, c *intercept.Syscall) bool {
	fd := int(c.Args[0])
	fi, ok := s.inspectFD(g.pid, fd)
	if !ok || fi.nonblock {
		return false
	}
	events := int16(unix.POLLOUT)
	if c.Nr == unix.SYS_MQ_TIMEDRECEIVE {
		events = unix.POLLIN
	}
	deadline := int64(-1)
	if c.Args[4] != 0 {
		d, err := readTimespec(g.t.Memory(), c.Args[4])
		if err != nil {
			return false
		}
		deadline = d - s.realBase + monoBase
	}
	x := s.newTransfer(g, c, xfOnce, fd, events)
	x.toggle = true
	x.deadline, x.onTimeout = deadline, intercept.Errno(unix.ETIMEDOUT)
	x.first(c, 0)
	return true
}

// scratchBelow is an address below the guest's stack pointer and its
// red zone for n bytes the tracer writes for one call.
func scratchBelow(sp uint64, n int) uint64 {
	return (sp - 128 - 64 - uint64(n)) &^ 15
}

// callBuffers reads the guest buffers of a write, send or receive call:
// one for write, sendto and recvfrom, the iovecs of writev, sendmsg and
// recvmsg (iov is the iovec array's address for writev).
func (s *Scheduler) callBuffers(g *gthread, c *intercept.Syscall) (bufs []iovec, iov uint64, ok bool) {
	mem := g.t.Memory()
	var cnt uint64
	switch c.Nr {
	case unix.SYS_WRITE, unix.SYS_SENDTO, unix.SYS_RECVFROM:
		return []iovec{{c.Args[1], c.Args[2]}}, 0, true
	case unix.SYS_WRITEV:
		iov, cnt = c.Args[1], c.Args[2]
	case unix.SYS_SENDMSG, unix.SYS_RECVMSG:
		var mh [32]byte // msg_name, msg_namelen, msg_iov, msg_iovlen
		if _, err := mem.ReadAt(mh[:], int64(c.Args[1])); err != nil {
			return nil, 0, false
		}
		iov, cnt = binary.LittleEndian.Uint64(mh[16:]), binary.LittleEndian.Uint64(mh[24:])
	default:
		return nil, 0, false
	}
	if cnt == 0 || cnt > uioMaxIOV {
		return nil, 0, false
	}
	raw := make([]byte, 16*cnt)
	if _, err := mem.ReadAt(raw, int64(iov)); err != nil {
		return nil, 0, false
	}
	bufs = make([]iovec, cnt)
	for i := range bufs {
		bufs[i] = iovec{binary.LittleEndian.Uint64(raw[16*i:]), binary.LittleEndian.Uint64(raw[16*i+8:])}
		if int64(bufs[i].len) < 0 {
			return nil, 0, false
		}
	}
	return bufs, iov, true
}

func sumLen(bufs []iovec) int64 {
	var n int64
	for _, b := range bufs {
		n += int64(b.len)
	}
	return n
}

// locate finds the byte at offset done of bufs: buffer i, offset o.
func locate(bufs []iovec, done int64) (i int, o uint64) {
	for i = range bufs {
		if uint64(done) < bufs[i].len {
			return i, uint64(done)
		}
		done -= int64(bufs[i].len)
	}
	return len(bufs), 0
}

// nextPiece sets the piece that moves what remains of a byte or message
// transfer.
func (x *transfer) nextPiece() {
	a := x.args
	rest := x.total - x.done
	switch x.kind {
	case xfMsgs:
		a[1] += 64 * uint64(x.done) // sizeof(struct mmsghdr)
		a[2] = uint64(rest)
		x.setPiece(x.nr, a, rest)
		return
	case xfOnce:
		return
	}
	i, o := locate(x.bufs, x.done)
	switch x.guest {
	case unix.SYS_SENDFILE:
		a[3] = uint64(rest)
		x.setPiece(unix.SYS_SENDFILE, a, rest)
	case unix.SYS_WRITE, unix.SYS_SENDTO, unix.SYS_RECVFROM:
		a[1] += uint64(x.done)
		a[2] = uint64(rest)
		x.setPiece(x.guest, a, rest)
	case unix.SYS_WRITEV:
		if o == 0 {
			a[1] = x.iov + 16*uint64(i)
			a[2] = uint64(len(x.bufs) - i)
			x.setPiece(unix.SYS_WRITEV, a, rest)
			return
		}
		b := x.bufs[i]
		x.setPiece(unix.SYS_WRITE, [6]uint64{a[0], b.base + o, b.len - o}, int64(b.len-o))
	case unix.SYS_SENDMSG, unix.SYS_RECVMSG:
		// One buffer at a time: the first piece sent the name and the
		// control data, if any.
		nr := unix.SYS_SENDTO
		if x.guest == unix.SYS_RECVMSG {
			nr = unix.SYS_RECVFROM
		}
		b := x.bufs[i]
		x.setPiece(nr, [6]uint64{a[0], b.base + o, b.len - o, a[2] | unix.MSG_DONTWAIT}, int64(b.len-o))
	}
}

// startPiece sets up the current piece of g's transfer just before it
// runs: O_NONBLOCK on the description, the scratch data in memory.
func (s *Scheduler) startPiece(g *gthread) {
	x := g.io
	x.armed = false
	x.running = true
	if x.scratch != nil {
		if _, err := g.t.Memory().WriteAt(x.scratch, int64(x.pargs[1])); err != nil {
			x.scratch = nil
		}
	}
	if !x.toggle || x.dup >= 0 {
		return
	}
	dup, ok := s.dupFD(g.pid, x.fd)
	if !ok {
		return
	}
	fl, err := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK != 0 {
		unix.Close(dup)
		return
	}
	if _, err := unix.FcntlInt(uintptr(dup), unix.F_SETFL, fl|unix.O_NONBLOCK); err != nil {
		unix.Close(dup)
		return
	}
	x.dup, x.flags = dup, fl
}

// endPiece undoes startPiece at the piece's exit.
func (s *Scheduler) endPiece(x *transfer) {
	if x.dup >= 0 {
		unix.FcntlInt(uintptr(x.dup), unix.F_SETFL, x.flags)
		unix.Close(x.dup)
		x.dup = -1
	}
}

// dropTransfer abandons g's transfer (g died).
func (s *Scheduler) dropTransfer(g *gthread) {
	if g.io != nil {
		s.endPiece(g.io)
		g.io = nil
	}
	g.ioAside, g.fifo = nil, nil
}

// reissuePiece re-issues g's current piece (g is held at the exit of the
// previous one) and sets it up to run.
func (s *Scheduler) reissuePiece(g *gthread) error {
	x := g.io
	if err := g.t.RestartWith(x.nr, x.pargs); err != nil {
		return err
	}
	x.armed = true
	return nil
}

// pieceEntry recognizes the entry of g's re-issued piece; it starts it
// without a scheduling point (the pick that woke g was one). Another
// call in between (a signal handler's) sets the transfer aside until the
// piece comes.
func (s *Scheduler) pieceEntry(g *gthread, c *intercept.Syscall) bool {
	x := g.io
	if x == nil {
		x = g.ioAside
	}
	if x == nil || !x.armed {
		return false
	}
	if c.Nr != x.nr || c.Args != x.pargs || c.IP != x.ip || c.Arch != syscalls.X86_64 {
		if g.io != nil {
			g.ioAside, g.io = g.io, nil
		}
		return false
	}
	g.io, g.ioAside = x, nil
	s.startPiece(g)
	return true
}

// pieceExit handles the exit of a piece of g's transfer: it returns the
// guest's result when the transfer is done, or holds g until it can go
// on.
func (s *Scheduler) pieceExit(g *gthread, ret int64) int64 {
	x := g.io
	x.running = false
	s.endPiece(x)
	blocked := ret == intercept.Errno(x.wouldBlock[0]) || ret == intercept.Errno(x.wouldBlock[1])
	finish := func(r int64) int64 {
		g.io = nil
		return r
	}
	if x.kind == xfOnce {
		switch {
		case !blocked:
			return finish(ret)
		case x.expired:
			return finish(x.onTimeout)
		}
		s.waitPiece(g)
		return ret
	}
	switch {
	case blocked && x.expired:
		if x.done > 0 {
			return finish(x.done)
		}
		return finish(x.onTimeout)
	case blocked:
		s.waitPiece(g)
		return ret
	case ret < 0:
		if x.done > 0 {
			return finish(x.done)
		}
		return finish(ret)
	case ret == 0:
		return finish(x.done) // end of file, or nothing to do
	}
	x.done += ret
	if x.done >= x.total || x.once || (x.after >= 0 && s.now >= x.after) {
		return finish(x.done)
	}
	partial := ret < x.plen
	x.nextPiece()
	if partial {
		s.waitPiece(g)
		return ret
	}
	// The piece moved all it asked for and more remains (one buffer of
	// a sendmsg): go on at once.
	if err := g.t.RestartWith(x.nr, x.pargs); err != nil {
		s.end(Internal, "restart piece: "+err.Error())
		return ret
	}
	x.armed = true
	return ret
}

// waitPiece holds g at its piece's exit until the piece may go on: its fd
// is ready, or another thread has run, or its deadline passes.
func (s *Scheduler) waitPiece(g *gthread) {
	x := g.io
	x.ip = g.t.Syscall().IP
	if x.guest == unix.SYS_SPLICE || x.guest == unix.SYS_TEE {
		// Wait for whichever pipe stops it: input empty, or output full.
		in, out := int(x.args[0]), int(x.args[2])
		if x.guest == unix.SYS_TEE {
			out = int(x.args[1])
		}
		x.fd, x.events = in, unix.POLLIN
		if ready, ok := s.fdReady(g.pid, in, unix.POLLIN); ok && ready {
			x.fd, x.events = out, unix.POLLOUT
		}
	}
	s.setPoint(g, PointSyscall, g.pname, 0)
	if x.events == 0 || x.fd < 0 {
		s.holdAtExit(g, blkRetry)
	} else {
		s.holdAtExit(g, blkFD)
		g.fd, g.events = x.fd, x.events
	}
	if x.deadline >= 0 {
		s.addTimer(g, x.deadline)
	}
	s.schedule(g)
}

// uioMaxIOV is the kernel's limit on an iovec array (UIO_MAXIOV).
const uioMaxIOV = 1024
