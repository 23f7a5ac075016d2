package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Hostname is the host name every sandboxed run sees.
const Hostname = "schedfuzz"

// Config describes the world of a session's runs.
type Config struct {
	// Dir is the guest's working directory (default: ours). It is a
	// copy-on-write view of the host's: the guest reads what is there,
	// its writes stay in the run.
	Dir string
	// Prog is the guest's executable. One that lies in a private
	// directory (/tmp, /var/tmp, /dev/shm) outside Dir stays visible:
	// its directory, copy-on-write like Dir, or just the file, read-only,
	// if it lies directly in the private directory.
	Prog string
	// CPUs, if positive, is the CPU count the guest reads in sysfs,
	// /proc/cpuinfo and /proc/stat.
	CPUs int
	// HostNet keeps the host's network namespace (-net host).
	HostNet bool
}

// Pool is a session's sandbox: the plan of its runs' mounts, the files
// they share, and free lists of worlds and clean network namespaces. It
// is safe for concurrent use; each run gets its own Run.
type Pool struct {
	cfg      Config
	views    []view   // host directories the guest sees, parents first
	progBind string   // a file bound read-only ("" if none)
	hostMnt  int      // our mount namespace, to return to
	cpuFS    int      // detached read-only tmpfs with the CPU files (-1: none)
	cpuPaths []string // what they cover, sorted (sysfs first, then /proc)
	worlds   worldPool
	net      netPool
	userNS   bool
	notes    []string
}

// UnavailableError says why runs cannot be sandboxed on this machine.
type UnavailableError struct {
	Err error
}

func (e *UnavailableError) Error() string {
	return "namespaces unavailable: " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

var errOverlay = errors.New("copy-on-write view")

// New prepares a session's sandbox and tries it once (a run's whole setup
// on a thread of its own, without a guest; the world it makes serves the
// first run). It returns an *UnavailableError if the machine does not let
// this process use namespaces (unprivileged, without a user namespace of
// its own: see Reexec).
func New(cfg Config) (*Pool, error) {
	if cfg.Dir == "" {
		d, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("sandbox: working directory: %w", err)
		}
		cfg.Dir = d
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	cfg.Dir = filepath.Clean(dir)
	p := &Pool{cfg: cfg, cpuFS: -1, hostMnt: -1, userNS: inOwnUserNS}
	p.plan()
	if !cfg.HostNet {
		p.net.prepare() // made while the first world is
	}
	if err := p.open(); err != nil {
		p.Close()
		return nil, &UnavailableError{err}
	}
	err = p.try()
	if err != nil && errors.Is(err, errOverlay) {
		// Some file systems cannot be an overlay's lower layer: show
		// the directories as they are, and say so.
		p.notes = append(p.notes, fmt.Sprintf("%v: the guest writes to the host's directories directly", err))
		for i := range p.views {
			p.views[i].cow = false
		}
		p.worlds.close()
		err = p.try()
	}
	if err != nil {
		p.Close()
		return nil, &UnavailableError{err}
	}
	return p, nil
}

// open gets what every run uses: our mount namespace, the overlays'
// lower directories, the CPU files.
func (p *Pool) open() error {
	var err error
	if p.hostMnt, err = unix.Open("/proc/thread-self/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		return fmt.Errorf("mount namespace: %w", err)
	}
	for i := range p.views {
		// A detached copy of the host directory can be an overlay's
		// lower layer, or be bound, from any mount namespace.
		fd, err := cloneTree(unix.AT_FDCWD, p.views[i].dir, false)
		if err != nil {
			return err
		}
		p.views[i].host = fd
	}
	if p.cfg.CPUs > 0 {
		return p.makeCPUFiles()
	}
	return nil
}

// view is a host directory the guest sees at the same path: copy-on-write
// (an overlay whose upper layer is the run's), or as it is.
type view struct {
	dir  string
	host int // detached copy of the host directory
	cow  bool
}

// binds lists the host paths a world shows as they are inside a private
// directory: the program lying directly in one, and views that cannot be
// copy-on-write (elsewhere such a view needs no mount at all).
func (p *Pool) binds() []string {
	var b []string
	if p.progBind != "" {
		b = append(b, p.progBind)
	}
	for _, v := range p.views {
		if !v.cow && underPrivate(v.dir) != "" {
			b = append(b, v.dir)
		}
	}
	return b
}

// viewOf returns the view at dir.
func (p *Pool) viewOf(dir string) *view {
	for i := range p.views {
		if p.views[i].dir == dir {
			return &p.views[i]
		}
	}
	return nil
}

// Inside lists the directories whose changes stay in a run: the private
// directories and the copy-on-write views.
func (p *Pool) Inside() []string {
	var in []string
	for _, d := range privateDirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			in = append(in, d)
		}
	}
	for _, v := range p.views {
		if v.cow {
			in = append(in, v.dir)
		}
	}
	return in
}

// Notes says what of Config the pool could not do (once per pool).
func (p *Pool) Notes() []string { return p.notes }

// Dir is the guest's working directory.
func (p *Pool) Dir() string { return p.cfg.Dir }

// Close ends the pool's worlds and releases its namespaces and files.
// Runs must be over.
func (p *Pool) Close() {
	p.worlds.close()
	p.net.close()
	for i := range p.views {
		if p.views[i].host > 0 {
			unix.Close(p.views[i].host)
			p.views[i].host = -1
		}
	}
	if p.cpuFS >= 0 {
		unix.Close(p.cpuFS)
		p.cpuFS = -1
	}
	if p.hostMnt >= 0 {
		unix.Close(p.hostMnt)
		p.hostMnt = -1
	}
}

// plan decides which host directories a run sees copy-on-write: the
// working directory (unless it is / or holds other mounts, which an
// overlay would hide), and the program's directory if it lies in a
// private directory outside the working directory.
func (p *Pool) plan() {
	dir := p.cfg.Dir
	if sub, err := hasSubmounts(dir); dir == "/" || err != nil || sub {
		p.notes = append(p.notes, fmt.Sprintf("the working directory %s holds other mounts: it is not copy-on-write, the guest writes to it directly", dir))
		if err == nil && sub && underPrivate(dir) != "" {
			// Bound as it is, with its mounts, over the fresh
			// private directory.
			p.views = append(p.views, view{dir: dir, host: -1})
		}
	} else {
		p.views = append(p.views, view{dir: dir, host: -1, cow: true})
	}
	prog := p.cfg.Prog
	if prog == "" {
		return
	}
	if !filepath.IsAbs(prog) {
		prog = filepath.Join(dir, prog)
	}
	prog = filepath.Clean(prog)
	priv := underPrivate(prog)
	if priv == "" || within(prog, dir) && len(p.views) > 0 {
		return
	}
	if pd := filepath.Dir(prog); pd != priv {
		if sub, err := hasSubmounts(pd); err == nil && !sub {
			p.views = append(p.views, view{dir: pd, host: -1, cow: true})
			sort.Slice(p.views, func(i, j int) bool { return p.views[i].dir < p.views[j].dir }) // parents first
			return
		}
	}
	p.progBind = prog
}

// makeCPUFiles writes the files that show Config.CPUs CPUs into a
// detached read-only tmpfs that every world binds from.
func (p *Pool) makeCPUFiles() error {
	files := cpuFiles(p.cfg.CPUs, readHostCPUInfo())
	fs, err := newTmpfs("mode=0755")
	if err != nil {
		return err
	}
	for path, data := range files {
		if _, err := os.Stat(path); err != nil {
			continue // nothing to cover
		}
		name := fileName(path)
		fd, err := unix.Openat(fs, name, unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o444)
		if err == nil {
			_, err = unix.Write(fd, data)
			unix.Close(fd)
		}
		if err != nil {
			unix.Close(fs)
			return fmt.Errorf("write %s: %w", name, err)
		}
		p.cpuPaths = append(p.cpuPaths, path)
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(fs, "", unix.AT_EMPTY_PATH, attr); err != nil {
		unix.Close(fs)
		return fmt.Errorf("read-only CPU files: %w", err)
	}
	sort.Strings(p.cpuPaths)
	p.cpuFS = fs
	return nil
}

// fileName is the name of a CPU file in the pool's tmpfs.
func fileName(path string) string { return strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", "_") }

func (p *Pool) bindCPUFile(path string) error {
	fd, err := cloneTree(p.cpuFS, fileName(path), false)
	if err != nil {
		return err
	}
	return attach(fd, path)
}

// try makes a run's setup once on a thread of its own, without a guest.
func (p *Pool) try() error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		r := p.Run()
		_, _, err := r.Enter("")
		if err == nil {
			err = r.Leave()
		}
		r.Close()
		ch <- err
	}()
	return <-ch
}

// Run is one run's sandbox; it implements intercept.Sandbox.
type Run struct {
	p     *Pool
	w     *world
	netNS int // -1: the host's
	cwd   int // our working directory, to return to
	ok    bool
}

// Run returns a new run's sandbox.
func (p *Pool) Run() *Run { return &Run{p: p, netNS: -1, cwd: -1} }

// Enter puts the calling thread, which must be locked and is not reused
// afterwards, in a world (a free one, or a new one) with a fresh IPC
// namespace and a clean network namespace, and resets the world: pids
// start at 2 again, the host name is set again, and private directories
// and copy-on-write layers the last run touched are made afresh. dir must
// be "" or the pool's Dir.
func (r *Run) Enter(dir string) (string, int, error) {
	p := r.p
	if dir != "" && filepath.Clean(dir) != p.cfg.Dir {
		return "", 0, fmt.Errorf("working directory %s is not the sandbox's %s", dir, p.cfg.Dir)
	}
	var err error
	if r.cwd, err = unix.Open(".", unix.O_PATH|unix.O_CLOEXEC, 0); err != nil {
		return "", 0, fmt.Errorf("working directory: %w", err)
	}
	if r.w, err = r.world(); err != nil {
		return "", 0, err
	}
	if !p.cfg.HostNet {
		// After the world: a namespace made ahead (netPool.prepare)
		// was made meanwhile.
		if r.netNS, err = p.net.get(); err != nil {
			return "", 0, err
		}
	}
	w := r.w
	if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWIPC); err != nil {
		return "", 0, fmt.Errorf("unshare: %w", err)
	}
	for _, ns := range []struct {
		fd, kind int
		name     string
	}{{w.mnt, unix.CLONE_NEWNS, "mount"}, {w.uts, unix.CLONE_NEWUTS, "UTS"}, {w.pid, unix.CLONE_NEWPID, "pid"}, {r.netNS, unix.CLONE_NEWNET, "network"}} {
		if ns.fd < 0 {
			continue
		}
		if err := unix.Setns(ns.fd, ns.kind); err != nil {
			return "", 0, fmt.Errorf("enter the %s namespace: %w", ns.name, err)
		}
	}
	if err := unix.Sethostname([]byte(Hostname)); err != nil {
		return "", 0, fmt.Errorf("sethostname: %w", err)
	}
	if err := w.refresh(p); err == errStale {
		// Only a new world shows the host paths bound in the private
		// directory the last run touched: leave this one, take a new
		// one, and go in again.
		if err := unix.Setns(p.hostMnt, unix.CLONE_NEWNS); err != nil {
			return "", 0, fmt.Errorf("leave the world: %w", err)
		}
		w.close()
		r.w = nil
		if r.w, err = p.newWorld(); err != nil {
			return "", 0, err
		}
		w = r.w
		for _, ns := range []struct{ fd, kind int }{{w.mnt, unix.CLONE_NEWNS}, {w.uts, unix.CLONE_NEWUTS}, {w.pid, unix.CLONE_NEWPID}} {
			if err := unix.Setns(ns.fd, ns.kind); err != nil {
				return "", 0, fmt.Errorf("enter a new world: %w", err)
			}
		}
	} else if err != nil {
		return "", 0, err
	}
	w.ackMounts()
	if p.userNS {
		if err := dropInheritable(); err != nil {
			return "", 0, err
		}
	}
	r.ok = true
	return p.cfg.Dir, 0, nil
}

// world returns a free world whose init has reset it since its last run
// (one where something is left of that run is closed), or a new one.
func (r *Run) world() (*world, error) {
	for {
		w := r.p.worlds.get()
		if w == nil {
			return r.p.newWorld()
		}
		if !w.resetPending {
			return w, nil
		}
		w.resetPending = false
		if err := w.init.awaitReset(w.resetSeq); err == nil {
			return w, nil
		}
		w.close()
	}
}

// dropInheritable clears the calling thread's inheritable and ambient
// capabilities (keeping its effective ones), so that a program it forks
// runs without the capabilities a user namespace of our own gives us.
func dropInheritable() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	return nil
}

// Leave returns the calling thread to our mount namespace and working
// directory, so that the tracer reads the host's /proc and paths.
func (r *Run) Leave() error {
	if err := unix.Setns(r.p.hostMnt, unix.CLONE_NEWNS); err != nil {
		r.ok = false
		return fmt.Errorf("return to the mount namespace: %w", err)
	}
	if err := unix.Fchdir(r.cwd); err != nil {
		r.ok = false
		return fmt.Errorf("return to the working directory: %w", err)
	}
	return nil
}

// Close hands the world and the network namespace back for later runs
// if the run left them as it found them (the world: its mount table
// unchanged; the network: no socket, not even in TIME_WAIT), and closes
// them otherwise. It runs on the thread that entered, after every guest
// process is gone.
func (r *Run) Close() {
	if r.netNS >= 0 {
		if r.ok && netClean() {
			r.p.net.put(r.netNS)
		} else {
			unix.Close(r.netNS)
		}
		r.netNS = -1
	}
	if w := r.w; w != nil {
		r.w = nil
		keep := r.ok && !w.mountsChanged()
		if keep {
			// The init reaps the run's orphans and resets the pid
			// counter while the next run starts; it waits for it.
			seq, err := w.init.requestReset()
			keep = err == nil
			w.resetSeq, w.resetPending = seq, true
		}
		if keep {
			r.p.worlds.put(w)
		} else {
			w.close()
		}
	}
	if r.cwd >= 0 {
		unix.Close(r.cwd)
		r.cwd = -1
	}
	r.ok = false // a Run may be entered again (a fork retried)
}
