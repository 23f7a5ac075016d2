package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// world is a set of namespaces runs take turns in: a mount namespace laid
// out by the pool's plan, a pid namespace with its init, and a UTS
// namespace. Making one costs ~0.5 ms and tearing one down as much again
// (mostly the kernel waiting for RCU grace periods as mounts go away), a
// run's whole fixed cost, so a world is reset between runs instead: its
// pid counter, host name and whatever private directory or copy-on-write
// layer the last run touched (see Run.Enter). A world whose mount table
// a run changed, or where a process outlived its run, is thrown away.
//
// A world belongs to a holder: a goroutine locked to a thread of its own
// for the world's life, since the init dies with the thread that started
// it (PR_SET_PDEATHSIG: when schedfuzz dies, the init dies, and the kernel
// kills every process of its pid namespace).
type world struct {
	mnt, uts, pid int // namespace fds
	init          *initProc
	mountinfo     int // the init's mountinfo, polled for changes
	dirs          []*freshDir
	resetSeq      uint32 // the init's reset counter when a reset was requested
	resetPending  bool
	stop          chan struct{}
	stopped       chan struct{}
}

// freshDir is a mount a run must find as it was made: a private tmpfs, or
// the tmpfs holding a copy-on-write view's upper layer.
type freshDir struct {
	path    string
	overlay bool // a copy-on-write view of path
	root    int  // the tmpfs's root (a view: its upper layer; -1 if none)
	made    bool // mounted
	stamp   stamp
}

// newWorld makes a world on a new holder thread.
func (p *Pool) newWorld() (*world, error) {
	w := &world{mnt: -1, uts: -1, pid: -1, mountinfo: -1, stop: make(chan struct{}), stopped: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the world
		defer close(w.stopped)
		err := w.build(p)
		ready <- err
		if err != nil {
			w.release()
			return
		}
		<-w.stop
		w.release()
	}()
	if err := <-ready; err != nil {
		<-w.stopped
		return nil, err
	}
	return w, nil
}

// close ends the world: its init is killed (with anything left in its pid
// namespace) and its holder thread ends.
func (w *world) close() {
	close(w.stop)
	<-w.stopped
}

func (w *world) release() {
	w.init.kill()
	for _, fd := range []int{w.mnt, w.uts, w.pid, w.mountinfo} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	for _, d := range w.dirs {
		d.close()
	}
}

// build runs on the holder thread.
func (w *world) build(p *Pool) error {
	if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWPID); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if err := unix.Sethostname([]byte(Hostname)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := w.layout(p); err != nil {
		return err
	}
	var err error
	if w.init, err = startInit(true); err != nil {
		return err
	}
	for _, path := range p.cpuPaths {
		if strings.HasPrefix(path, "/proc/") {
			if err := p.bindCPUFile(path); err != nil {
				return err
			}
		}
	}
	// The new /proc shows the new pid namespace, where the init is 1.
	for _, ns := range []struct {
		fd   *int
		name string
	}{{&w.mnt, "/proc/1/ns/mnt"}, {&w.uts, "/proc/1/ns/uts"}, {&w.pid, "/proc/1/ns/pid"}, {&w.mountinfo, "/proc/1/mountinfo"}} {
		if *ns.fd, err = unix.Open(ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("open %s: %w", ns.name, err)
		}
	}
	w.ackMounts()
	return nil
}

// layout mounts the world's file system: fresh private directories, the
// copy-on-write views, what must stay visible as it is inside a private
// directory (the program lying directly in /tmp, a view that cannot be
// copy-on-write), and the sysfs CPU files.
func (w *world) layout(p *Pool) error {
	// Binds are made from host paths before the private directories
	// cover them.
	binds := map[string]int{}
	defer func() {
		for _, fd := range binds {
			unix.Close(fd)
		}
	}()
	for _, b := range p.binds() {
		clone := func() (int, error) { return cloneTreeRec(unix.AT_FDCWD, b) }
		if b == p.progBind {
			clone = func() (int, error) { return cloneTree(unix.AT_FDCWD, b, true) }
		}
		fd, err := clone()
		if err != nil {
			return err
		}
		binds[b] = fd
	}
	for _, d := range privateDirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			w.dirs = append(w.dirs, &freshDir{path: d, root: -1})
		}
	}
	for _, v := range p.views {
		if v.cow {
			w.dirs = append(w.dirs, &freshDir{path: v.dir, overlay: true, root: -1})
		}
	}
	if err := w.remake(p, true); err != nil {
		return err
	}
	for path, fd := range binds {
		if err := mountPoint(path, path == p.progBind); err != nil {
			return fmt.Errorf("mount point %s: %w", path, err)
		}
		delete(binds, path)
		if err := attach(fd, path); err != nil {
			return err
		}
	}
	if err := w.stamp(nil); err != nil { // the binds' mount points are in place
		return err
	}
	for _, path := range p.cpuPaths {
		if strings.HasPrefix(path, "/sys/") {
			if err := p.bindCPUFile(path); err != nil {
				return err
			}
		}
	}
	return nil
}

// errStale is remake's answer when a touched private directory holds a
// bind of a host path, which only a new world can make again (a host path
// is reachable only before the private directory covers it, and a kernel
// refuses to copy a detached mount).
var errStale = errors.New("the world must be made anew")

// remake mounts afresh the private directories and views marked stale
// (all of them if all), with the views that lie under a remade private
// directory. The calling thread is in the world's mount namespace; a
// view's host directory is reached through the pool's detached copy,
// whatever covers its path here.
func (w *world) remake(p *Pool, all bool) error {
	stale := make([]bool, len(w.dirs))
	for i, d := range w.dirs {
		stale[i] = all || d.touched()
	}
	for i, d := range w.dirs {
		if d.overlay || !stale[i] {
			continue
		}
		if !all {
			for _, b := range p.binds() {
				if within(b, d.path) {
					return errStale
				}
			}
		}
		// A new tmpfs also numbers its inodes from the start again,
		// which emptying the old one would not.
		if d.made {
			if err := unix.Unmount(d.path, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", d.path, err)
			}
			d.close()
		}
		if err := unix.Mount("tmpfs", d.path, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
			return fmt.Errorf("mount tmpfs on %s: %w", d.path, err)
		}
		for j, v := range w.dirs {
			if v.overlay && within(v.path, d.path) {
				stale[j] = true
				v.close() // went with the old tmpfs
			}
		}
	}
	for i, v := range w.dirs {
		if !v.overlay || !stale[i] {
			continue
		}
		if v.made {
			if err := unix.Unmount(v.path, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", v.path, err)
			}
			v.close()
		}
		view, upper, err := p.viewOf(v.path).mount()
		if err != nil {
			return err
		}
		if underPrivate(v.path) != "" {
			if err := mountPoint(v.path, false); err != nil {
				unix.Close(view)
				unix.Close(upper)
				return fmt.Errorf("mount point %s: %w", v.path, err)
			}
		}
		if err := attach(view, v.path); err != nil {
			unix.Close(upper)
			return err
		}
		v.root, v.made = upper, true
	}
	// Stamp what was remade once everything in it is in place (mount
	// points included; binds are stamped by layout).
	return w.stamp(stale)
}

// stamp records the state of the mounts marked (all if marks is nil).
func (w *world) stamp(marks []bool) error {
	for i, d := range w.dirs {
		if marks != nil && !marks[i] {
			continue
		}
		if !d.overlay && d.root < 0 {
			fd, err := unix.Open(d.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("open %s: %w", d.path, err)
			}
			d.root, d.made = fd, true
		}
		if d.root >= 0 {
			var err error
			if d.stamp, err = dirStamp(d.root); err != nil {
				return fmt.Errorf("stat %s: %w", d.path, err)
			}
		}
	}
	return nil
}

// touched reports whether a run changed anything in the directory (a
// view shown as it is never counts as touched).
func (d *freshDir) touched() bool {
	if !d.made {
		return true
	}
	if d.root < 0 {
		return false
	}
	st, err := dirStamp(d.root)
	return err != nil || st != d.stamp
}

func (d *freshDir) close() {
	if d.root >= 0 {
		unix.Close(d.root)
	}
	d.root, d.made = -1, false
}

// mount makes a detached copy-on-write view: an overlay of the host
// directory whose upper layer is a fresh tmpfs. upper is an fd of the
// upper layer's directory.
func (v *view) mount() (m, upper int, err error) {
	up, err := newTmpfs("mode=0755")
	if err != nil {
		return -1, -1, err
	}
	defer unix.Close(up)
	var dirs [2]int
	for i, d := range []string{"u", "w"} {
		if err := unix.Mkdirat(up, d, 0o755); err != nil {
			return -1, -1, fmt.Errorf("overlay layer: %w", err)
		}
		if dirs[i], err = unix.Openat(up, d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return -1, -1, fmt.Errorf("overlay layer: %w", err)
		}
	}
	defer unix.Close(dirs[1])
	m, err = newOverlay(v.host, dirs[0], dirs[1])
	if err != nil {
		unix.Close(dirs[0])
		return -1, -1, fmt.Errorf("%w of %s: %v", errOverlay, v.dir, err)
	}
	upper = dirs[0]
	return m, upper, nil
}

// stamp is what shows that a tmpfs directory was touched: its change
// time, which any entry created or removed in it changes (and so
// anything made anywhere in an empty tmpfs; the kernel gives a change
// after a stat a fine-grained time), and its size, which a tmpfs counts
// in entries.
type stamp struct {
	ctime unix.Timespec
	size  int64
}

func dirStamp(fd int) (stamp, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return stamp{}, err
	}
	return stamp{st.Ctim, st.Size}, nil
}

// refresh gives the calling thread, which is in the world's mount
// namespace, fresh copies of the mounts the last run touched: an
// untouched one costs an fstat.
func (w *world) refresh(p *Pool) error { return w.remake(p, false) }

// ackMounts consumes the pending change notification of the world's
// mount table (ours, after a refresh).
func (w *world) ackMounts() { w.mountsChanged() }

// mountsChanged reports whether the world's mount table changed since the
// last call (mountinfo polls POLLPRI after a change).
func (w *world) mountsChanged() bool {
	fds := []unix.PollFd{{Fd: int32(w.mountinfo), Events: unix.POLLPRI}}
	n, err := unix.Poll(fds, 0)
	return err != nil || n > 0 && fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0
}

// worldPool is the free list of worlds.
type worldPool struct {
	mu   sync.Mutex
	free []*world
}

func (wp *worldPool) get() *world {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	if n := len(wp.free); n > 0 {
		w := wp.free[n-1]
		wp.free = wp.free[:n-1]
		return w
	}
	return nil
}

func (wp *worldPool) put(w *world) {
	wp.mu.Lock()
	wp.free = append(wp.free, w)
	wp.mu.Unlock()
}

func (wp *worldPool) close() {
	wp.mu.Lock()
	free := wp.free
	wp.free = nil
	wp.mu.Unlock()
	for _, w := range free {
		w.close()
	}
}
