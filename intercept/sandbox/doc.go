// Package sandbox gives each run of a guest a world of its own, the same
// in every run and every replay: what Hermit gets from running its guests
// in a container. A run is a pure function of (binary, arguments,
// environment, files, seed) only if nothing an earlier run left behind,
// and nothing a run going on beside it does, can reach it.
//
// # What a run gets
//
//   - Mount namespace: fresh, empty tmpfs on /tmp, /var/tmp and /dev/shm;
//     the working directory as a copy-on-write view of the host's (an
//     overlay: the guest reads what is there, its writes stay in the run
//     and are gone after it, so parallel runs never see each other's
//     output); the program, if it lies in a private directory outside the
//     working directory, through a copy-on-write view of its directory (or
//     just the file, read-only, if it lies directly in /tmp); the rest of
//     the file system as it is on the host. Mount propagation is private:
//     nothing mounted in a run reaches the host, nor the reverse.
//   - Pid namespace: the guest is pid 2 in every run, its children get
//     the same pids in every run that takes the same schedule. Pid 1 is a
//     tiny init of ours (init_amd64.s), not the guest: the guest keeps
//     normal signal semantics (a pid-1 process ignores signals it has no
//     handler for), and orphans are reaped as on a normal system. The
//     guest's parent is outside its namespace, so its getppid() is 0, as
//     for a container's first process. A procfs of the namespace is
//     mounted on /proc.
//   - UTS namespace: the host name is "schedfuzz".
//   - IPC namespace: System V IPC and POSIX message queues, empty.
//   - Network namespace: loopback, up, and nothing else (Config.HostNet
//     keeps the host's).
//   - CPU count (Config.CPUs): /sys/devices/system/cpu/{online,possible,
//     present} (what glibc's get_nprocs and sysconf(_SC_NPROCESSORS_*)
//     read), /proc/cpuinfo (copies of the host's first processor) and
//     /proc/stat (zero counters, a fixed boot time) agree with the count
//     package sched's sched_getaffinity reports.
//
// What it does not isolate: the rest of the file system (the home
// directory, /run, /var outside /var/tmp: the guest reads and writes the
// host's), time-varying files of /proc and /sys other than those above
// (/proc/uptime, /proc/loadavg, /proc/meminfo), the kernel's own
// randomness (ephemeral port numbers, hash seeds), anonymous device
// numbers of mounts, and the users and groups (a guest running as root
// stays root).
//
// # Design
//
// The guest is forked by intercept's tracer thread, with PTRACE_TRACEME,
// so it must be a child of that thread; namespaces are inherited at fork,
// so the tracer thread enters them first (intercept.Sandbox: Enter right
// before the fork, Leave right after, Close when the run is over) and is
// never given back to the Go runtime afterwards. Nothing else can do it:
// Go runs no code of ours between fork and exec.
//
// Making namespaces and mounts is cheap (~0.2 ms); tearing them down is
// not (each unmount waits for an RCU grace period: ~75 µs each here, more
// than 1 ms for a run's set), and a network namespace costs ~0.3 ms to
// make and more to destroy. So runs take turns in worlds (world.go): a
// world is a mount, pid and UTS namespace made once by a holder thread,
// which lives as long as the world because the world's init dies with the
// thread that started it. Before each run the world is reset to how it was
// made: the pid counter (the init writes 1 to ns_last_pid, after reaping
// the last run's orphans: the next pid is 2), the host name, and every
// private directory or copy-on-write layer whose change time or size shows
// the last run touched it is mounted afresh (a new tmpfs, not an emptied
// one: it also numbers its inodes from the start again). An untouched one
// costs an fstat. A world whose mount table the run changed (a root guest
// mounting something: mountinfo polls POLLPRI), or in which a process
// outlived its run, is thrown away. The IPC namespace is made afresh for
// every run (~20 µs). Network namespaces are pooled apart (netns.go): one
// goes back to the pool only if sockstat shows that the run left no
// socket, not even one in TIME_WAIT. A new pool makes its first network
// namespace on a thread of its own while it makes its first world, so a
// session's start waits for the longer of the two, not their sum.
//
// Host directories are reached through detached copies of their mounts
// (open_tree), made when the pool is created, and overlays are configured
// with file descriptors (FSCONFIG_SET_FD, Linux 6.13 and later for
// overlayfs): inside a world /tmp may cover them and /proc is the world's.
// Where an overlay cannot be made, the directory is shown as it is, and
// Pool.Notes says so.
//
// # Unprivileged users
//
// Namespaces need CAP_SYS_ADMIN in the user namespace that owns them. A
// user without it gets it through Reexec: the program runs itself again
// in a user namespace (and mount namespace) of its own where its uid and
// gid map to themselves and it holds every capability of that namespace
// as an ambient capability (overlayfs alone needs several besides
// CAP_SYS_ADMIN); they mean nothing outside it. The tracer thread clears its
// inheritable and ambient sets before the fork, so guests run without
// them, as the same user as outside. In such a namespace, files of other
// users show as owned by the overflow id (nobody).
//
// # Invariants
//
//   - Every process of a run is in its world's pid namespace; the
//     namespace's init dies with the world's holder thread, and the kernel
//     kills every process of the namespace with it: no guest outlives
//     schedfuzz, even one the tracer lost.
//   - A world or network namespace serves one run at a time; a run starts
//     in a world whose private mounts, pid counter and host name are as
//     made.
//   - Pool, worldPool and netPool are safe for concurrent use (each
//     guarded by its own mutex, a leaf: no lock is held while another is
//     taken); a Run is used by one tracer thread.
package sandbox
