package syscalls

import (
	"strconv"
	"strings"
)

// Arch is the system call ABI a guest used for one call (intercept's
// Syscall.Arch). On x86-64 a 64-bit process reaches three: the native one,
// i386's through `int $0x80`, and x32's.
type Arch uint8

const (
	// X86_64 is the native 64-bit ABI (the `syscall` instruction).
	X86_64 Arch = iota
	// I386 is the 32-bit ABI reached with `int $0x80` from a 64-bit
	// process. Numbers follow the i386 table.
	I386
	// X32 is the x32 ABI (native instruction, x32 bit set in the number;
	// numbers here have the bit cleared).
	X32
)

func (a Arch) String() string {
	switch a {
	case X86_64:
		return "x86_64"
	case I386:
		return "i386"
	case X32:
		return "x32"
	}
	return "arch(" + strconv.Itoa(int(a)) + ")"
}

// Kind says how one argument is decoded.
type Kind uint8

// Argument kinds. "In" arguments are decoded at the syscall entry, "out"
// arguments at its exit when it succeeded (before that, or after a failure,
// they show as an address); in/out ones at both.
const (
	Hex             Kind = iota // unsigned, 0x...; 0 shows as 0
	Ptr                         // address: NULL or 0x...
	Int                         // signed long, decimal
	Int32                       // int, decimal
	Uint                        // unsigned long (size_t), decimal
	Uint32                      // unsigned int, decimal
	Octal                       // mode_t: 0644
	FD                          // file descriptor (int)
	DirFD                       // directory fd: AT_FDCWD or an fd
	Path                        // NUL-terminated path, shown up to PATH_MAX
	String                      // NUL-terminated string, cut at the limit
	InBuf                       // bytes written; length in argument Aux
	OutBuf                      // bytes read (out); length is the result
	OutString                   // out string of result length (readlink, getcwd)
	IovIn                       // struct iovec[Aux] written
	IovOut                      // struct iovec[Aux] read (out); total is the result
	OpenFlags                   // O_* flags with the access mode: O_RDONLY|O_CLOEXEC
	FileFlags                   // O_* flags without an access mode (pipe2, dup3): O_CLOEXEC
	Mode                        // mode_t: octal, like Octal
	MmapProt                    // PROT_*
	MmapFlags                   // MAP_*
	CloneFlags                  // clone(2) flags with the exit signal in the low byte
	NSFlags                     // CLONE_NEW* and other unshare/setns flags
	CloneArgs                   // struct clone_args (clone3); size in argument Aux
	FutexOp                     // futex op: cmd | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME
	FutexVal3                   // futex bitset: FUTEX_BITSET_MATCH_ANY or hex
	FutexWakeOp                 // FUTEX_OP(op, oparg, cmp, cmparg)
	Futex2Flags                 // FUTEX2_SIZE_* | FUTEX2_NUMA | FUTEX2_PRIVATE
	Timespec                    // struct timespec (in)
	TimespecOut                 // struct timespec (out)
	ClockID                     // CLOCK_*
	TimerFlags                  // TIMER_ABSTIME
	SockDomain                  // AF_*
	SockType                    // SOCK_* | SOCK_NONBLOCK | SOCK_CLOEXEC
	SockProto                   // IPPROTO_* etc., by the domain in argument 0
	Sockaddr                    // struct sockaddr (in); length in argument Aux
	SockaddrOut                 // struct sockaddr (out); *socklen_t in argument Aux
	SockLenInOut                // socklen_t *: [in] at entry, [in => out] at exit
	MsgFlags                    // MSG_*
	ShutdownHow                 // SHUT_*
	SockLevel                   // SOL_*
	SockOpt                     // SO_* when the level (argument 1) is SOL_SOCKET
	FDPair                      // int[2] (out): pipe, pipe2, socketpair
	Signal                      // signal number
	Sigset                      // sigset_t (in); size in argument Aux
	SigsetOut                   // sigset_t (out); size in argument Aux
	SigHow                      // SIG_BLOCK / SIG_UNBLOCK / SIG_SETMASK
	Sigaction                   // struct sigaction (in)
	SigactionOut                // struct sigaction (out)
	WaitOptions                 // WNOHANG | __WALL ...
	WaitStatusOut               // int *wstatus (out)
	IDType                      // waitid's P_*
	PollFds                     // struct pollfd[Aux]: events at entry, revents after the result
	AtFlags                     // AT_* for *at calls
	AccessAtFlags               // faccessat2: AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH
	AccessMode                  // F_OK or R_OK|W_OK|X_OK
	Whence                      // SEEK_*
	PrctlOption                 // PR_*
	ArchPrctlCode               // ARCH_*
	IoctlReq                    // TCGETS, FIONREAD, ...
	FcntlCmd                    // F_*
	FDFlags                     // FD_CLOEXEC
	Advice                      // MADV_*
	EpollCtlOp                  // EPOLL_CTL_*
	EpollEvent                  // struct epoll_event (in)
	EpollEventsOut              // struct epoll_event[result] (out)
	Rlimit                      // RLIMIT_* resource
	RlimitIn                    // struct rlimit (in)
	RlimitOut                   // struct rlimit (out)
	StatOut                     // struct stat (out)
	StatxOut                    // struct statx (out)
	UnameOut                    // struct utsname (out)
	CPUSet                      // cpu_set_t (in); size in argument Aux
	CPUSetOut                   // cpu_set_t (out); size is the result
	Argv                        // NULL-terminated string array
	Envp                        // NULL-terminated string array, shown as a count
	GrndFlags                   // GRND_*
	MemfdFlags                  // MFD_*
	EfdFlags                    // EFD_*
	EpollFlags                  // EPOLL_CLOEXEC
	CloseRangeFlags             // CLOSE_RANGE_*
	OpenHow                     // struct open_how (openat2)
	RenameFlags                 // RENAME_*
	MremapFlags                 // MREMAP_*
	MsyncFlags                  // MS_*
	Int32Ptr                    // int * (in): [n]
	Int32PtrOut                 // int * (out): [n]
	numKinds
)

// RetKind says how a result is shown.
type RetKind uint8

const (
	RetInt   RetKind = iota // decimal
	RetHex                  // address (mmap, brk): 0x...
	RetOctal                // umask
	RetNone                 // never returns (exit, exit_group): ?
)

// Arg is one argument of a signature.
type Arg struct {
	Kind Kind
	// Aux is the index of a related argument: a buffer's length, a
	// sigset's size, a mode's flags. Zero means the next argument.
	Aux int8
	// Reg, if non-zero, is 1 + the index of the argument register shown
	// here; zero means the argument's own position. clone(2) shows its
	// arguments in strace's order, not the register order.
	Reg int8
	// Name, if set, is shown as "Name=" before the value.
	Name string
	// When, if non-zero, hides the argument unless argument WhenArg has
	// one of these bits set (open's mode needs O_CREAT or O_TMPFILE).
	When    uint64
	WhenArg int8
}

// reg returns the register index argument position i shows.
func (a *Arg) reg(i int) int {
	if a.Reg != 0 {
		return int(a.Reg) - 1
	}
	return i
}

// aux returns the index of the related argument of the argument at i.
func (a *Arg) aux(i int) int {
	if a.Aux != 0 {
		return int(a.Aux)
	}
	return i + 1
}

// Info describes one system call of one ABI.
type Info struct {
	// Name is the kernel's name for the call ("openat", "clone3").
	Name string
	// Nr is its number in its ABI.
	Nr   int
	Arch Arch
	// Args is the signature; nil when unknown (six hex arguments).
	Args []Arg
	Ret  RetKind
	// dyn, if set, picks the signature from the argument values.
	dyn func(a *[6]uint64) []Arg
}

// signature returns the arguments to show for a call with these values.
func (in *Info) signature(a *[6]uint64) []Arg {
	if in.dyn != nil {
		return in.dyn(a)
	}
	if in.Args == nil {
		return hexArgs
	}
	return in.Args
}

var hexArgs = []Arg{{Kind: Hex}, {Kind: Hex}, {Kind: Hex}, {Kind: Hex}, {Kind: Hex}, {Kind: Hex}}

// Lookup returns the description of call nr in arch, or nil if the number
// has no name. The Info is shared: callers must not modify it.
func Lookup(arch Arch, nr int) *Info {
	t := table(arch)
	if nr < 0 || nr >= len(t) || t[nr].Name == "" {
		return nil
	}
	return &t[nr]
}

// Name returns the name of x86-64 system call nr, or "syscall_NNN" for a
// number with no name.
func Name(nr int) string { return X86_64.Name(nr) }

// Number returns the number of the named x86-64 system call.
func Number(name string) (int, bool) { return X86_64.Number(name) }

// Name returns the name of call nr in a, or "syscall_NNN".
func (a Arch) Name(nr int) string {
	if in := Lookup(a, nr); in != nil {
		return in.Name
	}
	return "syscall_" + strconv.Itoa(nr)
}

// Number returns the number of the named call in a. "syscall_NNN" names
// NNN.
func (a Arch) Number(name string) (int, bool) {
	t := table(a)
	for nr := range t {
		if name != "" && t[nr].Name == name {
			return nr, true
		}
	}
	if rest, ok := strings.CutPrefix(name, "syscall_"); ok {
		if nr, err := strconv.Atoi(rest); err == nil && nr >= 0 && nr < 1<<20 {
			return nr, true
		}
	}
	return 0, false
}

// Names returns the names of every call in a, in number order.
func (a Arch) Names() []string {
	var out []string
	for _, in := range table(a) {
		if in.Name != "" {
			out = append(out, in.Name)
		}
	}
	return out
}
