package sandbox

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// initBlock is what cloneInit's child reads and reports through; it sits
// at the bottom of the mapping that holds the child's stack.
type initBlock struct {
	done        uint32 // set to 1 when status is valid (futex word)
	status      int32  // 0, or -errno of the proc mount
	mountProc   uint32
	resetSeq    uint32 // incremented after each reset request (futex word)
	resetStatus int32  // 1: the next pid is 2; 2: a process is alive; <0: -errno
	_           uint32
	allMask     uint64
	oldMask     uint64
	procSrc     [8]byte
	procDst     [8]byte
	procType    [8]byte
	one         [8]byte
	lastPidPath [32]byte
	// parent is a struct pollfd on a pidfd of the thread that clones
	// the init (fd -1: none): the init polls it once its
	// PR_SET_PDEATHSIG is set, and exits if that thread has already
	// died (killed between the clone and the prctl, it would have
	// sent no signal, and the init would outlive schedfuzz).
	parentFD      int32
	parentEvents  int16
	parentRevents int16
}

// pidfdThread is PIDFD_THREAD (Linux 6.9): a pidfd of one thread, readable
// when that thread exits.
const pidfdThread = unix.O_EXCL

// cloneInit starts the init process (see init_amd64.s); it returns its
// pid or a negative errno.
//
//go:noescape
func cloneInit(flags uintptr, blk *initBlock, stack uintptr) uintptr

// initStackSize is the size of the mapping holding an init's initBlock
// and its stack (it uses a few words).
const initStackSize = 16 << 10

// initProc is a running pid-namespace init.
type initProc struct {
	pid int
	mem []byte // its stack and block: unmapped once it is reaped
	blk *initBlock
}

// startInit starts, from the calling (locked) thread, the first process of
// the thread's new pid namespace: pid 1, which the kernel makes the
// reaper of the namespace's orphans and whose death kills every process
// in it. It shares our memory and file table (CLONE_VM|CLONE_FILES: no
// copy of the page tables, no copies of our fds), runs only the raw
// system calls of init_amd64.s on a stack of its own, and dies with this
// thread (PR_SET_PDEATHSIG, and a check of a pidfd of the thread once that
// is set, for a thread killed before). It mounts a procfs of the new namespace on
// /proc if mountProc, then reaps orphans, and on request (resetPids)
// makes 2 the next pid. Guests are forked after it, so they are never an
// init with init's signal semantics.
func startInit(mountProc bool) (*initProc, error) {
	// A kernel without PIDFD_THREAD leaves the window open (fd -1).
	parent := -1
	if fd, err := unix.PidfdOpen(unix.Gettid(), pidfdThread); err == nil {
		parent = fd
		defer unix.Close(fd) // the init has polled it once done is set, or is dead
	}
	return startInitFor(mountProc, parent)
}

// startInitFor is startInit with the pidfd of the thread whose death must
// kill the init (-1: none checked).
func startInitFor(mountProc bool, parent int) (*initProc, error) {
	mem, err := unix.Mmap(-1, 0, initStackSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("init stack: %w", err)
	}
	blk := (*initBlock)(unsafe.Pointer(&mem[0]))
	blk.allMask = ^uint64(0)
	copy(blk.procSrc[:], "proc\x00")
	copy(blk.procDst[:], "/proc\x00")
	copy(blk.procType[:], "proc\x00")
	copy(blk.one[:], "1\x00")
	copy(blk.lastPidPath[:], "/proc/sys/kernel/ns_last_pid\x00")
	if mountProc {
		blk.mountProc = 1
	}
	blk.parentFD, blk.parentEvents = int32(parent), unix.POLLIN
	top := uintptr(unsafe.Pointer(&mem[0])) + initStackSize
	r := cloneInit(unix.CLONE_VM|unix.CLONE_FILES|uintptr(unix.SIGCHLD), blk, top)
	if e := int64(r); e < 0 {
		unix.Munmap(mem)
		return nil, fmt.Errorf("clone: %w", unix.Errno(-e))
	}
	p := &initProc{pid: int(r), mem: mem, blk: blk}
	if err := futexWait(&blk.done, 0, initTimeout); err != nil {
		p.kill()
		return nil, fmt.Errorf("wait for init: %w", err)
	}
	if st := atomic.LoadInt32(&blk.status); st == -int32(unix.ESRCH) {
		p.kill()
		return nil, errors.New("init: the thread that started it has exited")
	} else if st < 0 {
		p.kill()
		return nil, fmt.Errorf("mount /proc: %w", unix.Errno(-st))
	}
	return p, nil
}

// initTimeout bounds how long we wait for an init to answer: it answers
// in microseconds, unless something is badly wrong (then the world is
// thrown away, not waited for forever).
const initTimeout = 10 * time.Second

// futexWait waits until *addr != old, at most about limit.
func futexWait(addr *uint32, old uint32, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for atomic.LoadUint32(addr) == old {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("no answer in %v", limit)
		}
		ts := unix.NsecToTimespec(int64(left))
		_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), 128 /* FUTEX_WAIT_PRIVATE */, uintptr(old), uintptr(unsafe.Pointer(&ts)), 0, 0)
		if e != 0 && e != unix.EAGAIN && e != unix.EINTR && e != unix.ETIMEDOUT {
			return e
		}
	}
	return nil
}

// requestReset asks the init to reap what is dead and make 2 the next
// pid of its namespace; it returns the value to pass to awaitReset.
func (p *initProc) requestReset() (uint32, error) {
	seq := atomic.LoadUint32(&p.blk.resetSeq)
	if err := unix.Kill(p.pid, unix.SIGUSR1); err != nil {
		return seq, fmt.Errorf("signal init: %w", err)
	}
	return seq, nil
}

// awaitReset waits for the reset requested when the counter was seq.
func (p *initProc) awaitReset(seq uint32) error {
	if err := futexWait(&p.blk.resetSeq, seq, initTimeout); err != nil {
		return fmt.Errorf("wait for init: %w", err)
	}
	switch st := atomic.LoadInt32(&p.blk.resetStatus); {
	case st == 2:
		return fmt.Errorf("a process of an earlier run is still alive")
	case st < 0:
		return fmt.Errorf("reset pids: %w", unix.Errno(-st))
	}
	return nil
}

// kill kills the init (and with it every process left in its namespace)
// and reaps it. It must be called on the thread that started it, once
// every traced process of the namespace has been reaped by its tracer
// (the dying init waits for them).
func (p *initProc) kill() {
	if p == nil || p.mem == nil {
		return
	}
	unix.Kill(p.pid, unix.SIGKILL)
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(p.pid, &ws, unix.WALL|unix.WNOTHREAD, nil)
		if err != unix.EINTR {
			break // reaped (or, ECHILD, not ours to reap)
		}
	}
	unix.Munmap(p.mem)
	p.mem, p.blk = nil, nil
}
