package syscalls

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Recorded-event tests: a call's number, arguments and result plus the
// guest memory it pointed at, formatted without any tracee.

func cstr(s string) []byte { return append([]byte(s), 0) }

func u32s(vs ...uint32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

func u64s(vs ...uint64) []byte {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

func sockaddrIn(port uint16, ip [4]byte) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b, unix.AF_INET)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], ip[:])
	return b
}

func sockaddrIn6(port uint16, ip [16]byte, scope uint32) []byte {
	b := make([]byte, 28)
	binary.LittleEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[8:], ip[:])
	binary.LittleEndian.PutUint32(b[24:], scope)
	return b
}

func sockaddrUn(path string) []byte {
	b := make([]byte, 2, 2+len(path)+1)
	binary.LittleEndian.PutUint16(b, unix.AF_UNIX)
	return append(b, path...)
}

func sigsetOf(sigs ...int) []byte {
	var v uint64
	for _, s := range sigs {
		v |= 1 << (s - 1)
	}
	return u64s(v)
}

// mem builds a MemMap from address/bytes pairs.
func mem(pairs ...any) *MemMap {
	m := &MemMap{}
	for i := 0; i < len(pairs); i += 2 {
		var addr uint64
		switch a := pairs[i].(type) {
		case int:
			addr = uint64(a)
		case uint64:
			addr = a
		}
		m.Map(addr, pairs[i+1].([]byte))
	}
	return m
}

const (
	pA = 0x7f0000001000 // string and buffer addresses in the tests
	pB = 0x7f0000002000
	pC = 0x7f0000003000
	pD = 0x7f0000004000
)

type fmtCase struct {
	name string
	arch Arch
	nr   int
	args [6]uint64
	ret  int64
	mem  *MemMap
	// exitMem, if set, is the memory at the exit stop.
	exitMem *MemMap
	limit   int
	want    string
	// entry, if set, is the line before the exit: entry text and "= ?".
	entry string
}

func runCases(t *testing.T, cases []fmtCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &Printer{Limit: c.limit}
			var e Event
			var m Memory
			if c.mem != nil {
				m = c.mem
			}
			p.Enter(&e, m, c.arch, c.nr, c.args)
			if c.entry != "" {
				if got := e.String(); got != c.entry {
					t.Errorf("at entry:\n got %s\nwant %s", got, c.entry)
				}
			}
			if c.exitMem != nil {
				m = c.exitMem
			}
			p.Exit(&e, m, c.ret)
			if got := e.String(); got != c.want {
				t.Errorf("\n got %s\nwant %s", got, c.want)
			}
			// The one-shot helper agrees.
			if c.exitMem != nil {
				return
			}
			if got := p.Format(m, c.arch, c.nr, c.args, c.ret); got != c.want {
				t.Errorf("Format:\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestFormatFiles(t *testing.T) {
	stat := make([]byte, 144)
	binary.LittleEndian.PutUint32(stat[24:], unix.S_IFREG|0o644)
	binary.LittleEndian.PutUint64(stat[48:], 1221)
	chr := make([]byte, 144)
	binary.LittleEndian.PutUint32(chr[24:], unix.S_IFCHR|0o620)
	binary.LittleEndian.PutUint64(chr[40:], unix.Mkdev(0x88, 3))
	runCases(t, []fmtCase{
		{name: "openat", nr: unix.SYS_OPENAT, args: [6]uint64{uint64(0xffffff9c), pA, unix.O_RDONLY | unix.O_CLOEXEC, 0o777},
			ret: 3, mem: mem(pA, cstr("/etc/passwd")),
			want: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`},
		{name: "openat mode", nr: unix.SYS_OPENAT, args: [6]uint64{5, pA, unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, 0o644},
			ret: -int64(unix.EACCES), mem: mem(pA, cstr("out.txt")),
			want: `openat(5, "out.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = -1 EACCES (Permission denied)`},
		{name: "open tmpfile", nr: unix.SYS_OPEN, args: [6]uint64{pA, unix.O_RDWR | unix.O_TMPFILE, 0o600},
			ret: 4, mem: mem(pA, cstr("/tmp")),
			want: `open("/tmp", O_RDWR|O_TMPFILE, 0600) = 4`},
		{name: "open ENOENT", nr: unix.SYS_OPEN, args: [6]uint64{pA, unix.O_RDONLY},
			ret: -int64(unix.ENOENT), mem: mem(pA, cstr("/nonexistent")),
			want: `open("/nonexistent", O_RDONLY) = -1 ENOENT (No such file or directory)`},
		{name: "unreadable path", nr: unix.SYS_OPEN, args: [6]uint64{0xdead0000, unix.O_RDONLY | oLargefile},
			ret: -int64(unix.EFAULT), mem: mem(),
			want: `open(0xdead0000, O_RDONLY|O_LARGEFILE) = -1 EFAULT (Bad address)`},
		{name: "openat2", nr: unix.SYS_OPENAT2, args: [6]uint64{uint64(0xffffff9c), pA, pB, 24},
			ret: 3, mem: mem(pA, cstr("f"), pB, u64s(unix.O_RDONLY|unix.O_CLOEXEC, 0, 0x04)),
			want: `openat2(AT_FDCWD, "f", {flags=O_RDONLY|O_CLOEXEC, resolve=RESOLVE_NO_SYMLINKS}, 24) = 3`},
		{name: "read out-buffer", nr: unix.SYS_READ, args: [6]uint64{3, pA, 10}, ret: 3,
			mem:   mem(pA, []byte("abc\x00\x00\x00\x00\x00\x00\x00")),
			entry: `read(3, 0x7f0000001000, 10) = ?`,
			want:  `read(3, "abc", 10) = 3`},
		{name: "read fails", nr: unix.SYS_READ, args: [6]uint64{9, pA, 10}, ret: -int64(unix.EBADF),
			mem:  mem(pA, []byte("garbage...")),
			want: `read(9, 0x7f0000001000, 10) = -1 EBADF (Bad file descriptor)`},
		{name: "read EOF", nr: unix.SYS_READ, args: [6]uint64{3, pA, 10}, ret: 0,
			mem: mem(pA, make([]byte, 10)), want: `read(3, "", 10) = 0`},
		{name: "pread64", nr: unix.SYS_PREAD64, args: [6]uint64{4, pA, 4, 64}, ret: 4,
			mem: mem(pA, []byte("\x7fELF")), want: `pread64(4, "\x7fELF", 4, 64) = 4`},
		{name: "write", nr: unix.SYS_WRITE, args: [6]uint64{1, pA, 6}, ret: 6,
			mem: mem(pA, []byte("hello\n")), want: `write(1, "hello\n", 6) = 6`},
		{name: "write escapes", nr: unix.SYS_WRITE, args: [6]uint64{2, pA, 8}, ret: 8,
			mem: mem(pA, []byte("\t\"\\\x01\xc8\r\v\f")), want: `write(2, "\t\"\\\x01\xc8\r\v\f", 8) = 8`},
		{name: "write truncated", nr: unix.SYS_WRITE, args: [6]uint64{11, pA, 100}, ret: 100,
			mem:  mem(pA, []byte(strings.Repeat("abcdefghij", 10))),
			want: `write(11, "abcdefghijabcdefghijabcdefghijab"..., 100) = 100`},
		{name: "write limit 5", nr: unix.SYS_WRITE, args: [6]uint64{1, pA, 6}, ret: 6, limit: 5,
			mem: mem(pA, []byte("hello\n")), want: `write(1, "hello"..., 6) = 6`},
		{name: "write exactly at limit", nr: unix.SYS_WRITE, args: [6]uint64{1, pA, 5}, ret: 5, limit: 5,
			mem: mem(pA, []byte("hello")), want: `write(1, "hello", 5) = 5`},
		{name: "string cut at limit", nr: unix.SYS_MEMFD_CREATE, args: [6]uint64{pA, unix.MFD_CLOEXEC}, ret: 3, limit: 4,
			mem: mem(pA, cstr("schedfuzz")), want: `memfd_create("sche"..., MFD_CLOEXEC) = 3`},
		{name: "string across regions", nr: unix.SYS_CHDIR, args: [6]uint64{pA - 3}, ret: 0,
			mem: mem(pA-3, []byte("/tm"), pA, cstr("p/x")), want: `chdir("/tmp/x") = 0`},
		{name: "writev", nr: unix.SYS_WRITEV, args: [6]uint64{1, pA, 2}, ret: 8,
			mem:  mem(pA, u64s(pB, 5, pC, 3), pB, []byte("hello"), pC, []byte("!!\n")),
			want: `writev(1, [{iov_base="hello", iov_len=5}, {iov_base="!!\n", iov_len=3}], 2) = 8`},
		{name: "readv", nr: unix.SYS_READV, args: [6]uint64{0, pA, 2}, ret: 6,
			mem:  mem(pA, u64s(pB, 4, pC, 4), pB, []byte("abcd"), pC, []byte("efgh")),
			want: `readv(0, [{iov_base="abcd", iov_len=4}, {iov_base="ef", iov_len=4}], 2) = 6`},
		{name: "newfstatat", nr: unix.SYS_NEWFSTATAT, args: [6]uint64{4, pA, pB, unix.AT_EMPTY_PATH}, ret: 0,
			mem:  mem(pA, cstr(""), pB, stat),
			want: `newfstatat(4, "", {st_mode=S_IFREG|0644, st_size=1221, ...}, AT_EMPTY_PATH) = 0`},
		{name: "fstat chr", nr: unix.SYS_FSTAT, args: [6]uint64{1, pB}, ret: 0, mem: mem(pB, chr),
			want: `fstat(1, {st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0x3), ...}) = 0`},
		{name: "access", nr: unix.SYS_ACCESS, args: [6]uint64{pA, unix.R_OK | unix.W_OK}, ret: 0,
			mem: mem(pA, cstr("/etc/passwd")), want: `access("/etc/passwd", R_OK|W_OK) = 0`},
		{name: "access F_OK", nr: unix.SYS_ACCESS, args: [6]uint64{pA, 0}, ret: -2,
			mem: mem(pA, cstr("/x")), want: `access("/x", F_OK) = -1 ENOENT (No such file or directory)`},
		{name: "faccessat2", nr: unix.SYS_FACCESSAT2, args: [6]uint64{uint64(0xffffff9c), pA, unix.X_OK, unix.AT_EACCESS}, ret: 0,
			mem: mem(pA, cstr("/bin/sh")), want: `faccessat2(AT_FDCWD, "/bin/sh", X_OK, AT_EACCESS) = 0`},
		{name: "unlinkat", nr: unix.SYS_UNLINKAT, args: [6]uint64{uint64(0xffffff9c), pA, unix.AT_REMOVEDIR}, ret: 0,
			mem: mem(pA, cstr("/tmp/d")), want: `unlinkat(AT_FDCWD, "/tmp/d", AT_REMOVEDIR) = 0`},
		{name: "lseek", nr: unix.SYS_LSEEK, args: [6]uint64{0, 0, unix.SEEK_CUR}, ret: 0,
			want: `lseek(0, 0, SEEK_CUR) = 0`},
		{name: "lseek negative", nr: unix.SYS_LSEEK, args: [6]uint64{3, uint64(1<<64 - 10), unix.SEEK_END}, ret: 90,
			want: `lseek(3, -10, SEEK_END) = 90`},
		{name: "readlink", nr: unix.SYS_READLINK, args: [6]uint64{pA, pB, 100}, ret: 9,
			mem:  mem(pA, cstr("/proc/self/exe"), pB, []byte("/tmp/sc/dXXXX")),
			want: `readlink("/proc/self/exe", "/tmp/sc/d", 100) = 9`},
		{name: "getcwd", nr: unix.SYS_GETCWD, args: [6]uint64{pB, 4096}, ret: 5,
			mem: mem(pB, cstr("/tmp")), want: `getcwd("/tmp", 4096) = 5`},
		{name: "fcntl F_SETFL", nr: unix.SYS_FCNTL, args: [6]uint64{9, unix.F_SETFL, unix.O_NONBLOCK}, ret: 0,
			want: `fcntl(9, F_SETFL, O_RDONLY|O_NONBLOCK) = 0`},
		{name: "fcntl F_GETFD", nr: unix.SYS_FCNTL, args: [6]uint64{9, unix.F_GETFD}, ret: 1,
			want: `fcntl(9, F_GETFD) = 1`},
		{name: "fcntl F_SETFD", nr: unix.SYS_FCNTL, args: [6]uint64{9, unix.F_SETFD, unix.FD_CLOEXEC}, ret: 0,
			want: `fcntl(9, F_SETFD, FD_CLOEXEC) = 0`},
		{name: "fcntl F_DUPFD_CLOEXEC", nr: unix.SYS_FCNTL, args: [6]uint64{9, unix.F_DUPFD_CLOEXEC, 10}, ret: 13,
			want: `fcntl(9, F_DUPFD_CLOEXEC, 10) = 13`},
		{name: "dup3", nr: unix.SYS_DUP3, args: [6]uint64{9, 20, unix.O_CLOEXEC}, ret: 20,
			want: `dup3(9, 20, O_CLOEXEC) = 20`},
		{name: "umask", nr: unix.SYS_UMASK, args: [6]uint64{0o22}, ret: 0o77, want: `umask(022) = 077`},
		{name: "ioctl", nr: unix.SYS_IOCTL, args: [6]uint64{1, unix.TIOCGWINSZ, pA}, ret: -int64(unix.ENOTTY),
			want: `ioctl(1, TIOCGWINSZ, 0x7f0000001000) = -1 ENOTTY (Inappropriate ioctl for device)`},
		{name: "ioctl unknown", nr: unix.SYS_IOCTL, args: [6]uint64{3, 0xc0ffee, 0}, ret: 0,
			want: `ioctl(3, 0xc0ffee, 0) = 0`},
		{name: "execve", nr: unix.SYS_EXECVE, args: [6]uint64{pA, pB, pC}, ret: 0,
			mem: mem(pA, cstr("/bin/true"), pB, u64s(pA, pD, 0), pD, cstr("a b"),
				pC, u64s(pD, 0)),
			want: `execve("/bin/true", ["/bin/true", "a b"], 0x7f0000003000 /* 1 var */) = 0`},
	})
}

func TestFormatMemory(t *testing.T) {
	runCases(t, []fmtCase{
		{name: "mmap anon", nr: unix.SYS_MMAP,
			args: [6]uint64{0, 8192, unix.PROT_READ | unix.PROT_WRITE, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS, 0xffffffff, 0},
			ret:  0x7f619727b000,
			want: `mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f619727b000`},
		{name: "mmap file", nr: unix.SYS_MMAP,
			args: [6]uint64{0x7f61970b6000, 1400832, unix.PROT_READ | unix.PROT_EXEC, unix.MAP_PRIVATE | unix.MAP_FIXED | unix.MAP_DENYWRITE, 4, 0x26000},
			ret:  0x7f61970b6000,
			want: `mmap(0x7f61970b6000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 4, 0x26000) = 0x7f61970b6000`},
		{name: "mmap hugetlb", nr: unix.SYS_MMAP,
			args: [6]uint64{0, 2 << 20, unix.PROT_READ, unix.MAP_SHARED | unix.MAP_ANONYMOUS | unix.MAP_HUGETLB | 21<<26, 0xffffffff, 0},
			ret:  -int64(unix.ENOMEM),
			want: `mmap(NULL, 2097152, PROT_READ, MAP_SHARED|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_2MB, -1, 0) = -1 ENOMEM (Cannot allocate memory)`},
		{name: "mprotect", nr: unix.SYS_MPROTECT, args: [6]uint64{0x7f619725f000, 16384, unix.PROT_READ}, ret: 0,
			want: `mprotect(0x7f619725f000, 16384, PROT_READ) = 0`},
		{name: "mprotect none", nr: unix.SYS_MPROTECT, args: [6]uint64{0x7f619725f000, 4096, 0}, ret: 0,
			want: `mprotect(0x7f619725f000, 4096, PROT_NONE) = 0`},
		{name: "brk", nr: unix.SYS_BRK, args: [6]uint64{0}, ret: 0x55e0f1ee7000, want: `brk(NULL) = 0x55e0f1ee7000`},
		{name: "munmap", nr: unix.SYS_MUNMAP, args: [6]uint64{0x7f6197272000, 33519}, ret: 0,
			want: `munmap(0x7f6197272000, 33519) = 0`},
		{name: "madvise", nr: unix.SYS_MADVISE, args: [6]uint64{0x7f0d49b90000, 8368128, unix.MADV_DONTNEED}, ret: 0,
			want: `madvise(0x7f0d49b90000, 8368128, MADV_DONTNEED) = 0`},
		{name: "arch_prctl", nr: unix.SYS_ARCH_PRCTL, args: [6]uint64{0x1002, 0x7f619708d740}, ret: 0,
			want: `arch_prctl(ARCH_SET_FS, 0x7f619708d740) = 0`},
		{name: "prctl name", nr: unix.SYS_PRCTL, args: [6]uint64{unix.PR_SET_NAME, pA}, ret: 0,
			mem: mem(pA, cstr("dtest")), want: `prctl(PR_SET_NAME, "dtest") = 0`},
		{name: "prctl pdeathsig", nr: unix.SYS_PRCTL, args: [6]uint64{unix.PR_SET_PDEATHSIG, 9}, ret: 0,
			want: `prctl(PR_SET_PDEATHSIG, SIGKILL) = 0`},
		{name: "prctl other", nr: unix.SYS_PRCTL, args: [6]uint64{unix.PR_SET_SECCOMP, 2, pA}, ret: 0,
			want: `prctl(PR_SET_SECCOMP, 0x2, 0x7f0000001000, 0, 0) = 0`},
		{name: "prlimit64", nr: unix.SYS_PRLIMIT64, args: [6]uint64{0, unix.RLIMIT_STACK, 0, pB}, ret: 0,
			mem:  mem(pB, u64s(8192*1024, ^uint64(0))),
			want: `prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0`},
		{name: "sched_getaffinity", nr: unix.SYS_SCHED_GETAFFINITY, args: [6]uint64{0, 128, pB}, ret: 32,
			mem: mem(pB, append([]byte{3}, make([]byte, 127)...)), want: `sched_getaffinity(0, 128, [0 1]) = 32`},
		{name: "getrandom", nr: unix.SYS_GETRANDOM, args: [6]uint64{pB, 8, unix.GRND_NONBLOCK}, ret: 8,
			mem:  mem(pB, []byte{0x41, 0x89, 0xe5, 0xbe, 0x0a, 0x7a, 0x19, 0x44}),
			want: `getrandom("A\x89\xe5\xbe\nz\x19D", 8, GRND_NONBLOCK) = 8`},
		{name: "rseq", nr: unix.SYS_RSEQ, args: [6]uint64{0x7f619708e060, 0x20, 0, 0x53053053}, ret: 0,
			want: `rseq(0x7f619708e060, 0x20, 0, 0x53053053) = 0`},
		{name: "uname", nr: unix.SYS_UNAME, args: [6]uint64{pB}, ret: 0,
			mem:  mem(pB, append(append(cstr("Linux"), make([]byte, 59)...), append(cstr("vm"), make([]byte, 62)...)...)),
			want: `uname({sysname="Linux", nodename="vm", ...}) = 0`},
		{name: "exit_group", nr: unix.SYS_EXIT_GROUP, args: [6]uint64{0}, ret: 0,
			entry: `exit_group(0) = ?`, want: `exit_group(0) = ?`},
	})
}

func TestFormatThreads(t *testing.T) {
	const ca = pA
	cloneFlags := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD |
		unix.CLONE_SYSVSEM | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID)
	args := u64s(cloneFlags, 0, 0x7f0d4a390990, pC, 0, 0x7f0d49b90000, 0x7fff80, 0x7f0d4a3906c0, 0, 0, 0)
	ts := u64s(0, 1000)
	runCases(t, []fmtCase{
		{name: "clone3", nr: unix.SYS_CLONE3, args: [6]uint64{ca, 88}, ret: 1235,
			mem: mem(ca, args, pC, u32s(1235)),
			entry: `clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, ` +
				`child_tid=0x7f0d4a390990, parent_tid=0x7f0000003000, exit_signal=0, stack=0x7f0d49b90000, stack_size=0x7fff80, tls=0x7f0d4a3906c0}, 88) = ?`,
			want: `clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, ` +
				`child_tid=0x7f0d4a390990, parent_tid=0x7f0000003000, exit_signal=0, stack=0x7f0d49b90000, stack_size=0x7fff80, tls=0x7f0d4a3906c0} => {parent_tid=[1235]}, 88) = 1235`},
		{name: "clone3 fork", nr: unix.SYS_CLONE3, args: [6]uint64{ca, 88}, ret: 77,
			mem:  mem(ca, u64s(unix.CLONE_PIDFD, pB, 0, 0, uint64(unix.SIGCHLD), 0, 0, 0, 0, 0, 0)),
			want: `clone3({flags=CLONE_PIDFD, pidfd=0x7f0000002000, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88) = 77`},
		{name: "clone", nr: unix.SYS_CLONE,
			args: [6]uint64{unix.CLONE_CHILD_CLEARTID | unix.CLONE_CHILD_SETTID | uint64(unix.SIGCHLD), 0, 0, 0x7ff86677da10, 0},
			ret:  4828,
			want: `clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7ff86677da10) = 4828`},
		{name: "clone thread", nr: unix.SYS_CLONE,
			args: [6]uint64{cloneFlags, 0x7f0000100000, 0x7f0000200000, 0x7f0000300000, 0x7f0000400000},
			ret:  -int64(unix.EAGAIN),
			want: `clone(child_stack=0x7f0000100000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, ` +
				`parent_tid=0x7f0000200000, tls=0x7f0000400000, child_tidptr=0x7f0000300000) = -1 EAGAIN (Resource temporarily unavailable)`},
		{name: "unshare", nr: unix.SYS_UNSHARE, args: [6]uint64{unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWTIME}, ret: 0,
			want: `unshare(CLONE_NEWTIME|CLONE_NEWNS|CLONE_NEWPID) = 0`},
		{name: "futex wait", nr: unix.SYS_FUTEX, args: [6]uint64{0x7ffcbecd095c, 128, 0, 0, 0x1234, 99},
			ret:  -int64(unix.EAGAIN),
			want: `futex(0x7ffcbecd095c, FUTEX_WAIT_PRIVATE, 0, NULL) = -1 EAGAIN (Resource temporarily unavailable)`},
		{name: "futex wait timeout", nr: unix.SYS_FUTEX, args: [6]uint64{0x7ffcbecd095c, 0, 1, pB}, ret: -int64(unix.ETIMEDOUT),
			mem:  mem(pB, u64s(1, 500000000)),
			want: `futex(0x7ffcbecd095c, FUTEX_WAIT, 1, {tv_sec=1, tv_nsec=500000000}) = -1 ETIMEDOUT (Connection timed out)`},
		{name: "futex wake", nr: unix.SYS_FUTEX, args: [6]uint64{0x7ffcbecd095c, 129, 1, 0xdead, 0xbeef, 7}, ret: 0,
			want: `futex(0x7ffcbecd095c, FUTEX_WAKE_PRIVATE, 1) = 0`},
		{name: "futex wait bitset", nr: unix.SYS_FUTEX, args: [6]uint64{0x7f0d4a390990, 9 | 256, 4850, pB, 0, 0xffffffff},
			ret: 0, mem: mem(pB, ts),
			want: `futex(0x7f0d4a390990, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 4850, {tv_sec=0, tv_nsec=1000}, FUTEX_BITSET_MATCH_ANY) = 0`},
		{name: "futex wake bitset", nr: unix.SYS_FUTEX, args: [6]uint64{0x7ffcbecd095c, 10 | 128, 1, 0, 0, 0xffffffff}, ret: 0,
			want: `futex(0x7ffcbecd095c, FUTEX_WAKE_BITSET_PRIVATE, 1, FUTEX_BITSET_MATCH_ANY) = 0`},
		{name: "futex cmp requeue", nr: unix.SYS_FUTEX, args: [6]uint64{0x7ffcbecd095c, 4 | 128, 1, 2, 0x7ffcbecd0960, 0}, ret: 0,
			want: `futex(0x7ffcbecd095c, FUTEX_CMP_REQUEUE_PRIVATE, 1, 2, 0x7ffcbecd0960, 0) = 0`},
		{name: "futex requeue", nr: unix.SYS_FUTEX, args: [6]uint64{0x7ffcbecd095c, 3 | 128, 1, 2, 0x7ffcbecd0960, 0}, ret: 0,
			want: `futex(0x7ffcbecd095c, FUTEX_REQUEUE_PRIVATE, 1, 2, 0x7ffcbecd0960) = 0`},
		{name: "futex wake op", nr: unix.SYS_FUTEX, args: [6]uint64{0x7ffcbecd095c, 5 | 128, 1, 1, 0x7ffcbecd095c, 0<<28 | 0<<12 | 4<<24 | 1}, ret: 0,
			want: `futex(0x7ffcbecd095c, FUTEX_WAKE_OP_PRIVATE, 1, 1, 0x7ffcbecd095c, FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1) = 0`},
		{name: "futex lock pi", nr: unix.SYS_FUTEX, args: [6]uint64{0x7ffcbecd095c, 6 | 128, 0, pB}, ret: 0, mem: mem(pB, ts),
			want: `futex(0x7ffcbecd095c, FUTEX_LOCK_PI_PRIVATE, {tv_sec=0, tv_nsec=1000}) = 0`},
		{name: "futex unlock pi", nr: unix.SYS_FUTEX, args: [6]uint64{0x7ffcbecd095c, 7 | 128}, ret: 0,
			want: `futex(0x7ffcbecd095c, FUTEX_UNLOCK_PI_PRIVATE) = 0`},
		{name: "futex unknown op", nr: unix.SYS_FUTEX, args: [6]uint64{0x1000, 99, 1, 2, 3, 4}, ret: -int64(unix.ENOSYS),
			want: `futex(0x1000, 0x63, 0x1, 0x2, 0x3, 0x4) = -1 ENOSYS (Function not implemented)`},
		{name: "futex_wake", nr: 454, args: [6]uint64{0x1000, 0xffffffff, 1, 2 | 128}, ret: 0,
			want: `futex_wake(0x1000, 0xffffffff, 1, FUTEX2_SIZE_U32|FUTEX2_PRIVATE) = 0`},
		{name: "set_robust_list", nr: unix.SYS_SET_ROBUST_LIST, args: [6]uint64{0x7f619708da20, 24}, ret: 0,
			want: `set_robust_list(0x7f619708da20, 24) = 0`},
		{name: "gettid", nr: unix.SYS_GETTID, ret: 4826, want: `gettid() = 4826`},
		{name: "wait4 exited", nr: unix.SYS_WAIT4, args: [6]uint64{0xffffffff, pB, 0, 0}, ret: 4828,
			mem: mem(pB, u32s(3<<8)), want: `wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 4828`},
		{name: "wait4 killed", nr: unix.SYS_WAIT4, args: [6]uint64{4829, pB, unix.WALL, 0}, ret: 4829,
			mem: mem(pB, u32s(9)), want: `wait4(4829, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], __WALL, NULL) = 4829`},
		{name: "wait4 core", nr: unix.SYS_WAIT4, args: [6]uint64{4829, pB, 0, 0}, ret: 4829,
			mem: mem(pB, u32s(11|0x80)), want: `wait4(4829, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}], 0, NULL) = 4829`},
		{name: "wait4 stopped", nr: unix.SYS_WAIT4, args: [6]uint64{4829, pB, unix.WUNTRACED, 0}, ret: 4829,
			mem: mem(pB, u32s(19<<8|0x7f)), want: `wait4(4829, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}], WSTOPPED, NULL) = 4829`},
		{name: "wait4 nohang", nr: unix.SYS_WAIT4, args: [6]uint64{0xffffffff, pB, unix.WNOHANG, 0}, ret: 0,
			mem: mem(pB, u32s(0)), want: `wait4(-1, 0x7f0000002000, WNOHANG, NULL) = 0`},
		{name: "wait4 echild", nr: unix.SYS_WAIT4, args: [6]uint64{0xffffffff, pB, 0, 0}, ret: -int64(unix.ECHILD),
			want: `wait4(-1, 0x7f0000002000, 0, NULL) = -1 ECHILD (No child processes)`},
		{name: "waitid", nr: unix.SYS_WAITID, args: [6]uint64{unix.P_PID, 12, pB, unix.WEXITED | unix.WNOHANG, 0}, ret: 0,
			want: `waitid(P_PID, 12, 0x7f0000002000, WNOHANG|WEXITED, NULL) = 0`},
		{name: "nanosleep", nr: unix.SYS_NANOSLEEP, args: [6]uint64{pA, pB}, ret: 0, mem: mem(pA, ts, pB, u64s(0, 0)),
			want: `nanosleep({tv_sec=0, tv_nsec=1000}, {tv_sec=0, tv_nsec=0}) = 0`},
		{name: "clock_nanosleep", nr: unix.SYS_CLOCK_NANOSLEEP, args: [6]uint64{unix.CLOCK_REALTIME, 0, pA, 0}, ret: 0,
			mem: mem(pA, ts), want: `clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=1000}, NULL) = 0`},
		{name: "clock_nanosleep abs", nr: unix.SYS_CLOCK_NANOSLEEP, args: [6]uint64{unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, pA, pB},
			ret: -int64(unix.EINTR), mem: mem(pA, u64s(100, 5)),
			want: `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, {tv_sec=100, tv_nsec=5}, 0x7f0000002000) = -1 EINTR (Interrupted system call)`},
		{name: "clock_gettime", nr: unix.SYS_CLOCK_GETTIME, args: [6]uint64{unix.CLOCK_MONOTONIC, pB}, ret: 0,
			mem: mem(pB, u64s(5, 6)), entry: `clock_gettime(CLOCK_MONOTONIC, 0x7f0000002000) = ?`,
			want: `clock_gettime(CLOCK_MONOTONIC, {tv_sec=5, tv_nsec=6}) = 0`},
		{name: "restart", nr: unix.SYS_NANOSLEEP, args: [6]uint64{pA, 0}, ret: -512, mem: mem(pA, ts),
			want: `nanosleep({tv_sec=0, tv_nsec=1000}, NULL) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)`},
	})
}

func TestFormatSignals(t *testing.T) {
	act := append(u64s(0x55811ab0d40d, 0x04000000|0x10000000, 0x7ff8667bc050), sigsetOf(int(unix.SIGUSR2))...)
	old := append(u64s(0, 0, 0), u64s(0)...)
	all := ^uint64(0)
	runCases(t, []fmtCase{
		{name: "sigprocmask block", nr: unix.SYS_RT_SIGPROCMASK, args: [6]uint64{unix.SIG_BLOCK, pA, pB, 8}, ret: 0,
			mem:  mem(pA, sigsetOf(2, 15), pB, u64s(0)),
			want: `rt_sigprocmask(SIG_BLOCK, [INT TERM], [], 8) = 0`},
		{name: "sigprocmask complement", nr: unix.SYS_RT_SIGPROCMASK, args: [6]uint64{unix.SIG_SETMASK, pA, 0, 8}, ret: 0,
			mem:  mem(pA, u64s(all&^(1<<31|1<<32))),
			want: `rt_sigprocmask(SIG_SETMASK, ~[RTMIN RT_1], NULL, 8) = 0`},
		{name: "sigprocmask all", nr: unix.SYS_RT_SIGPROCMASK, args: [6]uint64{unix.SIG_BLOCK, pA, pB, 8}, ret: 0,
			mem: mem(pA, u64s(all), pB, sigsetOf(10)), want: `rt_sigprocmask(SIG_BLOCK, ~[], [USR1], 8) = 0`},
		{name: "sigprocmask rt", nr: unix.SYS_RT_SIGPROCMASK, args: [6]uint64{unix.SIG_UNBLOCK, pA, 0, 8}, ret: 0,
			mem: mem(pA, sigsetOf(32, 33, 64)), want: `rt_sigprocmask(SIG_UNBLOCK, [RTMIN RT_1 RT_32], NULL, 8) = 0`},
		{name: "sigprocmask bad size", nr: unix.SYS_RT_SIGPROCMASK, args: [6]uint64{unix.SIG_BLOCK, pA, 0, 0}, ret: -int64(unix.EINVAL),
			want: `rt_sigprocmask(SIG_BLOCK, 0x7f0000001000, NULL, 0) = -1 EINVAL (Invalid argument)`},
		{name: "rt_sigaction", nr: unix.SYS_RT_SIGACTION, args: [6]uint64{uint64(unix.SIGUSR1), pA, 0, 8}, ret: 0,
			mem:  mem(pA, act),
			want: `rt_sigaction(SIGUSR1, {sa_handler=0x55811ab0d40d, sa_mask=[USR2], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7ff8667bc050}, NULL, 8) = 0`},
		{name: "rt_sigaction old", nr: unix.SYS_RT_SIGACTION, args: [6]uint64{uint64(unix.SIGPIPE), pA, pB, 8}, ret: 0,
			mem: mem(pA, append(u64s(1, 0x04000000, 0x7ff8667bc050), sigsetOf(13)...), pB, old),
			want: `rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, sa_mask=[PIPE], sa_flags=SA_RESTORER, sa_restorer=0x7ff8667bc050}, ` +
				`{sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0`},
		{name: "rt_sigaction rt", nr: unix.SYS_RT_SIGACTION, args: [6]uint64{33, 0, pB, 8}, ret: 0,
			mem:  mem(pB, append(u64s(0x7f0d4a41a720, 0x04000000|0x08000000|0x10000000|4, 0x7f0d4a3d0050), u64s(0)...)),
			want: `rt_sigaction(SIGRT_1, NULL, {sa_handler=0x7f0d4a41a720, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_SIGINFO, sa_restorer=0x7f0d4a3d0050}, 8) = 0`},
		{name: "kill", nr: unix.SYS_KILL, args: [6]uint64{1234, uint64(unix.SIGTERM)}, ret: 0, want: `kill(1234, SIGTERM) = 0`},
		{name: "kill 0", nr: unix.SYS_KILL, args: [6]uint64{1234, 0}, ret: 0, want: `kill(1234, 0) = 0`},
		{name: "tgkill", nr: unix.SYS_TGKILL, args: [6]uint64{10, 11, 34}, ret: -int64(unix.ESRCH),
			want: `tgkill(10, 11, SIGRT_2) = -1 ESRCH (No such process)`},
		{name: "rt_sigreturn", nr: unix.SYS_RT_SIGRETURN, ret: 7, want: `rt_sigreturn() = 7`},
	})
}

func TestFormatSockets(t *testing.T) {
	var lo6 [16]byte
	lo6[15] = 1
	runCases(t, []fmtCase{
		{name: "socket", nr: unix.SYS_SOCKET, args: [6]uint64{unix.AF_INET, unix.SOCK_STREAM | unix.SOCK_CLOEXEC, 0}, ret: 4,
			want: `socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 4`},
		{name: "socket udp6", nr: unix.SYS_SOCKET, args: [6]uint64{unix.AF_INET6, unix.SOCK_DGRAM, unix.IPPROTO_UDP}, ret: 5,
			want: `socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP) = 5`},
		{name: "socket unix", nr: unix.SYS_SOCKET, args: [6]uint64{unix.AF_UNIX, unix.SOCK_STREAM | unix.SOCK_NONBLOCK, 0}, ret: 6,
			want: `socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK, 0) = 6`},
		{name: "socket netlink", nr: unix.SYS_SOCKET, args: [6]uint64{unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE}, ret: 3,
			want: `socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) = 3`},
		{name: "connect inet", nr: unix.SYS_CONNECT, args: [6]uint64{3, pA, 16}, ret: 0,
			mem:  mem(pA, sockaddrIn(80, [4]byte{127, 0, 0, 1})),
			want: `connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16) = 0`},
		{name: "connect refused", nr: unix.SYS_CONNECT, args: [6]uint64{4, pA, 16}, ret: -int64(unix.ECONNREFUSED),
			mem:  mem(pA, sockaddrIn(1, [4]byte{10, 1, 2, 3})),
			want: `connect(4, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("10.1.2.3")}, 16) = -1 ECONNREFUSED (Connection refused)`},
		{name: "connect inet6", nr: unix.SYS_CONNECT, args: [6]uint64{5, pA, 28}, ret: 0,
			mem:  mem(pA, sockaddrIn6(443, lo6, 0)),
			want: `connect(5, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0`},
		{name: "connect unix", nr: unix.SYS_CONNECT, args: [6]uint64{6, pA, 110}, ret: -int64(unix.ENOENT),
			mem:  mem(pA, append(sockaddrUn("/tmp/nosock"), make([]byte, 97)...)),
			want: `connect(6, {sa_family=AF_UNIX, sun_path="/tmp/nosock"}, 110) = -1 ENOENT (No such file or directory)`},
		{name: "connect abstract", nr: unix.SYS_CONNECT, args: [6]uint64{6, pA, 11}, ret: 0,
			mem: mem(pA, sockaddrUn("\x00abstract")), want: `connect(6, {sa_family=AF_UNIX, sun_path=@"abstract"}, 11) = 0`},
		{name: "bind bad len", nr: unix.SYS_BIND, args: [6]uint64{6, pA, 4096}, ret: -int64(unix.EINVAL),
			want: `bind(6, 0x7f0000001000, 4096) = -1 EINVAL (Invalid argument)`},
		{name: "accept", nr: unix.SYS_ACCEPT, args: [6]uint64{3, pA, pB}, ret: 7,
			mem:   mem(pA, sockaddrIn(5555, [4]byte{127, 0, 0, 1}), pB, u32s(16)),
			entry: `accept(3, 0x7f0000001000, [16]) = ?`,
			want:  `accept(3, {sa_family=AF_INET, sin_port=htons(5555), sin_addr=inet_addr("127.0.0.1")}, [16]) = 7`},
		{name: "accept4 len changes", nr: unix.SYS_ACCEPT4, args: [6]uint64{3, pA, pB, unix.SOCK_CLOEXEC}, ret: 7,
			mem:     mem(pA, make([]byte, 128), pB, u32s(128)),
			exitMem: mem(pA, sockaddrUn("/s\x00"), pB, u32s(5)),
			want:    `accept4(3, {sa_family=AF_UNIX, sun_path="/s"}, [128 => 5], SOCK_CLOEXEC) = 7`},
		{name: "sendto", nr: unix.SYS_SENDTO, args: [6]uint64{3, pA, 2, unix.MSG_NOSIGNAL | unix.MSG_DONTWAIT, pB, 16}, ret: 2,
			mem:  mem(pA, []byte("hi"), pB, sockaddrIn(53, [4]byte{127, 0, 0, 53})),
			want: `sendto(3, "hi", 2, MSG_DONTWAIT|MSG_NOSIGNAL, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 2`},
		{name: "recvfrom", nr: unix.SYS_RECVFROM, args: [6]uint64{3, pA, 512, 0, 0, 0}, ret: 3,
			mem: mem(pA, []byte("abc")), want: `recvfrom(3, "abc", 512, 0, NULL, NULL) = 3`},
		{name: "socketpair", nr: unix.SYS_SOCKETPAIR, args: [6]uint64{unix.AF_UNIX, unix.SOCK_STREAM, 0, pB}, ret: 0,
			mem: mem(pB, u32s(7, 8)), want: `socketpair(AF_UNIX, SOCK_STREAM, 0, [7, 8]) = 0`},
		{name: "pipe2", nr: unix.SYS_PIPE2, args: [6]uint64{pB, unix.O_NONBLOCK | unix.O_CLOEXEC}, ret: 0,
			mem: mem(pB, u32s(9, 11)), entry: `pipe2(0x7f0000002000, O_NONBLOCK|O_CLOEXEC) = ?`,
			want: `pipe2([9, 11], O_NONBLOCK|O_CLOEXEC) = 0`},
		{name: "pipe", nr: unix.SYS_PIPE, args: [6]uint64{pB}, ret: 0, mem: mem(pB, u32s(3, 4)), want: `pipe([3, 4]) = 0`},
		{name: "setsockopt", nr: unix.SYS_SETSOCKOPT, args: [6]uint64{3, unix.SOL_SOCKET, unix.SO_REUSEADDR, pA, 4}, ret: 0,
			mem: mem(pA, u32s(1)), want: `setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0`},
		{name: "getsockopt", nr: unix.SYS_GETSOCKOPT, args: [6]uint64{3, unix.SOL_SOCKET, unix.SO_ERROR, pA, pB}, ret: 0,
			mem: mem(pA, u32s(111), pB, u32s(4)), want: `getsockopt(3, SOL_SOCKET, SO_ERROR, [111], [4]) = 0`},
		{name: "shutdown", nr: unix.SYS_SHUTDOWN, args: [6]uint64{3, unix.SHUT_WR}, ret: 0, want: `shutdown(3, SHUT_WR) = 0`},
		{name: "poll ready", nr: unix.SYS_POLL, args: [6]uint64{pA, 2, 10}, ret: 1,
			mem:  mem(pA, append(append(u32s(9), 1, 0, 1, 0), append(u32s(4), 4, 0, 0, 0)...)),
			want: `poll([{fd=9, events=POLLIN}, {fd=4, events=POLLOUT}], 2, 10) = 1 ([{fd=9, revents=POLLIN}])`},
		{name: "poll timeout", nr: unix.SYS_POLL, args: [6]uint64{pA, 1, 0}, ret: 0,
			mem: mem(pA, append(u32s(9), 1, 0, 0, 0)), want: `poll([{fd=9, events=POLLIN}], 1, 0) = 0 (Timeout)`},
		{name: "ppoll", nr: unix.SYS_PPOLL, args: [6]uint64{pA, 1, pB, 0, 8}, ret: 1,
			mem:  mem(pA, append(u32s(0), 1, 0, 0x11, 0), pB, u64s(1, 0)),
			want: `ppoll([{fd=0, events=POLLIN}], 1, {tv_sec=1, tv_nsec=0}, NULL, 8) = 1 ([{fd=0, revents=POLLIN|POLLHUP}])`},
		{name: "epoll_ctl", nr: unix.SYS_EPOLL_CTL, args: [6]uint64{12, unix.EPOLL_CTL_ADD, 9, pA}, ret: 0,
			mem:  mem(pA, append(u32s(unix.EPOLLIN|1<<31), u64s(9)...)),
			want: `epoll_ctl(12, EPOLL_CTL_ADD, 9, {events=EPOLLIN|EPOLLET, data={u32=9, u64=9}}) = 0`},
		{name: "epoll_wait", nr: unix.SYS_EPOLL_WAIT, args: [6]uint64{12, pA, 4, 0xffffffff}, ret: 1,
			mem:  mem(pA, append(u32s(unix.EPOLLIN), u64s(9)...)),
			want: `epoll_wait(12, [{events=EPOLLIN, data={u32=9, u64=9}}], 4, -1) = 1`},
		{name: "epoll_create1", nr: unix.SYS_EPOLL_CREATE1, args: [6]uint64{unix.EPOLL_CLOEXEC}, ret: 12,
			want: `epoll_create1(EPOLL_CLOEXEC) = 12`},
	})
}

// recorded is a memory that changes between the entry and the exit: the
// first read of each address comes from entry until switched.
type recorded struct {
	entry, exit *MemMap
	atExit      bool
}

func (r *recorded) ReadAt(p []byte, addr int64) (int, error) {
	if r.atExit {
		return r.exit.ReadAt(p, addr)
	}
	return r.entry.ReadAt(p, addr)
}

func TestEntryExitMemory(t *testing.T) {
	// An execve's path is gone at its exit and a read's buffer is filled
	// only then: each is read at its own stop.
	p := &Printer{}
	var e Event
	m := &recorded{entry: mem(pA, cstr("/bin/true"), pB, u64s(pA, 0), pC, u64s(0)), exit: mem()}
	p.Enter(&e, m, X86_64, unix.SYS_EXECVE, [6]uint64{pA, pB, pC})
	m.atExit = true
	p.Exit(&e, m, 0)
	if got, want := e.String(), `execve("/bin/true", ["/bin/true"], 0x7f0000003000 /* 0 vars */) = 0`; got != want {
		t.Errorf("execve:\n got %s\nwant %s", got, want)
	}
	m = &recorded{entry: mem(pA, []byte("????")), exit: mem(pA, []byte("data"))}
	p.Enter(&e, m, X86_64, unix.SYS_READ, [6]uint64{0, pA, 4})
	m.atExit = true
	p.Exit(&e, m, 4)
	if got, want := e.String(), `read(0, "data", 4) = 4`; got != want {
		t.Errorf("read:\n got %s\nwant %s", got, want)
	}
	// Reusing the Event: nothing of the previous call leaks into the next.
	p.Enter(&e, nil, X86_64, unix.SYS_GETPID, [6]uint64{})
	p.Exit(&e, nil, 42)
	if got, want := e.String(), `getpid() = 42`; got != want {
		t.Errorf("reuse:\n got %s\nwant %s", got, want)
	}
	if e.Name() != "getpid" || e.Info().Nr != unix.SYS_GETPID {
		t.Errorf("Name %q, Info %+v", e.Name(), e.Info())
	}
}

func TestFormatMoreKinds(t *testing.T) {
	statx := make([]byte, 256)
	binary.LittleEndian.PutUint32(statx, 0x17ff)
	binary.LittleEndian.PutUint16(statx[28:], unix.S_IFDIR|0o755)
	binary.LittleEndian.PutUint64(statx[40:], 4096)
	argv := make([]uint64, 40)
	for i := range argv[:39] {
		argv[i] = pD
	}
	fds := make([]byte, 0, 40*8)
	for i := 0; i < 40; i++ {
		fds = append(fds, append(u32s(uint32(i)), 1, 0, 0, 0)...)
	}
	runCases(t, []fmtCase{
		{name: "statx", nr: unix.SYS_STATX, args: [6]uint64{uint64(0xffffff9c), pA, unix.AT_SYMLINK_NOFOLLOW, 0xfff, pB}, ret: 0,
			mem:  mem(pA, cstr("/tmp"), pB, statx),
			want: `statx(AT_FDCWD, "/tmp", AT_SYMLINK_NOFOLLOW, 0xfff, {stx_mask=0x17ff, stx_attributes=0, stx_mode=S_IFDIR|0755, stx_size=4096, ...}) = 0`},
		{name: "rt_sigpending", nr: unix.SYS_RT_SIGPENDING, args: [6]uint64{pB, 8}, ret: 0,
			mem: mem(pB, sigsetOf(17)), want: `rt_sigpending([CHLD], 8) = 0`},
		{name: "rt_sigsuspend", nr: unix.SYS_RT_SIGSUSPEND, args: [6]uint64{pA, 8}, ret: -int64(unix.EINTR),
			mem: mem(pA, sigsetOf()), want: `rt_sigsuspend([], 8) = -1 EINTR (Interrupted system call)`},
		{name: "sched_setaffinity", nr: unix.SYS_SCHED_SETAFFINITY, args: [6]uint64{0, 8, pA}, ret: 0,
			mem: mem(pA, u64s(1<<1|1<<9)), want: `sched_setaffinity(0, 8, [1 9]) = 0`},
		{name: "getresuid", nr: unix.SYS_GETRESUID, args: [6]uint64{pA, pB, pC}, ret: 0,
			mem: mem(pA, u32s(0), pB, u32s(1000), pC, u32s(0xffffffff)), want: `getresuid([0], [1000], [-1]) = 0`},
		{name: "setns", nr: unix.SYS_SETNS, args: [6]uint64{5, unix.CLONE_NEWNET}, ret: 0, want: `setns(5, CLONE_NEWNET) = 0`},
		{name: "mq_open create", nr: unix.SYS_MQ_OPEN, args: [6]uint64{pA, unix.O_RDWR | unix.O_CREAT, 0o600, 0}, ret: 3,
			mem: mem(pA, cstr("q")), want: `mq_open("q", O_RDWR|O_CREAT, 0600, NULL) = 3`},
		{name: "mq_open", nr: unix.SYS_MQ_OPEN, args: [6]uint64{pA, unix.O_RDONLY, 0o600, 0}, ret: 3,
			mem: mem(pA, cstr("q")), want: `mq_open("q", O_RDONLY) = 3`},
		{name: "eventfd2", nr: unix.SYS_EVENTFD2, args: [6]uint64{0, unix.EFD_CLOEXEC | unix.EFD_NONBLOCK}, ret: 5,
			want: `eventfd2(0, EFD_NONBLOCK|EFD_CLOEXEC) = 5`},
		{name: "close_range", nr: unix.SYS_CLOSE_RANGE, args: [6]uint64{3, 0xffffffff, unix.CLOSE_RANGE_CLOEXEC}, ret: 0,
			want: `close_range(3, 4294967295, CLOSE_RANGE_CLOEXEC) = 0`},
		{name: "renameat2", nr: unix.SYS_RENAMEAT2, args: [6]uint64{3, pA, uint64(0xffffff9c), pB, unix.RENAME_NOREPLACE}, ret: 0,
			mem: mem(pA, cstr("a"), pB, cstr("b")), want: `renameat2(3, "a", AT_FDCWD, "b", RENAME_NOREPLACE) = 0`},
		{name: "setxattr", nr: unix.SYS_SETXATTR, args: [6]uint64{pA, pB, pC, 3, 0}, ret: 0,
			mem: mem(pA, cstr("/f"), pB, cstr("user.k"), pC, []byte("v\x00w")), want: `setxattr("/f", "user.k", "v\x00w", 3, 0) = 0`},
		{name: "accept4 flags", nr: unix.SYS_ACCEPT4, args: [6]uint64{3, 0, 0, unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC}, ret: 4,
			want: `accept4(3, NULL, NULL, SOCK_NONBLOCK|SOCK_CLOEXEC) = 4`},
		{name: "unreadable timespec", nr: unix.SYS_NANOSLEEP, args: [6]uint64{0xdead0000, 0}, ret: -int64(unix.EFAULT),
			want: `nanosleep(0xdead0000, NULL) = -1 EFAULT (Bad address)`},
		{name: "argv cut", nr: unix.SYS_EXECVE, args: [6]uint64{pA, pB, 0}, ret: 0, limit: 2,
			mem:  mem(pA, cstr("/p"), pB, u64s(argv...), pD, cstr("xyz")),
			want: `execve("/p", [` + strings.Repeat(`"xy"..., `, 32) + `...], NULL) = 0`},
		{name: "poll many", nr: unix.SYS_POLL, args: [6]uint64{pA, 40, 0xffffffff}, ret: -int64(unix.EINTR),
			mem: mem(pA, fds),
			want: `poll([` + func() string {
				var parts []string
				for i := 0; i < 32; i++ {
					parts = append(parts, "{fd="+strconv.Itoa(i)+", events=POLLIN}")
				}
				return strings.Join(parts, ", ")
			}() + `, ...], 40, -1) = -1 EINTR (Interrupted system call)`},
		{name: "epoll_pwait", nr: unix.SYS_EPOLL_PWAIT, args: [6]uint64{12, pA, 8, 100, pB, 8}, ret: 0,
			mem: mem(pB, sigsetOf(10)), want: `epoll_pwait(12, [], 8, 100, [USR1], 8) = 0`},
		{name: "getsockname inet6", nr: unix.SYS_GETSOCKNAME, args: [6]uint64{3, pA, pB}, ret: 0,
			mem:  mem(pA, sockaddrIn6(8080, [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}, 2), pB, u32s(28)),
			want: `getsockname(3, {sa_family=AF_INET6, sin6_port=htons(8080), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=2}, [28]) = 0`},
	})
}

func TestFormatOtherABIs(t *testing.T) {
	runCases(t, []fmtCase{
		{name: "unknown number", nr: 999, args: [6]uint64{1, 2}, ret: -int64(unix.ENOSYS),
			want: `syscall_999(0x1, 0x2, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)`},
		{name: "gap in table", nr: 400, args: [6]uint64{}, ret: -int64(unix.ENOSYS),
			want: `syscall_400(0, 0, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)`},
		{name: "unknown errno", nr: unix.SYS_GETPID, ret: -600, want: `getpid() = -1 ERRNO_600 (Unknown error 600)`},
		{name: "i386 write", arch: I386, nr: 4, args: [6]uint64{1, 0x8000, 3}, ret: 3,
			mem: mem(0x8000, []byte("hi\n")), want: `i386:write(1, "hi\n", 3) = 3`},
		{name: "i386 getpid", arch: I386, nr: 20, ret: 1234, want: `i386:getpid() = 1234`},
		{name: "i386 exit", arch: I386, nr: 1, args: [6]uint64{0xffffffff}, want: `i386:exit(-1) = ?`, entry: `i386:exit(-1) = ?`},
		{name: "i386 open", arch: I386, nr: 5, args: [6]uint64{0x8000, unix.O_RDONLY | oLargefile}, ret: 3,
			mem: mem(0x8000, cstr("/etc/hosts")), want: `i386:open("/etc/hosts", O_RDONLY|O_LARGEFILE) = 3`},
		{name: "i386 lseek negative", arch: I386, nr: 19, args: [6]uint64{3, 0xfffffff6, 2}, ret: 0,
			want: `i386:lseek(3, -10, SEEK_END) = 0`},
		{name: "i386 upper bits cleared", arch: I386, nr: 4, args: [6]uint64{1 | 0xdead<<32, 0x8000 | 0xdead<<32, 2}, ret: 2,
			mem: mem(0x8000, []byte("ok")), want: `i386:write(1, "ok", 2) = 2`},
		{name: "i386 socketcall", arch: I386, nr: 102, args: [6]uint64{1, 0x8000}, ret: 3,
			want: `i386:socketcall(0x1, 0x8000, 0, 0, 0, 0) = 3`},
		{name: "i386 mmap2", arch: I386, nr: 192, args: [6]uint64{0, 4096, 3, 0x22, 0xffffffff, 0}, ret: 0xf7ff0000,
			want: `i386:mmap2(0, 0x1000, 0x3, 0x22, 0xffffffff, 0) = 0xf7ff0000`},
		{name: "i386 sigaction differs", arch: I386, nr: 174, args: [6]uint64{2, 0x8000, 0, 8}, ret: 0,
			want: `i386:rt_sigaction(0x2, 0x8000, 0, 0x8, 0, 0) = 0`},
		{name: "i386 futex_time64", arch: I386, nr: 422, args: [6]uint64{0x8000, 129, 1}, ret: 0,
			want: `i386:futex_time64(0x8000, FUTEX_WAKE_PRIVATE, 1) = 0`},
		{name: "i386 clone3", arch: I386, nr: 435, args: [6]uint64{0x8000, 88}, ret: 0,
			mem:  mem(0x8000, u64s(unix.CLONE_VM, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0)),
			want: `i386:clone3({flags=CLONE_VM, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88) = 0`},
		{name: "i386 prlimit64", arch: I386, nr: 340, args: [6]uint64{0, unix.RLIMIT_NOFILE, 0, 0x8000}, ret: 0,
			mem:  mem(0x8000, u64s(1024, 4096)),
			want: `i386:prlimit64(0, RLIMIT_NOFILE, NULL, {rlim_cur=1024, rlim_max=4*1024}) = 0`},
		{name: "i386 unknown", arch: I386, nr: 500, ret: -int64(unix.ENOSYS),
			want: `i386:syscall_500(0, 0, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)`},
		{name: "x32 read", arch: X32, nr: 0, args: [6]uint64{0, 0x8000, 10}, ret: 2,
			mem: mem(0x8000, []byte("ok")), want: `x32:read(0, "ok", 10) = 2`},
		{name: "x32 own number", arch: X32, nr: 512, args: [6]uint64{2, 0x8000, 0, 8}, ret: 0,
			want: `x32:rt_sigaction(0x2, 0x8000, 0, 0x8, 0, 0) = 0`},
		{name: "x32 64-bit only number", arch: X32, nr: 13, ret: -int64(unix.ENOSYS),
			want: `x32:syscall_13(0, 0, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)`},
	})
}

func TestNamesAndNumbers(t *testing.T) {
	for _, c := range []struct {
		arch Arch
		nr   int
		name string
	}{
		{X86_64, 0, "read"}, {X86_64, 56, "clone"}, {X86_64, 202, "futex"}, {X86_64, 231, "exit_group"},
		{X86_64, 257, "openat"}, {X86_64, 334, "rseq"}, {X86_64, 335, "uretprobe"}, {X86_64, 336, "uprobe"},
		{X86_64, 435, "clone3"}, {X86_64, 451, "cachestat"}, {X86_64, 452, "fchmodat2"},
		{X86_64, 453, "map_shadow_stack"}, {X86_64, 454, "futex_wake"}, {X86_64, 455, "futex_wait"},
		{X86_64, 456, "futex_requeue"}, {X86_64, 457, "statmount"}, {X86_64, 458, "listmount"},
		{X86_64, 459, "lsm_get_self_attr"}, {X86_64, 460, "lsm_set_self_attr"}, {X86_64, 461, "lsm_list_modules"},
		{X86_64, 462, "mseal"}, {X86_64, 463, "setxattrat"}, {X86_64, 464, "getxattrat"},
		{X86_64, 465, "listxattrat"}, {X86_64, 466, "removexattrat"}, {X86_64, 467, "open_tree_attr"},
		{X86_64, 468, "file_getattr"}, {X86_64, 469, "file_setattr"}, {X86_64, 470, "listns"},
		{I386, 1, "exit"}, {I386, 20, "getpid"}, {I386, 102, "socketcall"}, {I386, 240, "futex"},
		{I386, 422, "futex_time64"}, {I386, 435, "clone3"}, {I386, 462, "mseal"}, {I386, 470, "listns"},
		{X32, 0, "read"}, {X32, 512, "rt_sigaction"}, {X32, 547, "pwritev2"}, {X32, 435, "clone3"},
	} {
		if got := c.arch.Name(c.nr); got != c.name {
			t.Errorf("%v.Name(%d) = %q, want %q", c.arch, c.nr, got, c.name)
		}
		if nr, ok := c.arch.Number(c.name); !ok || nr != c.nr {
			t.Errorf("%v.Number(%q) = %d, %v; want %d", c.arch, c.name, nr, ok, c.nr)
		}
	}
	if got := Name(999); got != "syscall_999" {
		t.Errorf("Name(999) = %q", got)
	}
	if got := Name(-1); got != "syscall_-1" {
		t.Errorf("Name(-1) = %q", got)
	}
	if nr, ok := Number("syscall_999"); !ok || nr != 999 {
		t.Errorf("Number(syscall_999) = %d, %v", nr, ok)
	}
	for _, bad := range []string{"", "nosuchcall", "syscall_", "syscall_x", "READ"} {
		if nr, ok := Number(bad); ok {
			t.Errorf("Number(%q) = %d, true", bad, nr)
		}
	}
	if n := len(X86_64.Names()); n != 384 {
		t.Errorf("x86-64 has %d named calls, want 384 (0-336, 424-470)", n)
	}
	// Every named x86-64 call has a signature or an operation-dependent
	// one, except the never-implemented slots.
	unimplemented := map[string]bool{"create_module": true, "get_kernel_syms": true, "query_module": true,
		"nfsservctl": true, "getpmsg": true, "putpmsg": true, "afs_syscall": true, "tuxcall": true,
		"security": true, "epoll_ctl_old": true, "epoll_wait_old": true, "vserver": true, "_sysctl": true}
	for _, name := range X86_64.Names() {
		nr, _ := Number(name)
		in := Lookup(X86_64, nr)
		if in.Args == nil && in.dyn == nil && !unimplemented[name] {
			t.Errorf("%s (%d) has no signature", name, nr)
		}
	}
	if Lookup(X86_64, 1000) != nil || Lookup(X86_64, -5) != nil || Lookup(Arch(9), 0) != nil {
		t.Error("Lookup of a number without a name is not nil")
	}
}

func TestSignaturesConsistent(t *testing.T) {
	// Every Aux, Reg and WhenArg names an argument register, and every
	// length-carrying kind has its length inside the six registers.
	check := func(name string, args []Arg) {
		for i := range args {
			a := &args[i]
			if r := a.reg(i); r < 0 || r > 5 {
				t.Errorf("%s arg %d: register %d", name, i, r)
			}
			switch a.Kind {
			case InBuf, IovIn, IovOut, Sockaddr, SockaddrOut, Sigset, SigsetOut, CloneArgs, PollFds, CPUSet, OpenHow:
				if x := a.aux(a.reg(i)); x < 0 || x > 5 || x == a.reg(i) {
					t.Errorf("%s arg %d (%d): aux %d", name, i, a.Kind, x)
				}
			}
			if a.When != 0 && (a.WhenArg < 0 || a.WhenArg > 5) {
				t.Errorf("%s arg %d: WhenArg %d", name, i, a.WhenArg)
			}
		}
	}
	for name, args := range x86_64Sigs {
		if len(args) > 6 {
			t.Errorf("%s has %d args", name, len(args))
		}
		if nr, ok := Number(name); !ok {
			t.Errorf("signature for unknown call %q", name)
		} else if Lookup(X86_64, nr).Args == nil {
			t.Errorf("signature for %q not in the table", name)
		}
		check(name, args)
	}
	for name := range x86_64Dyn {
		if _, ok := x86_64Sigs[name]; ok {
			t.Errorf("%s has both a static and a dynamic signature", name)
		}
	}
	for _, s := range [][]Arg{futexSigWait, futexSigWake, futexSigWaitBits, futexSigWakeBits, futexSigRequeue,
		futexSigCmpReq, futexSigWakeOp, futexSigLockPI, futexSigUnlockPI, futexSigWaitReq, futexSigOther,
		fcntlSigNone, fcntlSigFD, fcntlSigFL, fcntlSigInt, fcntlSigOther, prctlSigNone, prctlSigName,
		prctlSigPtr, prctlSigSig, prctlSigUlong, prctlSigOther, setsockoptSigInt, setsockoptSigBuf} {
		check("dyn", s)
	}
}

func TestErrnoNames(t *testing.T) {
	for _, c := range []struct {
		e    int
		want string
	}{
		{2, "-1 ENOENT (No such file or directory)"},
		{11, "-1 EAGAIN (Resource temporarily unavailable)"},
		{4, "-1 EINTR (Interrupted system call)"},
		{38, "-1 ENOSYS (Function not implemented)"},
		{110, "-1 ETIMEDOUT (Connection timed out)"},
		{513, "? ERESTARTNOINTR (To be restarted)"},
		{516, "? ERESTART_RESTARTBLOCK (Interrupted by signal)"},
		{4095, "-1 ERRNO_4095 (Unknown error 4095)"},
	} {
		if got := string(appendErrno(nil, c.e)); got != c.want {
			t.Errorf("errno %d: %q, want %q", c.e, got, c.want)
		}
	}
	if ErrnoName(1) != "EPERM" || ErrnoName(700) != "ERRNO_700" || ErrnoName(512) != "ERESTARTSYS" {
		t.Errorf("ErrnoName: %s %s %s", ErrnoName(1), ErrnoName(700), ErrnoName(512))
	}
	if !IsError(-1) || !IsError(-4095) || IsError(-4096) || IsError(0) || IsError(5) {
		t.Error("IsError bounds")
	}
}

func TestMemMap(t *testing.T) {
	m := mem(0x1000, []byte("abcd"), 0x1004, []byte("efgh"), 0x2000, []byte("xyz"))
	b := make([]byte, 8)
	if n, err := m.ReadAt(b, 0x1000); n != 8 || err != nil || string(b) != "abcdefgh" {
		t.Errorf("adjacent read: %d %v %q", n, err, b)
	}
	if n, err := m.ReadAt(b[:4], 0x2001); n != 2 || err == nil || string(b[:2]) != "yz" {
		t.Errorf("partial read: %d %v %q", n, err, b[:n])
	}
	if n, err := m.ReadAt(b[:1], 0x3000); n != 0 || err == nil {
		t.Errorf("unmapped read: %d %v", n, err)
	}
	m.Map(0x1002, []byte("ZZ"))
	if n, _ := m.ReadAt(b, 0x1000); n != 8 || string(b) != "abZZefgh" {
		t.Errorf("after overwrite: %q", b)
	}
}

func TestNoAllocs(t *testing.T) {
	// A reused Event and line buffer: formatting a call allocates nothing.
	m := mem(pA, cstr("/etc/passwd"), pB, []byte("abc"), pC, sockaddrIn(80, [4]byte{127, 0, 0, 1}),
		pD, sigsetOf(2, 15))
	p := &Printer{}
	var e Event
	line := make([]byte, 0, 256)
	calls := []struct {
		nr   int
		args [6]uint64
		ret  int64
	}{
		{unix.SYS_OPENAT, [6]uint64{uint64(0xffffff9c), pA, unix.O_RDONLY | unix.O_CLOEXEC}, 3},
		{unix.SYS_READ, [6]uint64{3, pB, 10}, 3},
		{unix.SYS_CONNECT, [6]uint64{3, pC, 16}, -int64(unix.ECONNREFUSED)},
		{unix.SYS_RT_SIGPROCMASK, [6]uint64{0, pD, 0, 8}, 0},
		{unix.SYS_FUTEX, [6]uint64{pA, 128, 0, 0}, -11},
		{unix.SYS_MMAP, [6]uint64{0, 4096, 3, 0x22, 0xffffffff, 0}, 0x7f0000000000},
	}
	run := func() {
		for _, c := range calls {
			p.Enter(&e, m, X86_64, c.nr, c.args)
			p.Exit(&e, m, c.ret)
			line = e.AppendTo(line[:0])
		}
	}
	run() // grow the buffers
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%.1f allocations per batch of %d calls, want 0", n, len(calls))
	}
}

func BenchmarkFormat(b *testing.B) {
	m := mem(pA, cstr("/etc/passwd"), pB, []byte("abc"))
	p := &Printer{}
	var e Event
	line := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		p.Enter(&e, m, X86_64, unix.SYS_OPENAT, [6]uint64{uint64(0xffffff9c), pA, unix.O_RDONLY | unix.O_CLOEXEC})
		p.Exit(&e, m, 3)
		line = e.AppendTo(line[:0])
		p.Enter(&e, m, X86_64, unix.SYS_READ, [6]uint64{3, pB, 10})
		p.Exit(&e, m, 3)
		line = e.AppendTo(line[:0])
	}
}

// TestNeverPanics formats every call of every ABI with random arguments
// pointing into random memory (and past it), random results, and no
// memory at all: formatting must not fail.
func TestNeverPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1<<16)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	const base = 0x10000
	m := mem(base, data)
	pick := func() uint64 {
		switch r.IntN(6) {
		case 0:
			return uint64(r.IntN(16))
		case 1:
			return base + uint64(r.IntN(len(data)))
		case 2:
			return base + uint64(len(data)) - uint64(r.IntN(64)) // runs off the end
		case 3:
			return r.Uint64()
		case 4:
			return uint64(r.Uint32())
		}
		return 0
	}
	p := &Printer{Limit: 1 + r.IntN(64)}
	var e Event
	var line []byte
	for _, arch := range []Arch{X86_64, I386, X32, Arch(7)} {
		for nr := -1; nr < len(table(arch))+2; nr++ {
			for i := 0; i < 30; i++ {
				var args [6]uint64
				for j := range args {
					args[j] = pick()
				}
				ret := int64(pick())
				if i%3 == 0 {
					ret = -int64(r.IntN(4096))
				}
				var mm Memory = m
				if i%7 == 0 {
					mm = nil
				}
				p.Enter(&e, mm, arch, nr, args)
				line = e.AppendTo(line[:0])
				p.Exit(&e, mm, ret)
				line = e.AppendTo(line[:0])
				if len(line) == 0 || !strings.Contains(string(line), " = ") {
					t.Fatalf("%v %d: %q", arch, nr, line)
				}
			}
		}
	}
}
