package explore

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
	"github.com/schedfuzz/schedfuzz/replay"
)

// behaviorLog is a run's sched.Observer. It records the program's behaviour
// (replay.Behavior: each thread's running hash of its system calls, and
// the results of the calls that depend on the world), and the files the
// run changed outside its sandbox. Its cost: a hash per syscall point,
// one more stop for each world call (open, stat, mkdir, connect...), and
// a path read for each call that may change a file.
type behaviorLog struct {
	b       replay.Behavior
	threads []*threadRec // by vtid
	// inside lists the directories whose changes stay in the run (a
	// sandbox's private directories and copy-on-write views; nil: none).
	inside  []string
	changes []replay.Change
	seen    map[replay.Change]bool
	// calls keeps every call's text (replays, to explain a divergence),
	// and opened the files the program opened, but libraries.
	calls   bool
	printer syscalls.Printer
	opened  []string
}

type threadRec struct {
	hash    uint64
	n       int            // calls since the last checkpoint
	change  *replay.Change // a change waiting for its call's result
	event   syscalls.Event // the call being formatted (calls)
	log     []loggedCall
	pending bool // event waits for its result
}

type loggedCall struct {
	point int
	text  string
}

// maxOutside bounds the changes a run records.
const maxOutside = 256

// maxLogged bounds the calls a replay keeps the text of.
const maxLogged = 1 << 16

func newBehaviorLog(inside []string, calls bool) *behaviorLog {
	return &behaviorLog{inside: inside, calls: calls, seen: map[replay.Change]bool{}}
}

func (r *behaviorLog) thread(vtid int) *threadRec {
	for len(r.threads) <= vtid {
		r.threads = append(r.threads, &threadRec{hash: fnvOffset})
	}
	return r.threads[vtid]
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func mix(h, v uint64) uint64 {
	for i := 0; i < 8; i++ {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

func (r *behaviorLog) add(e replay.BehaviorEvent) {
	if len(r.b.Events) >= replay.MaxBehaviorEvents {
		r.b.Truncated = true
		return
	}
	r.b.Events = append(r.b.Events, e)
}

// Syscall implements sched.Observer.
func (r *behaviorLog) Syscall(vtid, point int, t *intercept.Thread, c *intercept.Syscall) bool {
	tr := r.thread(vtid)
	args := c.OrigArgs()
	h := mix(tr.hash, uint64(c.Nr)|uint64(c.Arch)<<32)
	if c.Arch == syscalls.X86_64 && c.Nr >= 0 && c.Nr < len(scalarArgs) {
		for m, i := scalarArgs[c.Nr], 0; m != 0; m, i = m>>1, i+1 {
			if m&1 != 0 {
				h = mix(h, args[i])
			}
		}
	}
	tr.hash = h
	if tr.n++; tr.n == replay.CheckpointEvery {
		tr.n = 0
		r.add(replay.BehaviorEvent{Thread: vtid, Point: point, Value: int64(h)})
	}
	want := false
	if c.Arch == syscalls.X86_64 {
		want = worldCalls[c.Nr]
		if len(r.changes) < maxOutside {
			if ch := r.change(t, c.Nr, args); ch != nil {
				tr.change, want = ch, true
			}
		}
	}
	if r.calls {
		r.noteOpen(t, c.Nr, args)
		r.printer.Enter(&tr.event, t.Memory(), c.Arch, c.Nr, args)
		tr.pending = want
		if !want {
			r.log(tr, point, string(tr.event.AppendCall(nil)))
		}
	}
	return want
}

// Result implements sched.Observer.
func (r *behaviorLog) Result(vtid, point int, t *intercept.Thread, c *intercept.Syscall, ret int64) {
	tr := r.thread(vtid)
	if c.Arch == syscalls.X86_64 && worldCalls[c.Nr] {
		r.add(replay.BehaviorEvent{Thread: vtid, Point: point, Call: syscalls.Name(c.Nr), Value: ret})
	}
	if ch := tr.change; ch != nil {
		tr.change = nil
		if !syscalls.IsError(ret) && !r.seen[*ch] {
			r.seen[*ch] = true
			r.changes = append(r.changes, *ch)
		}
	}
	if r.calls && tr.pending {
		tr.pending = false
		r.printer.Exit(&tr.event, t.Memory(), ret)
		r.log(tr, point, string(tr.event.AppendTo(nil)))
	}
}

// noteOpen keeps the path of a file opened (not a library: those are
// part of the program, and their contents are checked elsewhere).
func (r *behaviorLog) noteOpen(t *intercept.Thread, nr int, a [6]uint64) {
	dirfd, addr := unix.AT_FDCWD, a[0]
	switch nr {
	case unix.SYS_OPEN:
	case unix.SYS_OPENAT, unix.SYS_OPENAT2:
		dirfd, addr = int(int32(a[0])), a[1]
	default:
		return
	}
	p, ok := r.guestPath(t, dirfd, addr)
	if !ok || len(r.opened) >= 64 || p == "/etc/ld.so.cache" || strings.Contains(filepath.Base(p), ".so") {
		return
	}
	for _, o := range r.opened {
		if o == p {
			return
		}
	}
	r.opened = append(r.opened, p)
}

func (r *behaviorLog) log(tr *threadRec, point int, text string) {
	if len(tr.log) < maxLogged {
		tr.log = append(tr.log, loggedCall{point, text})
	}
}

// callsBetween returns thread's calls at points in (from, to].
func (r *behaviorLog) callsBetween(thread, from, to int) []string {
	if thread < 0 || thread >= len(r.threads) {
		return nil
	}
	var out []string
	for _, l := range r.threads[thread].log {
		if l.point > from && l.point <= to {
			out = append(out, l.text)
		}
	}
	return out
}

// change returns the file change a call would make outside the sandbox
// (nil if it makes none, or only inside).
func (r *behaviorLog) change(t *intercept.Thread, nr int, a [6]uint64) *replay.Change {
	verb, dirfd, path := "", unix.AT_FDCWD, uint64(0)
	at := func(v string, fdArg, pathArg int) {
		verb, dirfd, path = v, int(int32(a[fdArg])), a[pathArg]
	}
	plain := func(v string, pathArg int) { verb, path = v, a[pathArg] }
	const writes = unix.O_WRONLY | unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC
	switch nr {
	case unix.SYS_OPEN:
		if a[1]&writes != 0 {
			plain(openVerb(a[1]), 0)
		}
	case unix.SYS_OPENAT:
		if a[2]&writes != 0 {
			at(openVerb(a[2]), 0, 1)
		}
	case unix.SYS_OPENAT2:
		if fl, err := t.Memory().ReadUint64(a[2]); err == nil && fl&writes != 0 {
			at(openVerb(fl), 0, 1)
		}
	case unix.SYS_CREAT, unix.SYS_TRUNCATE:
		plain("written", 0)
	case unix.SYS_MKDIR, unix.SYS_MKNOD:
		plain("created", 0)
	case unix.SYS_MKDIRAT, unix.SYS_MKNODAT:
		at("created", 0, 1)
	case unix.SYS_UNLINK, unix.SYS_RMDIR:
		plain("deleted", 0)
	case unix.SYS_UNLINKAT:
		at("deleted", 0, 1)
	case unix.SYS_RENAME:
		plain("renamed", 0)
	case unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2:
		at("renamed", 0, 1)
	case unix.SYS_LINK, unix.SYS_SYMLINK:
		plain("created", 1)
	case unix.SYS_LINKAT:
		at("created", 2, 3)
	case unix.SYS_SYMLINKAT:
		at("created", 1, 2)
	case unix.SYS_CHMOD, unix.SYS_CHOWN, unix.SYS_LCHOWN, unix.SYS_UTIMES, unix.SYS_UTIME:
		plain("changed", 0)
	case unix.SYS_FCHMODAT, unix.SYS_FCHOWNAT, unix.SYS_UTIMENSAT:
		at("changed", 0, 1)
	}
	if verb == "" || path == 0 {
		return nil
	}
	abs, ok := r.guestPath(t, dirfd, path)
	if !ok {
		return nil
	}
	if verb == "renamed" {
		// rename(old, new), renameat(olddirfd, old, newdirfd, new)
		to, ok := r.guestPath(t, unix.AT_FDCWD, a[1])
		if nr != unix.SYS_RENAME {
			to, ok = r.guestPath(t, int(int32(a[2])), a[3])
		}
		if !ok || r.isInside(abs) && r.isInside(to) {
			return nil
		}
		return &replay.Change{Verb: verb, Path: abs + " -> " + to}
	}
	if r.isInside(abs) {
		return nil
	}
	return &replay.Change{Verb: verb, Path: abs}
}

// guestPath reads a path argument and makes it absolute.
func (r *behaviorLog) guestPath(t *intercept.Thread, dirfd int, addr uint64) (string, bool) {
	p, _, err := t.Memory().ReadString(addr, 4096)
	if err != nil || p == "" {
		return "", false
	}
	return resolvePath(t.Proc.Pid, dirfd, p)
}

func openVerb(flags uint64) string {
	switch {
	case flags&unix.O_CREAT != 0 && flags&unix.O_EXCL != 0:
		return "created"
	}
	return "written"
}

// resolvePath makes a guest's path absolute, as the guest sees it,
// through /proc (its working directory, or the directory fd).
func resolvePath(pid, dirfd int, p string) (string, bool) {
	if filepath.IsAbs(p) {
		return filepath.Clean(p), true
	}
	link := "/proc/" + strconv.Itoa(pid) + "/cwd"
	if dirfd != unix.AT_FDCWD {
		link = "/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(dirfd)
	}
	base, err := os.Readlink(link)
	if err != nil || !filepath.IsAbs(base) {
		return "", false
	}
	return filepath.Join(base, p), true
}

// isInside reports whether a change to path stays out of the host: in
// the sandbox's private directories or views, or in a pseudo file system.
func (r *behaviorLog) isInside(path string) bool {
	for _, d := range r.inside {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	if path == "/dev/shm" || strings.HasPrefix(path, "/dev/shm/") {
		return false // real shared memory, unless the sandbox's
	}
	for _, d := range []string{"/proc", "/sys", "/dev"} {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

// worldCalls are the calls whose results depend on the world outside the
// program: the file system and the network.
var worldCalls = func() map[int]bool {
	m := map[int]bool{}
	for _, name := range []string{
		"open", "openat", "openat2", "creat", "stat", "lstat", "newfstatat", "statx",
		"access", "faccessat", "faccessat2", "readlink", "readlinkat", "mkdir", "mkdirat",
		"mknod", "mknodat", "unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2",
		"link", "linkat", "symlink", "symlinkat", "truncate", "chdir", "chmod", "fchmodat",
		"chown", "fchownat", "lchown", "utimensat", "execve", "execveat", "getdents64",
		"bind", "connect", "uname",
	} {
		nr, ok := syscalls.Number(name)
		if !ok {
			panic("explore: no syscall " + name)
		}
		m[nr] = true
	}
	return m
}()

// scalarArgs[nr] has bit i set if argument i of x86-64 call nr is a value
// (a number, an fd, flags), not an address: what a thread's hash covers.
// Addresses are left out: they move when nothing the program does
// changes (another environment size shifts the stack).
var scalarArgs = func() []uint8 {
	var out []uint8
	for nr := 0; ; nr++ {
		if nr >= 1024 {
			return out
		}
		out = append(out, 0)
		in := syscalls.Lookup(syscalls.X86_64, nr)
		if in == nil || in.Args == nil {
			continue
		}
		for i, a := range in.Args {
			reg := i
			if a.Reg != 0 {
				reg = int(a.Reg) - 1
			}
			if reg < 6 && scalarKind(a.Kind) {
				out[nr] |= 1 << reg
			}
		}
	}
}()

func scalarKind(k syscalls.Kind) bool {
	switch k {
	case syscalls.Int, syscalls.Int32, syscalls.Uint, syscalls.Uint32, syscalls.Octal,
		syscalls.FD, syscalls.DirFD, syscalls.OpenFlags, syscalls.FileFlags, syscalls.Mode,
		syscalls.MmapProt, syscalls.MmapFlags, syscalls.NSFlags, syscalls.ClockID,
		syscalls.TimerFlags, syscalls.SockDomain, syscalls.SockType, syscalls.SockProto,
		syscalls.MsgFlags, syscalls.ShutdownHow, syscalls.SockLevel, syscalls.SockOpt,
		syscalls.Signal, syscalls.SigHow, syscalls.WaitOptions, syscalls.IDType,
		syscalls.AtFlags, syscalls.AccessAtFlags, syscalls.AccessMode, syscalls.Whence,
		syscalls.ArchPrctlCode, syscalls.IoctlReq, syscalls.FDFlags, syscalls.Advice,
		syscalls.EpollCtlOp, syscalls.Rlimit, syscalls.GrndFlags, syscalls.MemfdFlags,
		syscalls.EfdFlags, syscalls.EpollFlags, syscalls.CloseRangeFlags, syscalls.RenameFlags,
		syscalls.MremapFlags, syscalls.MsyncFlags:
		return true
	}
	return false
}

func (r *behaviorLog) String() string {
	return fmt.Sprintf("%d behavior events, %d changes outside", len(r.b.Events), len(r.changes))
}
