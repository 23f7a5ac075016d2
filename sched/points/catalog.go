// Package points is the catalog of scheduling points beyond syscalls and
// the parsers for the user's point specifications: which function entries
// (pthread, C11 threads, Go sync and channel operations) the `sync` set
// plants breakpoints at, `-yield-at func,file.c:LINE` and
// `-watch SYMBOL[:len]`. It resolves them to runtime addresses in mapped
// images through package intercept/symbols. No ptrace here: planting the
// breakpoints and counting hits belongs to intercept and sched.
//
// # Sets
//
// Syscalls: a thread can be preempted at every syscall entry, thread start
// and exit (what sched does without breakpoints). Sync: Syscalls plus the
// entry of every function in Sync(). An uncontended pthread_mutex_lock or
// sync.Mutex.Lock makes no syscall, so without Sync a lock-protected
// window has no point inside it. Memory: Sync plus points before a seeded
// sample of the program's memory-access instructions (package memsites
// finds them, sched samples and plants them): a window between two plain
// accesses, or a load and a compare-and-swap, holds no call at all.
//
// # The Go entries
//
// Measured on Go 1.26 (go1.26.8, linux/amd64) with the program in
// intercept/symbols/testdata/gosync (-workers 1 -iters 300), breakpoints
// at the addresses this package resolves, hits counted under gdb with
// GOMAXPROCS=1 (with several threads running, gdb's counts are not exact):
//
//   - sync.(*Mutex).Lock, Unlock, TryLock, sync.(*RWMutex).RLock, RUnlock,
//     sync.(*WaitGroup).Done and sync.(*Once).Do are inlined into every
//     direct caller, across packages. Their out-of-line bodies exist only
//     for calls through an interface (sync.Locker, which sync.Cond uses)
//     and got 0 of 300 hits; the inlined copies
//     (symbols.Object.InlinedCopies) got exactly 300 of 300 for Lock,
//     Unlock, RLock and RUnlock. So these are resolved both ways
//     (Func.Inlined).
//   - internal/sync.(*Mutex).lockSlow, unlockSlow, sync.(*RWMutex).
//     rUnlockSlow, runtime.semacquire1, semrelease1 and the
//     sync.runtime_Semacquire* linknames are out of line but run only
//     under contention (0 hits uncontended): not one point per
//     operation, left out.
//   - runtime.chansend (every send: ch <- v through chansend1, a select
//     with one case and a default through selectnbsend, reflect),
//     runtime.chanrecv (every receive: chanrecv1, chanrecv2,
//     selectnbrecv), runtime.selectgo, runtime.closechan, runtime.newproc
//     (go statements), sync.(*RWMutex).Lock, Unlock, sync.(*WaitGroup).Add
//     (Done calls it: 4 hits for Add(1), Done, Go's Add and Go's Done),
//     Wait, Go, and sync.(*Cond).Wait, Signal, Broadcast are never
//     inlined and are hit once per operation.
//   - runtime.lock2/unlock2, the runtime's internal locks, got about 1300
//     hits in a run with 400 user locks, from the scheduler, allocator and
//     GC: not user synchronization; left out.
//
// A copy of a catalog function inlined inside another catalog function
// (the sync.(*Mutex).Lock inside sync.(*RWMutex).Lock) is dropped, so one
// user operation is one point. C11 functions are wrappers (mtx_lock calls
// pthread_mutex_lock's internal alias), so a C11 operation is two points.
package points

import (
	"strconv"
	"strings"
)

// Set is a named set of scheduling points (-points).
type Set uint8

const (
	// Syscalls: syscall entries, thread start and exit only.
	Syscalls Set = iota
	// Sync: Syscalls plus the entries of the functions in Sync().
	Sync
	// Memory: Sync plus a seeded sample of the program's memory-access
	// instructions (package memsites; planted by sched).
	Memory
)

// Sets lists the set names, for usage messages.
var Sets = []string{"syscalls", "sync", "memory"}

func (s Set) String() string {
	switch s {
	case Syscalls:
		return "syscalls"
	case Sync:
		return "sync"
	case Memory:
		return "memory"
	}
	return "Set(" + strconv.Itoa(int(s)) + ")"
}

// ParseSet parses a -points value.
func ParseSet(s string) (Set, error) {
	switch strings.TrimSpace(s) {
	case "syscalls":
		return Syscalls, nil
	case "sync":
		return Sync, nil
	case "memory":
		return Memory, nil
	}
	return 0, &SpecError{Flag: "points", Spec: s, Msg: "unknown set (want " + strings.Join(Sets, ", ") + ")"}
}

// Funcs returns the functions whose entries the set adds (nil for
// Syscalls).
func (s Set) Funcs() []Func {
	if s == Sync || s == Memory {
		return SyncFuncs()
	}
	return nil
}

// Lang says which objects a catalog function is looked up in.
type Lang uint8

const (
	// C functions are looked up in every image (libc.so, a static
	// binary, a library of a cgo program).
	C Lang = iota
	// Go functions are looked up only in Go binaries.
	Go
)

func (l Lang) String() string {
	if l == Go {
		return "Go"
	}
	return "C"
}

// Op is what a catalog function does, for reports and strategies.
type Op uint8

const (
	OpLock Op = iota
	OpTryLock
	OpUnlock
	OpWait   // condition variable, semaphore, barrier, WaitGroup wait
	OpSignal // condition variable signal/broadcast, semaphore post
	OpCreate // thread or goroutine creation
	OpJoin
	OpSend
	OpRecv
	OpSelect
	OpClose
	OpAdd // WaitGroup.Add (and Done)
)

var opNames = [...]string{"lock", "trylock", "unlock", "wait", "signal", "create", "join", "send", "recv", "select", "close", "add"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op?"
}

// Func is one catalog entry.
type Func struct {
	// Name is the public symbol name.
	Name string
	// Aliases are other names of the same function: glibc's internal
	// names, which static binaries define as separate (usually
	// same-address) symbols. Resolution dedupes by address.
	Aliases []string
	Lang    Lang
	Op      Op
	// Inlined: the compiler inlines the function into callers, so its
	// inlined copies (from DWARF) are points too.
	Inlined bool
}

// Names returns Name followed by Aliases.
func (f Func) Names() []string { return append([]string{f.Name}, f.Aliases...) }

func c(name string, op Op, aliases ...string) Func {
	return Func{Name: name, Aliases: aliases, Lang: C, Op: op}
}

func goFunc(name string, op Op, inlined bool) Func {
	return Func{Name: name, Lang: Go, Op: op, Inlined: inlined}
}

// syncC: the pthread, POSIX semaphore and C11 thread entries. The aliases
// are the names static glibc 2.36 defines at the same address (nm of a
// -static binary calling each function; __new_sem_* and __thrd_* are how
// semaphores and C11 threads are spelled inside glibc).
var syncC = []Func{
	c("pthread_mutex_lock", OpLock, "__pthread_mutex_lock", "___pthread_mutex_lock"),
	c("pthread_mutex_trylock", OpTryLock, "__pthread_mutex_trylock", "___pthread_mutex_trylock"),
	c("pthread_mutex_timedlock", OpLock, "__pthread_mutex_timedlock", "___pthread_mutex_timedlock", "___pthread_mutex_timedlock64"),
	c("pthread_mutex_clocklock", OpLock, "__pthread_mutex_clocklock", "___pthread_mutex_clocklock", "___pthread_mutex_clocklock64"),
	c("pthread_mutex_unlock", OpUnlock, "__pthread_mutex_unlock", "___pthread_mutex_unlock"),

	c("pthread_rwlock_rdlock", OpLock, "__pthread_rwlock_rdlock", "___pthread_rwlock_rdlock"),
	c("pthread_rwlock_wrlock", OpLock, "__pthread_rwlock_wrlock", "___pthread_rwlock_wrlock"),
	c("pthread_rwlock_tryrdlock", OpTryLock, "___pthread_rwlock_tryrdlock"),
	c("pthread_rwlock_trywrlock", OpTryLock, "___pthread_rwlock_trywrlock"),
	c("pthread_rwlock_timedrdlock", OpLock, "___pthread_rwlock_timedrdlock", "___pthread_rwlock_timedrdlock64"),
	c("pthread_rwlock_timedwrlock", OpLock, "___pthread_rwlock_timedwrlock", "___pthread_rwlock_timedwrlock64"),
	c("pthread_rwlock_clockrdlock", OpLock, "___pthread_rwlock_clockrdlock", "___pthread_rwlock_clockrdlock64"),
	c("pthread_rwlock_clockwrlock", OpLock, "___pthread_rwlock_clockwrlock", "___pthread_rwlock_clockwrlock64"),
	c("pthread_rwlock_unlock", OpUnlock, "__pthread_rwlock_unlock", "___pthread_rwlock_unlock"),

	c("pthread_spin_lock", OpLock, "__pthread_spin_lock"),
	c("pthread_spin_trylock", OpTryLock, "__pthread_spin_trylock"),
	c("pthread_spin_unlock", OpUnlock, "__pthread_spin_unlock"),

	c("pthread_cond_wait", OpWait, "__pthread_cond_wait", "___pthread_cond_wait"),
	c("pthread_cond_timedwait", OpWait, "__pthread_cond_timedwait", "___pthread_cond_timedwait", "___pthread_cond_timedwait64"),
	c("pthread_cond_clockwait", OpWait, "__pthread_cond_clockwait", "___pthread_cond_clockwait", "___pthread_cond_clockwait64"),
	c("pthread_cond_signal", OpSignal, "__pthread_cond_signal", "___pthread_cond_signal"),
	c("pthread_cond_broadcast", OpSignal, "__pthread_cond_broadcast", "___pthread_cond_broadcast"),

	c("sem_wait", OpWait, "__new_sem_wait"),
	c("sem_trywait", OpTryLock, "__new_sem_trywait"),
	c("sem_timedwait", OpWait, "___sem_timedwait", "___sem_timedwait64"),
	c("sem_clockwait", OpWait, "___sem_clockwait", "___sem_clockwait64"),
	c("sem_post", OpSignal, "__new_sem_post"),

	c("pthread_barrier_wait", OpWait, "__pthread_barrier_wait", "___pthread_barrier_wait"),
	c("pthread_create", OpCreate, "__pthread_create", "__pthread_create_2_1"),
	c("pthread_join", OpJoin, "__pthread_join", "___pthread_join"),

	c("mtx_lock", OpLock, "__mtx_lock"),
	c("mtx_trylock", OpTryLock, "__mtx_trylock"),
	c("mtx_timedlock", OpLock, "__mtx_timedlock", "___mtx_timedlock"),
	c("mtx_unlock", OpUnlock, "__mtx_unlock"),
	c("cnd_wait", OpWait, "__cnd_wait"),
	c("cnd_timedwait", OpWait, "__cnd_timedwait", "___cnd_timedwait"),
	c("cnd_signal", OpSignal, "__cnd_signal"),
	c("cnd_broadcast", OpSignal, "__cnd_broadcast"),
	c("thrd_create", OpCreate, "__thrd_create"),
	c("thrd_join", OpJoin, "__thrd_join"),
}

// syncGo: see the package comment for the measurement behind the choice.
var syncGo = []Func{
	goFunc("sync.(*Mutex).Lock", OpLock, true),
	goFunc("sync.(*Mutex).TryLock", OpTryLock, true),
	goFunc("sync.(*Mutex).Unlock", OpUnlock, true),
	goFunc("sync.(*RWMutex).Lock", OpLock, true),
	goFunc("sync.(*RWMutex).RLock", OpLock, true),
	goFunc("sync.(*RWMutex).TryLock", OpTryLock, true),
	goFunc("sync.(*RWMutex).TryRLock", OpTryLock, true),
	goFunc("sync.(*RWMutex).Unlock", OpUnlock, true),
	goFunc("sync.(*RWMutex).RUnlock", OpUnlock, true),
	goFunc("sync.(*WaitGroup).Add", OpAdd, true),
	goFunc("sync.(*WaitGroup).Wait", OpWait, true),
	goFunc("sync.(*WaitGroup).Go", OpCreate, true),
	goFunc("sync.(*Cond).Wait", OpWait, true),
	goFunc("sync.(*Cond).Signal", OpSignal, true),
	goFunc("sync.(*Cond).Broadcast", OpSignal, true),
	goFunc("runtime.chansend", OpSend, false),
	goFunc("runtime.chanrecv", OpRecv, false),
	goFunc("runtime.selectgo", OpSelect, false),
	goFunc("runtime.closechan", OpClose, false),
	goFunc("runtime.newproc", OpCreate, false),
}

// SyncC returns the C entries of the sync set.
func SyncC() []Func { return clone(syncC) }

// SyncGo returns the Go entries of the sync set.
func SyncGo() []Func { return clone(syncGo) }

// SyncFuncs returns the whole sync catalog: C entries, then Go entries.
func SyncFuncs() []Func { return append(SyncC(), SyncGo()...) }

func clone(fs []Func) []Func {
	out := make([]Func, len(fs))
	for i, f := range fs {
		f.Aliases = append([]string(nil), f.Aliases...)
		out[i] = f
	}
	return out
}
