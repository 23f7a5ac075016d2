package syscalls

import "golang.org/x/sys/unix"

// Signatures of the x86-64 calls, by name, in the kernel's argument order
// (include/linux/syscalls.h). Calls not listed show six hex arguments.

func k(kind Kind) Arg { return Arg{Kind: kind} }

// ka is a kind whose related argument (length, size) is at index aux.
func ka(kind Kind, aux int) Arg { return Arg{Kind: kind, Aux: int8(aux)} }

// sig makes a signature; an empty one is non-nil (the call has no
// arguments).
func sig(args ...Arg) []Arg { return append([]Arg{}, args...) }

var (
	hex   = k(Hex)
	ptr   = k(Ptr)
	long  = k(Int)
	i32   = k(Int32)
	ulong = k(Uint)
	u32   = k(Uint32)
	fd    = k(FD)
	dirfd = k(DirFD)
	path  = k(Path)
	str   = k(String)
	inbuf = k(InBuf)
	mode  = k(Mode)
	sigA  = k(Signal)
)

// openMode is open's mode argument: shown only with O_CREAT or O_TMPFILE
// in the flags at index flagsArg.
func openMode(flagsArg int) Arg {
	return Arg{Kind: Mode, When: unix.O_CREAT | unix.O_TMPFILE&^unix.O_DIRECTORY, WhenArg: int8(flagsArg)}
}

var cloneSig = sig(
	Arg{Kind: Ptr, Reg: 2, Name: "child_stack"},
	Arg{Kind: CloneFlags, Reg: 1, Name: "flags"},
	Arg{Kind: Ptr, Reg: 3, Name: "parent_tid", When: unix.CLONE_PARENT_SETTID},
	Arg{Kind: Ptr, Reg: 5, Name: "tls", When: unix.CLONE_SETTLS},
	Arg{Kind: Ptr, Reg: 4, Name: "child_tidptr", When: unix.CLONE_CHILD_SETTID | unix.CLONE_CHILD_CLEARTID},
)

var x86_64Sigs = map[string][]Arg{
	"read":                    sig(fd, k(OutBuf), ulong),
	"write":                   sig(fd, inbuf, ulong),
	"open":                    sig(path, k(OpenFlags), openMode(1)),
	"close":                   sig(fd),
	"stat":                    sig(path, k(StatOut)),
	"fstat":                   sig(fd, k(StatOut)),
	"lstat":                   sig(path, k(StatOut)),
	"poll":                    sig(k(PollFds), u32, i32),
	"lseek":                   sig(fd, long, k(Whence)),
	"mmap":                    sig(ptr, ulong, k(MmapProt), k(MmapFlags), fd, hex),
	"mprotect":                sig(ptr, ulong, k(MmapProt)),
	"munmap":                  sig(ptr, ulong),
	"brk":                     sig(ptr),
	"rt_sigaction":            sig(sigA, ka(Sigaction, 3), ka(SigactionOut, 3), ulong),
	"rt_sigprocmask":          sig(k(SigHow), ka(Sigset, 3), ka(SigsetOut, 3), ulong),
	"rt_sigreturn":            sig(),
	"ioctl":                   sig(fd, k(IoctlReq), hex),
	"pread64":                 sig(fd, k(OutBuf), ulong, long),
	"pwrite64":                sig(fd, inbuf, ulong, long),
	"readv":                   sig(fd, k(IovOut), i32),
	"writev":                  sig(fd, k(IovIn), i32),
	"access":                  sig(path, k(AccessMode)),
	"pipe":                    sig(k(FDPair)),
	"select":                  sig(i32, ptr, ptr, ptr, ptr),
	"sched_yield":             sig(),
	"mremap":                  sig(ptr, ulong, ulong, k(MremapFlags), ptr),
	"msync":                   sig(ptr, ulong, k(MsyncFlags)),
	"mincore":                 sig(ptr, ulong, ptr),
	"madvise":                 sig(ptr, ulong, k(Advice)),
	"shmget":                  sig(hex, ulong, hex),
	"shmat":                   sig(i32, ptr, hex),
	"shmctl":                  sig(i32, i32, ptr),
	"dup":                     sig(fd),
	"dup2":                    sig(fd, fd),
	"pause":                   sig(),
	"nanosleep":               sig(k(Timespec), k(TimespecOut)),
	"getitimer":               sig(i32, ptr),
	"alarm":                   sig(u32),
	"setitimer":               sig(i32, ptr, ptr),
	"getpid":                  sig(),
	"sendfile":                sig(fd, fd, ptr, ulong),
	"socket":                  sig(k(SockDomain), k(SockType), k(SockProto)),
	"connect":                 sig(fd, k(Sockaddr), u32),
	"accept":                  sig(fd, k(SockaddrOut), k(SockLenInOut)),
	"sendto":                  sig(fd, inbuf, ulong, k(MsgFlags), k(Sockaddr), u32),
	"recvfrom":                sig(fd, k(OutBuf), ulong, k(MsgFlags), k(SockaddrOut), k(SockLenInOut)),
	"sendmsg":                 sig(fd, ptr, k(MsgFlags)),
	"recvmsg":                 sig(fd, ptr, k(MsgFlags)),
	"shutdown":                sig(fd, k(ShutdownHow)),
	"bind":                    sig(fd, k(Sockaddr), u32),
	"listen":                  sig(fd, i32),
	"getsockname":             sig(fd, k(SockaddrOut), k(SockLenInOut)),
	"getpeername":             sig(fd, k(SockaddrOut), k(SockLenInOut)),
	"socketpair":              sig(k(SockDomain), k(SockType), k(SockProto), k(FDPair)),
	"getsockopt":              sig(fd, k(SockLevel), k(SockOpt), k(Int32PtrOut), k(SockLenInOut)),
	"clone":                   cloneSig,
	"fork":                    sig(),
	"vfork":                   sig(),
	"execve":                  sig(path, k(Argv), k(Envp)),
	"exit":                    sig(i32),
	"wait4":                   sig(i32, k(WaitStatusOut), k(WaitOptions), ptr),
	"kill":                    sig(i32, sigA),
	"uname":                   sig(k(UnameOut)),
	"semget":                  sig(hex, i32, hex),
	"semop":                   sig(i32, ptr, ulong),
	"semctl":                  sig(i32, i32, i32, hex),
	"shmdt":                   sig(ptr),
	"msgget":                  sig(hex, hex),
	"msgsnd":                  sig(i32, ptr, ulong, hex),
	"msgrcv":                  sig(i32, ptr, ulong, long, hex),
	"msgctl":                  sig(i32, i32, ptr),
	"flock":                   sig(fd, hex),
	"fsync":                   sig(fd),
	"fdatasync":               sig(fd),
	"truncate":                sig(path, long),
	"ftruncate":               sig(fd, long),
	"getdents":                sig(fd, ptr, ulong),
	"getcwd":                  sig(k(OutString), ulong),
	"chdir":                   sig(path),
	"fchdir":                  sig(fd),
	"rename":                  sig(path, path),
	"mkdir":                   sig(path, mode),
	"rmdir":                   sig(path),
	"creat":                   sig(path, mode),
	"link":                    sig(path, path),
	"unlink":                  sig(path),
	"symlink":                 sig(path, path),
	"readlink":                sig(path, k(OutString), ulong),
	"chmod":                   sig(path, mode),
	"fchmod":                  sig(fd, mode),
	"chown":                   sig(path, i32, i32),
	"fchown":                  sig(fd, i32, i32),
	"lchown":                  sig(path, i32, i32),
	"umask":                   sig(mode),
	"gettimeofday":            sig(ptr, ptr),
	"getrlimit":               sig(k(Rlimit), k(RlimitOut)),
	"getrusage":               sig(i32, ptr),
	"sysinfo":                 sig(ptr),
	"times":                   sig(ptr),
	"ptrace":                  sig(i32, i32, ptr, ptr),
	"getuid":                  sig(),
	"syslog":                  sig(i32, ptr, i32),
	"getgid":                  sig(),
	"setuid":                  sig(i32),
	"setgid":                  sig(i32),
	"geteuid":                 sig(),
	"getegid":                 sig(),
	"setpgid":                 sig(i32, i32),
	"getppid":                 sig(),
	"getpgrp":                 sig(),
	"setsid":                  sig(),
	"setreuid":                sig(i32, i32),
	"setregid":                sig(i32, i32),
	"getgroups":               sig(i32, ptr),
	"setgroups":               sig(i32, ptr),
	"setresuid":               sig(i32, i32, i32),
	"getresuid":               sig(k(Int32PtrOut), k(Int32PtrOut), k(Int32PtrOut)),
	"setresgid":               sig(i32, i32, i32),
	"getresgid":               sig(k(Int32PtrOut), k(Int32PtrOut), k(Int32PtrOut)),
	"getpgid":                 sig(i32),
	"setfsuid":                sig(i32),
	"setfsgid":                sig(i32),
	"getsid":                  sig(i32),
	"capget":                  sig(ptr, ptr),
	"capset":                  sig(ptr, ptr),
	"rt_sigpending":           sig(k(SigsetOut), ulong),
	"rt_sigtimedwait":         sig(ka(Sigset, 3), ptr, k(Timespec), ulong),
	"rt_sigqueueinfo":         sig(i32, sigA, ptr),
	"rt_sigsuspend":           sig(k(Sigset), ulong),
	"sigaltstack":             sig(ptr, ptr),
	"utime":                   sig(path, ptr),
	"mknod":                   sig(path, mode, hex),
	"uselib":                  sig(path),
	"personality":             sig(hex),
	"ustat":                   sig(hex, ptr),
	"statfs":                  sig(path, ptr),
	"fstatfs":                 sig(fd, ptr),
	"sysfs":                   sig(i32, hex, hex),
	"getpriority":             sig(i32, i32),
	"setpriority":             sig(i32, i32, i32),
	"sched_setparam":          sig(i32, ptr),
	"sched_getparam":          sig(i32, ptr),
	"sched_setscheduler":      sig(i32, i32, ptr),
	"sched_getscheduler":      sig(i32),
	"sched_get_priority_max":  sig(i32),
	"sched_get_priority_min":  sig(i32),
	"sched_rr_get_interval":   sig(i32, k(TimespecOut)),
	"mlock":                   sig(ptr, ulong),
	"munlock":                 sig(ptr, ulong),
	"mlockall":                sig(hex),
	"munlockall":              sig(),
	"vhangup":                 sig(),
	"modify_ldt":              sig(i32, ptr, ulong),
	"pivot_root":              sig(path, path),
	"arch_prctl":              sig(k(ArchPrctlCode), hex),
	"adjtimex":                sig(ptr),
	"setrlimit":               sig(k(Rlimit), k(RlimitIn)),
	"chroot":                  sig(path),
	"sync":                    sig(),
	"acct":                    sig(path),
	"settimeofday":            sig(ptr, ptr),
	"mount":                   sig(str, path, str, hex, ptr),
	"umount2":                 sig(path, hex),
	"swapon":                  sig(path, hex),
	"swapoff":                 sig(path),
	"reboot":                  sig(hex, hex, hex, ptr),
	"sethostname":             sig(inbuf, ulong),
	"setdomainname":           sig(inbuf, ulong),
	"iopl":                    sig(i32),
	"ioperm":                  sig(ulong, ulong, i32),
	"init_module":             sig(ptr, ulong, str),
	"delete_module":           sig(str, hex),
	"quotactl":                sig(hex, path, i32, ptr),
	"gettid":                  sig(),
	"readahead":               sig(fd, long, ulong),
	"setxattr":                sig(path, str, ka(InBuf, 3), ulong, hex),
	"lsetxattr":               sig(path, str, ka(InBuf, 3), ulong, hex),
	"fsetxattr":               sig(fd, str, ka(InBuf, 3), ulong, hex),
	"getxattr":                sig(path, str, k(OutBuf), ulong),
	"lgetxattr":               sig(path, str, k(OutBuf), ulong),
	"fgetxattr":               sig(fd, str, k(OutBuf), ulong),
	"listxattr":               sig(path, ptr, ulong),
	"llistxattr":              sig(path, ptr, ulong),
	"flistxattr":              sig(fd, ptr, ulong),
	"removexattr":             sig(path, str),
	"lremovexattr":            sig(path, str),
	"fremovexattr":            sig(fd, str),
	"tkill":                   sig(i32, sigA),
	"time":                    sig(ptr),
	"sched_setaffinity":       sig(i32, ulong, ka(CPUSet, 1)),
	"sched_getaffinity":       sig(i32, ulong, k(CPUSetOut)),
	"set_thread_area":         sig(ptr),
	"io_setup":                sig(u32, ptr),
	"io_destroy":              sig(hex),
	"io_getevents":            sig(hex, long, long, ptr, k(Timespec)),
	"io_submit":               sig(hex, long, ptr),
	"io_cancel":               sig(hex, ptr, ptr),
	"get_thread_area":         sig(ptr),
	"lookup_dcookie":          sig(hex, ptr, ulong),
	"epoll_create":            sig(i32),
	"remap_file_pages":        sig(ptr, ulong, hex, ulong, hex),
	"getdents64":              sig(fd, ptr, ulong),
	"set_tid_address":         sig(ptr),
	"restart_syscall":         sig(),
	"semtimedop":              sig(i32, ptr, ulong, k(Timespec)),
	"fadvise64":               sig(fd, long, long, i32),
	"timer_create":            sig(k(ClockID), ptr, ptr),
	"timer_settime":           sig(hex, k(TimerFlags), ptr, ptr),
	"timer_gettime":           sig(hex, ptr),
	"timer_getoverrun":        sig(hex),
	"timer_delete":            sig(hex),
	"clock_settime":           sig(k(ClockID), k(Timespec)),
	"clock_gettime":           sig(k(ClockID), k(TimespecOut)),
	"clock_getres":            sig(k(ClockID), k(TimespecOut)),
	"clock_nanosleep":         sig(k(ClockID), k(TimerFlags), k(Timespec), k(TimespecOut)),
	"exit_group":              sig(i32),
	"epoll_wait":              sig(fd, k(EpollEventsOut), i32, i32),
	"epoll_ctl":               sig(fd, k(EpollCtlOp), fd, k(EpollEvent)),
	"tgkill":                  sig(i32, i32, sigA),
	"utimes":                  sig(path, ptr),
	"mbind":                   sig(ptr, ulong, i32, ptr, ulong, hex),
	"set_mempolicy":           sig(i32, ptr, ulong),
	"get_mempolicy":           sig(ptr, ptr, ulong, ptr, hex),
	"mq_open":                 sig(str, k(OpenFlags), openMode(1), Arg{Kind: Ptr, When: unix.O_CREAT, WhenArg: 1}),
	"mq_unlink":               sig(str),
	"mq_timedsend":            sig(i32, inbuf, ulong, u32, k(Timespec)),
	"mq_timedreceive":         sig(i32, k(OutBuf), ulong, ptr, k(Timespec)),
	"mq_notify":               sig(i32, ptr),
	"mq_getsetattr":           sig(i32, ptr, ptr),
	"kexec_load":              sig(hex, ulong, ptr, hex),
	"waitid":                  sig(k(IDType), i32, ptr, k(WaitOptions), ptr),
	"add_key":                 sig(str, str, ka(InBuf, 3), ulong, i32),
	"request_key":             sig(str, str, str, i32),
	"keyctl":                  sig(i32, hex, hex, hex, hex),
	"ioprio_set":              sig(i32, i32, i32),
	"ioprio_get":              sig(i32, i32),
	"inotify_init":            sig(),
	"inotify_add_watch":       sig(fd, path, hex),
	"inotify_rm_watch":        sig(fd, i32),
	"migrate_pages":           sig(i32, ulong, ptr, ptr),
	"openat":                  sig(dirfd, path, k(OpenFlags), openMode(2)),
	"mkdirat":                 sig(dirfd, path, mode),
	"mknodat":                 sig(dirfd, path, mode, hex),
	"fchownat":                sig(dirfd, path, i32, i32, k(AtFlags)),
	"futimesat":               sig(dirfd, path, ptr),
	"newfstatat":              sig(dirfd, path, k(StatOut), k(AtFlags)),
	"unlinkat":                sig(dirfd, path, k(AtFlags)),
	"renameat":                sig(dirfd, path, dirfd, path),
	"linkat":                  sig(dirfd, path, dirfd, path, k(AtFlags)),
	"symlinkat":               sig(path, dirfd, path),
	"readlinkat":              sig(dirfd, path, k(OutString), ulong),
	"fchmodat":                sig(dirfd, path, mode),
	"faccessat":               sig(dirfd, path, k(AccessMode)),
	"pselect6":                sig(i32, ptr, ptr, ptr, k(Timespec), ptr),
	"ppoll":                   sig(k(PollFds), u32, k(Timespec), ka(Sigset, 4), ulong),
	"unshare":                 sig(k(NSFlags)),
	"set_robust_list":         sig(ptr, ulong),
	"get_robust_list":         sig(i32, ptr, ptr),
	"splice":                  sig(fd, ptr, fd, ptr, ulong, hex),
	"tee":                     sig(fd, fd, ulong, hex),
	"sync_file_range":         sig(fd, long, long, hex),
	"vmsplice":                sig(fd, ptr, ulong, hex),
	"move_pages":              sig(i32, ulong, ptr, ptr, ptr, hex),
	"utimensat":               sig(dirfd, path, ptr, k(AtFlags)),
	"epoll_pwait":             sig(fd, k(EpollEventsOut), i32, i32, ka(Sigset, 5), ulong),
	"signalfd":                sig(fd, ka(Sigset, 2), ulong),
	"timerfd_create":          sig(k(ClockID), k(FileFlags)),
	"eventfd":                 sig(u32),
	"fallocate":               sig(fd, hex, long, long),
	"timerfd_settime":         sig(fd, k(TimerFlags), ptr, ptr),
	"timerfd_gettime":         sig(fd, ptr),
	"accept4":                 sig(fd, k(SockaddrOut), k(SockLenInOut), k(SockType)),
	"signalfd4":               sig(fd, ka(Sigset, 2), ulong, k(FileFlags)),
	"eventfd2":                sig(u32, k(EfdFlags)),
	"epoll_create1":           sig(k(EpollFlags)),
	"dup3":                    sig(fd, fd, k(FileFlags)),
	"pipe2":                   sig(k(FDPair), k(FileFlags)),
	"inotify_init1":           sig(k(FileFlags)),
	"preadv":                  sig(fd, k(IovOut), i32, long),
	"pwritev":                 sig(fd, k(IovIn), i32, long),
	"rt_tgsigqueueinfo":       sig(i32, i32, sigA, ptr),
	"perf_event_open":         sig(ptr, i32, i32, fd, hex),
	"recvmmsg":                sig(fd, ptr, u32, k(MsgFlags), k(Timespec)),
	"fanotify_init":           sig(hex, hex),
	"fanotify_mark":           sig(fd, hex, hex, dirfd, path),
	"prlimit64":               sig(i32, k(Rlimit), k(RlimitIn), k(RlimitOut)),
	"name_to_handle_at":       sig(dirfd, path, ptr, ptr, k(AtFlags)),
	"open_by_handle_at":       sig(fd, ptr, k(OpenFlags)),
	"clock_adjtime":           sig(k(ClockID), ptr),
	"syncfs":                  sig(fd),
	"sendmmsg":                sig(fd, ptr, u32, k(MsgFlags)),
	"setns":                   sig(fd, k(NSFlags)),
	"getcpu":                  sig(k(Int32PtrOut), k(Int32PtrOut), ptr),
	"process_vm_readv":        sig(i32, ptr, ulong, ptr, ulong, hex),
	"process_vm_writev":       sig(i32, ptr, ulong, ptr, ulong, hex),
	"kcmp":                    sig(i32, i32, i32, hex, hex),
	"finit_module":            sig(fd, str, hex),
	"sched_setattr":           sig(i32, ptr, hex),
	"sched_getattr":           sig(i32, ptr, u32, hex),
	"renameat2":               sig(dirfd, path, dirfd, path, k(RenameFlags)),
	"seccomp":                 sig(u32, hex, ptr),
	"getrandom":               sig(k(OutBuf), ulong, k(GrndFlags)),
	"memfd_create":            sig(str, k(MemfdFlags)),
	"kexec_file_load":         sig(fd, fd, ulong, str, hex),
	"bpf":                     sig(i32, ptr, u32),
	"execveat":                sig(dirfd, path, k(Argv), k(Envp), k(AtFlags)),
	"userfaultfd":             sig(k(FileFlags)),
	"membarrier":              sig(i32, hex, i32),
	"mlock2":                  sig(ptr, ulong, hex),
	"copy_file_range":         sig(fd, ptr, fd, ptr, ulong, hex),
	"preadv2":                 sig(fd, k(IovOut), i32, long, Arg{Kind: Hex, Reg: 6}),
	"pwritev2":                sig(fd, k(IovIn), i32, long, Arg{Kind: Hex, Reg: 6}),
	"pkey_mprotect":           sig(ptr, ulong, k(MmapProt), i32),
	"pkey_alloc":              sig(hex, hex),
	"pkey_free":               sig(i32),
	"statx":                   sig(dirfd, path, k(AtFlags), hex, k(StatxOut)),
	"io_pgetevents":           sig(hex, long, long, ptr, k(Timespec), ptr),
	"rseq":                    sig(ptr, hex, hex, hex),
	"uretprobe":               sig(),
	"uprobe":                  sig(),
	"pidfd_send_signal":       sig(fd, sigA, ptr, hex),
	"io_uring_setup":          sig(u32, ptr),
	"io_uring_enter":          sig(fd, u32, u32, hex, ptr, ulong),
	"io_uring_register":       sig(fd, u32, ptr, u32),
	"open_tree":               sig(dirfd, path, hex),
	"move_mount":              sig(dirfd, path, dirfd, path, hex),
	"fsopen":                  sig(str, hex),
	"fsconfig":                sig(fd, u32, str, ptr, i32),
	"fsmount":                 sig(fd, hex, hex),
	"fspick":                  sig(dirfd, path, hex),
	"pidfd_open":              sig(i32, hex),
	"clone3":                  sig(k(CloneArgs), ulong),
	"close_range":             sig(u32, u32, k(CloseRangeFlags)),
	"openat2":                 sig(dirfd, path, k(OpenHow), ulong),
	"pidfd_getfd":             sig(fd, fd, hex),
	"faccessat2":              sig(dirfd, path, k(AccessMode), k(AccessAtFlags)),
	"process_madvise":         sig(fd, ptr, ulong, k(Advice), hex),
	"epoll_pwait2":            sig(fd, k(EpollEventsOut), i32, k(Timespec), ka(Sigset, 5), ulong),
	"mount_setattr":           sig(dirfd, path, k(AtFlags), ptr, ulong),
	"quotactl_fd":             sig(fd, hex, i32, ptr),
	"landlock_create_ruleset": sig(ptr, ulong, hex),
	"landlock_add_rule":       sig(fd, u32, ptr, hex),
	"landlock_restrict_self":  sig(fd, hex),
	"memfd_secret":            sig(hex),
	"process_mrelease":        sig(fd, hex),
	"futex_waitv":             sig(ptr, u32, hex, k(Timespec), k(ClockID)),
	"set_mempolicy_home_node": sig(ptr, ulong, ulong, hex),
	"cachestat":               sig(fd, ptr, ptr, hex),
	"fchmodat2":               sig(dirfd, path, mode, k(AtFlags)),
	"map_shadow_stack":        sig(ptr, ulong, hex),
	"futex_wake":              sig(ptr, hex, i32, k(Futex2Flags)),
	"futex_wait":              sig(ptr, hex, hex, k(Futex2Flags), k(Timespec), k(ClockID)),
	"futex_requeue":           sig(ptr, hex, i32, i32),
	"statmount":               sig(ptr, ptr, ulong, hex),
	"listmount":               sig(ptr, ptr, ulong, hex),
	"lsm_get_self_attr":       sig(u32, ptr, ptr, hex),
	"lsm_set_self_attr":       sig(u32, ptr, u32, hex),
	"lsm_list_modules":        sig(ptr, ptr, hex),
	"mseal":                   sig(ptr, ulong, hex),
	"setxattrat":              sig(dirfd, path, k(AtFlags), str, ptr, ulong),
	"getxattrat":              sig(dirfd, path, k(AtFlags), str, ptr, ulong),
	"listxattrat":             sig(dirfd, path, k(AtFlags), ptr, ulong),
	"removexattrat":           sig(dirfd, path, k(AtFlags), str),
	"open_tree_attr":          sig(dirfd, path, hex, ptr, ulong),
	"file_getattr":            sig(dirfd, path, ptr, ulong, k(AtFlags)),
	"file_setattr":            sig(dirfd, path, ptr, ulong, k(AtFlags)),
	"listns":                  sig(ptr, ptr, ulong, hex),
}

// Results that are not plain integers.
var x86_64Rets = map[string]RetKind{
	"mmap": RetHex, "brk": RetHex, "mremap": RetHex, "shmat": RetHex, "map_shadow_stack": RetHex,
	"umask": RetOctal, "exit": RetNone, "exit_group": RetNone,
}

// Calls whose arguments depend on an operation argument.
var x86_64Dyn = map[string]func(a *[6]uint64) []Arg{
	"futex":      futexSig,
	"fcntl":      fcntlSig,
	"prctl":      prctlSig,
	"setsockopt": setsockoptSig,
}

var (
	futexOp          = k(FutexOp)
	futexTimeout     = k(Timespec)
	futexSigWait     = sig(ptr, futexOp, u32, futexTimeout)
	futexSigWake     = sig(ptr, futexOp, u32)
	futexSigWaitBits = sig(ptr, futexOp, u32, futexTimeout, Arg{Kind: FutexVal3, Reg: 6})
	futexSigWakeBits = sig(ptr, futexOp, u32, Arg{Kind: FutexVal3, Reg: 6})
	futexSigRequeue  = sig(ptr, futexOp, u32, u32, ptr)
	futexSigCmpReq   = sig(ptr, futexOp, u32, u32, ptr, u32)
	futexSigWakeOp   = sig(ptr, futexOp, u32, u32, ptr, k(FutexWakeOp))
	futexSigLockPI   = sig(ptr, futexOp, Arg{Kind: Timespec, Reg: 4})
	futexSigUnlockPI = sig(ptr, futexOp)
	futexSigWaitReq  = sig(ptr, futexOp, u32, futexTimeout, ptr)
	futexSigOther    = sig(ptr, futexOp, hex, hex, hex, hex)
)

// futexSig shows val, timeout, uaddr2 and val3 as the op uses them, like
// strace: futex(0x..., FUTEX_WAKE_PRIVATE, 1).
func futexSig(a *[6]uint64) []Arg {
	switch a[1] & futexCmdMask & 0xffffffff {
	case futexWait:
		return futexSigWait
	case futexWake, futexFD:
		return futexSigWake
	case futexWaitBitset:
		return futexSigWaitBits
	case futexWakeBitset:
		return futexSigWakeBits
	case futexRequeue:
		return futexSigRequeue
	case futexCmpRequeue, futexCmpRequeuePI:
		return futexSigCmpReq
	case futexWakeOp:
		return futexSigWakeOp
	case futexLockPI, futexLockPI2, futexTrylockPI:
		return futexSigLockPI
	case futexUnlockPI:
		return futexSigUnlockPI
	case futexWaitRequeuePI:
		return futexSigWaitReq
	}
	return futexSigOther
}

var (
	fcntlSigNone  = sig(fd, k(FcntlCmd))
	fcntlSigFD    = sig(fd, k(FcntlCmd), k(FDFlags))
	fcntlSigFL    = sig(fd, k(FcntlCmd), k(OpenFlags))
	fcntlSigInt   = sig(fd, k(FcntlCmd), i32)
	fcntlSigOther = sig(fd, k(FcntlCmd), ptr)
)

func fcntlSig(a *[6]uint64) []Arg {
	switch uint32(a[1]) {
	case unix.F_GETFD, unix.F_GETFL, unix.F_GETOWN, unix.F_GETSIG, unix.F_GETLEASE, unix.F_GETPIPE_SZ, unix.F_GET_SEALS:
		return fcntlSigNone
	case unix.F_SETFD:
		return fcntlSigFD
	case unix.F_SETFL:
		return fcntlSigFL
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC, unix.F_SETOWN, unix.F_SETSIG, unix.F_SETLEASE,
		unix.F_NOTIFY, unix.F_SETPIPE_SZ, unix.F_ADD_SEALS:
		return fcntlSigInt
	}
	return fcntlSigOther
}

var (
	prctlSigNone  = sig(k(PrctlOption))
	prctlSigName  = sig(k(PrctlOption), str)
	prctlSigPtr   = sig(k(PrctlOption), ptr)
	prctlSigSig   = sig(k(PrctlOption), sigA)
	prctlSigUlong = sig(k(PrctlOption), ulong)
	prctlSigOther = sig(k(PrctlOption), hex, hex, hex, hex)
)

func prctlSig(a *[6]uint64) []Arg {
	switch uint32(a[0]) {
	case unix.PR_GET_DUMPABLE, unix.PR_GET_KEEPCAPS, unix.PR_GET_SECCOMP, unix.PR_GET_TIMERSLACK,
		unix.PR_GET_NO_NEW_PRIVS, unix.PR_GET_THP_DISABLE, unix.PR_GET_IO_FLUSHER:
		return prctlSigNone
	case unix.PR_SET_NAME:
		return prctlSigName
	case unix.PR_GET_NAME, unix.PR_GET_PDEATHSIG, unix.PR_GET_CHILD_SUBREAPER, unix.PR_GET_TID_ADDRESS:
		return prctlSigPtr
	case unix.PR_SET_PDEATHSIG:
		return prctlSigSig
	case unix.PR_SET_DUMPABLE, unix.PR_SET_KEEPCAPS, unix.PR_SET_TIMERSLACK, unix.PR_SET_CHILD_SUBREAPER,
		unix.PR_SET_TSC, unix.PR_CAPBSET_READ, unix.PR_CAPBSET_DROP:
		return prctlSigUlong
	}
	return prctlSigOther
}

var (
	setsockoptSigInt = sig(fd, k(SockLevel), k(SockOpt), k(Int32Ptr), u32)
	setsockoptSigBuf = sig(fd, k(SockLevel), k(SockOpt), ka(InBuf, 4), u32)
)

func setsockoptSig(a *[6]uint64) []Arg {
	if uint32(a[4]) == 4 {
		return setsockoptSigInt
	}
	return setsockoptSigBuf
}

// x32Only are the x86-64 numbers below 512 that the x32 ABI does not have
// (the "64" entries of syscall_64.tbl; x32 has its own at 512-547 or none).
var x32Only = map[int]bool{
	13: true, 15: true, 16: true, 19: true, 20: true, 45: true, 46: true, 47: true, 54: true, 55: true,
	59: true, 101: true, 127: true, 128: true, 129: true, 131: true, 134: true, 156: true, 174: true,
	177: true, 178: true, 180: true, 205: true, 206: true, 209: true, 211: true, 214: true, 215: true,
	222: true, 236: true, 244: true, 246: true, 247: true, 273: true, 274: true, 278: true, 279: true,
	295: true, 296: true, 297: true, 299: true, 307: true, 310: true, 311: true, 322: true, 327: true,
	328: true,
}

// foreignNeutral are the kinds that mean the same in the i386 and x32 ABIs
// as in x86-64: no pointers or longs inside the pointed-to data.
var foreignNeutral = [numKinds]bool{
	Hex: true, Ptr: true, Int: true, Int32: true, Uint: true, Uint32: true, Octal: true, FD: true,
	DirFD: true, Path: true, String: true, InBuf: true, OutBuf: true, OutString: true, OpenFlags: true,
	FileFlags: true, Mode: true, MmapProt: true, NSFlags: true, CloneArgs: true, FutexOp: true,
	FutexVal3: true, FutexWakeOp: true, Futex2Flags: true, ClockID: true, TimerFlags: true,
	SockDomain: true, SockType: true, SockProto: true, Sockaddr: true, SockaddrOut: true,
	SockLenInOut: true, MsgFlags: true, ShutdownHow: true, SockLevel: true, SockOpt: true, FDPair: true,
	Signal: true, Sigset: true, SigsetOut: true, SigHow: true, WaitOptions: true, WaitStatusOut: true,
	IDType: true, PollFds: true, AtFlags: true, AccessAtFlags: true, AccessMode: true, Whence: true,
	PrctlOption: true, IoctlReq: true, FcntlCmd: true, FDFlags: true, Advice: true, EpollCtlOp: true,
	EpollEvent: true, EpollEventsOut: true, Rlimit: true, StatxOut: true, UnameOut: true, CPUSet: true,
	CPUSetOut: true, GrndFlags: true, MemfdFlags: true, EfdFlags: true, EpollFlags: true,
	CloseRangeFlags: true, OpenHow: true, RenameFlags: true, MremapFlags: true, MsyncFlags: true,
	Int32Ptr: true, Int32PtrOut: true,
}

// i386Aliases are i386 calls that take the x86-64 layout of a call (of
// another name: 64-bit time), although some of its kinds are not neutral.
var i386Aliases = map[string]string{
	"futex_time64": "futex", "clock_gettime64": "clock_gettime", "clock_settime64": "clock_settime",
	"clock_getres_time64": "clock_getres", "clock_nanosleep_time64": "clock_nanosleep",
	"ppoll_time64": "ppoll", "rt_sigtimedwait_time64": "rt_sigtimedwait", "prlimit64": "prlimit64",
}

// i386Differs are i386 calls whose x86-64 namesake takes other arguments.
var i386Differs = map[string]bool{"select": true, "mmap": true, "clone": true}

var tables = [...][]Info{
	X86_64: buildTable(X86_64, withUnified(x86_64Names[:]), nil),
	I386:   buildTable(I386, withUnified(i386Names[:]), i386Aliases),
	X32:    buildX32(),
}

func table(a Arch) []Info {
	if int(a) < len(tables) {
		return tables[a]
	}
	return nil
}

func buildX32() []Info {
	names := make([]string, 512+len(x32Names))
	for nr, n := range withUnified(x86_64Names[:]) {
		if nr < 512 && !x32Only[nr] {
			names[nr] = n
		}
	}
	copy(names[512:], x32Names[:])
	return buildTable(X32, names, nil)
}

// buildTable makes the Info table of an ABI from its names and the x86-64
// signatures.
func buildTable(arch Arch, names []string, aliases map[string]string) []Info {
	t := make([]Info, len(names))
	for nr, name := range names {
		if name == "" {
			continue
		}
		in := Info{Name: name, Nr: nr, Arch: arch}
		from, aliased := name, false
		if alias, ok := aliases[name]; ok {
			from, aliased = alias, true
		}
		args, dyn := x86_64Sigs[from], x86_64Dyn[from]
		if arch != X86_64 && !aliased {
			if i386Differs[name] || (dyn != nil && name == "futex") || !neutral(args) {
				args, dyn = nil, nil
			}
		}
		in.Args, in.dyn = args, dyn
		if r, ok := x86_64Rets[from]; ok && (arch == X86_64 || args != nil) {
			in.Ret = r
		}
		switch from {
		case "exit", "exit_group":
			in.Ret = RetNone
		case "mmap", "mmap2", "brk":
			in.Ret = RetHex
		}
		t[nr] = in
	}
	return t
}

func neutral(args []Arg) bool {
	for _, a := range args {
		if !foreignNeutral[a.Kind] {
			return false
		}
	}
	return true
}
