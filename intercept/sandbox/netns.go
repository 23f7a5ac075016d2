package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// netPool keeps network namespaces for runs. Creating one costs ~0.3 ms
// here and destroying one more (in a kernel worker), so a namespace is
// reused by later runs as long as the run that had it left no socket
// behind (sockstat: nothing in use, no TIME_WAIT); one that is not clean
// is closed and a new one made. What a run could leave that sockstat does
// not show (a root guest's routes or firewall rules) is documented as not
// isolated.
type netPool struct {
	mu     sync.Mutex
	free   []int          // clean namespaces (fds of nsfs files)
	making chan netResult // a namespace being made ahead (prepare), nil if none
}

type netResult struct {
	fd  int
	err error
}

// prepare starts making a namespace on a thread of its own, for the next
// get: a session's first run then waits for whichever of its world and
// its network namespace takes longer, not for both in turn.
func (p *netPool) prepare() {
	ch := make(chan netResult, 1)
	p.mu.Lock()
	p.making = ch
	p.mu.Unlock()
	go func() {
		fd, err := newNetNS()
		ch <- netResult{fd, err}
	}()
}

// get returns a clean network namespace with only loopback, up: a free
// one, the one being made ahead, or a new one.
func (p *netPool) get() (int, error) {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		fd := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return fd, nil
	}
	if ch := p.making; ch != nil {
		p.making = nil
		p.mu.Unlock()
		r := <-ch
		return r.fd, r.err
	}
	p.mu.Unlock()
	return newNetNS()
}

// put takes back a namespace; the caller has checked it is clean.
func (p *netPool) put(fd int) {
	p.mu.Lock()
	p.free = append(p.free, fd)
	p.mu.Unlock()
}

func (p *netPool) close() {
	p.mu.Lock()
	for _, fd := range p.free {
		unix.Close(fd)
	}
	p.free = nil
	ch := p.making
	p.making = nil
	p.mu.Unlock()
	if ch != nil {
		if r := <-ch; r.err == nil {
			unix.Close(r.fd)
		}
	}
}

// newNetNS makes a network namespace with loopback up, on a thread of its
// own that returns to the process's namespace afterwards (or ends, if it
// cannot).
func newNetNS() (int, error) {
	ch := make(chan netResult, 1)
	go func() {
		runtime.LockOSThread()
		fd, clean, err := makeNetNS()
		if clean {
			runtime.UnlockOSThread()
		}
		ch <- netResult{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

// makeNetNS runs on a locked thread; clean reports whether the thread is
// back in its original network namespace.
func makeNetNS() (fd int, clean bool, err error) {
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, true, fmt.Errorf("network namespace: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return -1, true, fmt.Errorf("new network namespace: %w", err)
	}
	defer func() {
		clean = unix.Setns(orig, unix.CLONE_NEWNET) == nil
	}()
	if err := loopbackUp(); err != nil {
		return -1, false, err
	}
	fd, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, false, fmt.Errorf("network namespace: %w", err)
	}
	return fd, false, nil
}

// loopbackUp brings up "lo" in the calling thread's network namespace.
func loopbackUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring loopback up: %w", err)
	}
	return nil
}

// netClean reports whether the calling thread's network namespace holds no
// socket: every "inuse", "orphan" and "tw" count of sockstat and sockstat6
// is zero.
func netClean() bool {
	for _, f := range []string{"/proc/thread-self/net/sockstat", "/proc/thread-self/net/sockstat6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			return false
		}
		if !sockstatClean(b) {
			return false
		}
	}
	return true
}

// sockstatClean parses sockstat lines such as
// "TCP: inuse 0 orphan 0 tw 0 alloc 0 mem 0".
func sockstatClean(b []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		proto, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || proto == "sockets" {
			continue // "sockets: used N" counts every namespace
		}
		f := strings.Fields(rest)
		for i := 0; i+1 < len(f); i += 2 {
			switch f[i] {
			case "inuse", "orphan", "tw":
				if n, err := strconv.Atoi(f[i+1]); err != nil || n != 0 {
					return false
				}
			}
		}
	}
	return true
}
