// Command fscwd runs a program in a virtual working directory, after
// tvisor-fs: the program sees DIR as its working directory, whatever the
// real one is.
//
//	fscwd -cwd DIR [--] PROG [ARGS...]
//
// The guest's real working directory never changes. The tool keeps the
// virtual one per process (a fork child inherits its parent's) and rewrites
// the system calls that depend on it:
//   - getcwd is emulated: the tool writes DIR into the guest's buffer;
//   - chdir is emulated: DIR becomes its argument, resolved against DIR,
//     if that is a directory; fchdir makes DIR the directory of the fd;
//   - a relative path given to a call that resolves it against the working
//     directory (open, openat with AT_FDCWD, stat, execve, ...) is replaced
//     by DIR/path, written into the guest's stack below its red zone
//     (intercept.Syscall.Scratch) for the duration of the call.
//
// $PWD is set to DIR, as a shell would after cd. `fscwd -cwd /anydir --
// /bin/pwd` prints /anydir.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// pathArgs says which argument of a call is a path resolved against the
// working directory, and which argument (-1: none) is the directory fd
// it is relative to. Calls with two paths list both.
var pathArgs = map[int][]struct{ path, dirfd int }{
	unix.SYS_OPEN:       {{0, -1}},
	unix.SYS_CREAT:      {{0, -1}},
	unix.SYS_OPENAT:     {{1, 0}},
	unix.SYS_OPENAT2:    {{1, 0}},
	unix.SYS_STAT:       {{0, -1}},
	unix.SYS_LSTAT:      {{0, -1}},
	unix.SYS_NEWFSTATAT: {{1, 0}},
	unix.SYS_STATX:      {{1, 0}},
	unix.SYS_ACCESS:     {{0, -1}},
	unix.SYS_FACCESSAT:  {{1, 0}},
	unix.SYS_FACCESSAT2: {{1, 0}},
	unix.SYS_READLINK:   {{0, -1}},
	unix.SYS_READLINKAT: {{1, 0}},
	unix.SYS_MKDIR:      {{0, -1}},
	unix.SYS_MKDIRAT:    {{1, 0}},
	unix.SYS_RMDIR:      {{0, -1}},
	unix.SYS_UNLINK:     {{0, -1}},
	unix.SYS_UNLINKAT:   {{1, 0}},
	unix.SYS_RENAME:     {{0, -1}, {1, -1}},
	unix.SYS_RENAMEAT:   {{1, 0}, {3, 2}},
	unix.SYS_RENAMEAT2:  {{1, 0}, {3, 2}},
	unix.SYS_CHMOD:      {{0, -1}},
	unix.SYS_FCHMODAT:   {{1, 0}},
	unix.SYS_TRUNCATE:   {{0, -1}},
	unix.SYS_UTIMENSAT:  {{1, 0}},
	unix.SYS_EXECVE:     {{0, -1}},
	unix.SYS_EXECVEAT:   {{1, 0}},
}

// process is the per-process state: its virtual working directory.
type process struct{ cwd string }

type fscwd struct {
	intercept.NopTool
	cwd string // the directory the first process starts in
}

func (f *fscwd) Subscription() intercept.Subscription {
	s := intercept.SubscribeTo(unix.SYS_GETCWD, unix.SYS_CHDIR, unix.SYS_FCHDIR)
	for nr := range pathArgs {
		s.Add(nr)
	}
	return s
}

func (f *fscwd) ProcessStart(p *intercept.Process, parent *intercept.Process) {
	cwd := f.cwd
	if parent != nil {
		cwd = parent.State.(*process).cwd
	}
	p.State = &process{cwd: cwd}
}

func (f *fscwd) SyscallEnter(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
	if c.Arch != syscalls.X86_64 {
		return intercept.Continue()
	}
	proc := t.Proc.State.(*process)
	mem := t.Memory()
	switch c.Nr {
	case unix.SYS_GETCWD:
		return getcwd(mem, c, proc.cwd)
	case unix.SYS_CHDIR:
		p, _, err := mem.ReadString(c.Args[0], unix.PathMax)
		if err != nil {
			return intercept.Emulate(intercept.Errno(unix.EFAULT))
		}
		return chdir(proc, resolve(proc.cwd, p))
	case unix.SYS_FCHDIR:
		dir, err := os.Readlink("/proc/" + strconv.Itoa(t.Proc.Pid) + "/fd/" + strconv.Itoa(int(c.Args[0])))
		if err != nil {
			return intercept.Emulate(intercept.Errno(unix.EBADF))
		}
		return chdir(proc, dir)
	}
	for _, a := range pathArgs[c.Nr] {
		if a.dirfd >= 0 && int32(c.Args[a.dirfd]) != unix.AT_FDCWD {
			continue // relative to another directory: unchanged
		}
		p, _, err := mem.ReadString(c.Args[a.path], unix.PathMax)
		if err != nil || p == "" || strings.HasPrefix(p, "/") {
			continue
		}
		addr, err := c.Scratch(mem, append([]byte(resolve(proc.cwd, p)), 0))
		if err != nil {
			return intercept.Emulate(intercept.Errno(unix.ENAMETOOLONG))
		}
		c.Args[a.path] = addr
	}
	return intercept.Continue()
}

// getcwd writes the virtual directory into the guest's buffer, as the
// kernel does: the length with its NUL, or ERANGE if it does not fit.
func getcwd(mem *intercept.Memory, c *intercept.Syscall, cwd string) intercept.Action {
	if uint64(len(cwd)+1) > c.Args[1] {
		return intercept.Emulate(intercept.Errno(unix.ERANGE))
	}
	if err := mem.WriteString(c.Args[0], cwd); err != nil {
		return intercept.Emulate(intercept.Errno(unix.EFAULT))
	}
	return intercept.Emulate(int64(len(cwd) + 1))
}

// chdir makes dir the virtual directory if it is one.
func chdir(proc *process, dir string) intercept.Action {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return intercept.Emulate(intercept.Errno(err.(unix.Errno)))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return intercept.Emulate(intercept.Errno(unix.ENOTDIR))
	}
	proc.cwd = dir
	return intercept.Emulate(0)
}

// resolve makes p absolute against the directory cwd.
func resolve(cwd, p string) string {
	if strings.HasPrefix(p, "/") {
		return path.Clean(p)
	}
	return path.Join(cwd, p)
}

func main() {
	cwd := flag.String("cwd", "", "the working directory the program sees (required)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: fscwd -cwd DIR [--] PROG [ARGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 || *cwd == "" || !strings.HasPrefix(*cwd, "/") {
		flag.Usage()
		os.Exit(2)
	}
	path, err := exec.LookPath(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fscwd:", err)
		os.Exit(127)
	}
	env := append(os.Environ(), "PWD="+resolve("/", *cwd))
	res, err := intercept.Run(context.Background(), &intercept.Command{
		Path: path, Args: flag.Args(), Env: env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	}, &fscwd{cwd: resolve("/", *cwd)}, intercept.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fscwd:", err)
		os.Exit(125)
	}
	os.Exit(res.ExitCode())
}
