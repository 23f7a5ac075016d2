// Package corpus is schedfuzz's suite of small racy programs: each has one
// known concurrency bug that plain native runs almost never show and that
// a scheduler switching threads at syscalls can reach, because at least one
// real syscall (a write to a log, getpid, access, lseek...) sits inside
// the racy window.
//
// The sources live in programs/ (C: programs/<name>.c, Go:
// programs/go/<name>/main.go, each a self-contained package main using
// only the standard library) and are embedded in this package, so any
// binary that imports corpus (an installed schedfuzz, a test) can build
// them without the source tree. Each source starts with a comment giving
// the bug, the window, how a failing run fails and the output of a correct
// run; Programs lists the same facts in machine-usable form.
//
// A correct run exits 0 and prints exactly Program.Stdout. A failing run
// exits 1 with a message on stderr, or deadlocks (threads blocked forever
// on futexes; natively a hang).
//
// Most programs give the second thread (goroutine, process) a few
// milliseconds of CPU-only work before its racy part. Natively this keeps
// the windows apart, so the bug is rare even on a loaded machine; a
// scheduler that switches only at syscalls does not see the work at all,
// so it does not change which interleavings it can reach.
//
// Build compiles a program, caching the binary by content hash under
// $SCHEDFUZZ_CORPUS_CACHE, else os.TempDir()/schedfuzz-corpus.
package corpus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/schedfuzz/schedfuzz/sched/points"
)

// Program is one racy example program.
type Program struct {
	// Name identifies the program: "order_violation" for
	// programs/order_violation.c, "go/lost_update" for
	// programs/go/lost_update/main.go.
	Name string
	// Source is the source file's path relative to programs/ (and in
	// Sources).
	Source string
	// Go is true for Go programs, false for C ones.
	Go bool
	// Bug says what is wrong, in a few words.
	Bug string
	// Window names the syscalls inside the racy window: the scheduling
	// points where a switch exposes the bug.
	Window string
	// Failure is how a failing run ends, as explore.Result.Describe puts
	// it: "exit 1", "deadlock" or "signal SIGSEGV".
	Failure string
	// Stdout is exactly what a correct run prints on standard output.
	Stdout string
	// Args are extra command-line arguments (after argv[0]).
	Args []string
	// TimingBug is true when the native failure rate depends on the
	// machine's load (a sleep used as synchronization fails more often
	// on a loaded machine): its rarity is not asserted natively.
	TimingBug bool
	// Points and Watch are the scheduling points beyond syscalls the bug
	// needs (its window holds no syscall): -points sync, -watch VAR, or
	// -points memory (no sync call either). Zero: syscalls suffice.
	Points points.Set
	Watch  []points.Watch
}

// NeedsPoints reports whether the bug is out of reach of a scheduler that
// switches only at syscalls.
func (p Program) NeedsPoints() bool { return p.Points != points.Syscalls || len(p.Watch) > 0 }

// Programs returns the corpus, in a fixed order.
func Programs() []Program {
	return []Program{
		{Name: "order_violation", Source: "order_violation.c",
			Bug:     "order violation: the worker reads a pointer main publishes only after starting it",
			Window:  "write (main's log line between pthread_create and the store; the worker's log line)",
			Failure: "exit 1", Stdout: "worker: name=alpha workers=4\n"},
		{Name: "atomicity_violation", Source: "atomicity_violation.c",
			Bug:     "atomicity violation: unlocked read-modify-write of a shared counter loses updates",
			Window:  "write (log line between the load and the store)",
			Failure: "exit 1", Stdout: "counter=8\n"},
		{Name: "check_then_act_file", Source: "check_then_act_file.c",
			Bug:     "check-then-act (TOCTOU): access(F_OK) then open(O_CREAT|O_EXCL); both threads create",
			Window:  "access, openat",
			Failure: "exit 1", Stdout: "created=1\n"},
		{Name: "abba_deadlock", Source: "abba_deadlock.c",
			Bug:     "lock-order inversion: A then B in one thread, B then A in the other",
			Window:  "write (log line between the two pthread_mutex_lock calls)",
			Failure: "deadlock", Stdout: "transfers=2\n"},
		{Name: "lost_wakeup", Source: "lost_wakeup.c",
			Bug:     "lost wakeup: the predicate is checked outside the mutex, the signal comes before the wait",
			Window:  "write (log line between the check of ready and pthread_cond_wait)",
			Failure: "deadlock", Stdout: "item=42\n"},
		{Name: "sleep_sync", Source: "sleep_sync.c",
			Bug:     "synchronization by sleeping: main assumes 10 ms is enough for the worker to initialize",
			Window:  "getppid (12000 of them, 1 quantum of virtual time each), nanosleep",
			Failure: "exit 1", Stdout: "entries=12000\n", TimingBug: true},
		{Name: "pipe_interleave", Source: "pipe_interleave.c",
			Bug:     "non-atomic record: two processes write 3-part records to one pipe with 3 writes each",
			Window:  "write (the second and third part of a record)",
			Failure: "exit 1", Stdout: "records: A=3 B=3\n"},
		{Name: "two_process_file", Source: "two_process_file.c",
			Bug:     "lost update across processes: unlocked read-modify-write of a counter file",
			Window:  "read, lseek, write (and the next increment's openat)",
			Failure: "exit 1", Stdout: "count=6\n"},
		// Bugs whose window holds no syscall: out of reach of syscall
		// points, found with function or data points.
		{Name: "lock_sections", Source: "lock_sections.c",
			Bug:     "lost update across two lock-protected sections (read in one, write-back in the next)",
			Window:  "none: between pthread_mutex_unlock and the next pthread_mutex_lock",
			Failure: "exit 1", Stdout: "balance=6\n", Points: points.Sync},
		{Name: "stack_check", Source: "stack_check.c",
			Bug:     "check-then-act: a stack's emptiness checked outside the lock, popped inside it",
			Window:  "none: between the unlocked check and pthread_mutex_lock",
			Failure: "exit 1", Stdout: "popped 1 item, top=0\n", Points: points.Sync},
		{Name: "bank_transfer", Source: "bank_transfer.c",
			Bug:     "non-atomic transfer between two accounts with a lock each; an auditor holding both sees the money in neither",
			Window:  "none: between unlock(A) and lock(B)",
			Failure: "exit 1", Stdout: "audits ok, a=20 b=80\n", Points: points.Sync},
		{Name: "flag_race", Source: "flag_race.c",
			Bug:     "check-then-act on a plain global flag, no lock: two threads both claim a job",
			Window:  "none: between the load and the store of claimed (no call either)",
			Failure: "exit 1", Stdout: "job claimed once\n", Watch: []points.Watch{{Symbol: "claimed"}}},
		// Bugs whose window holds no syscall and no sync call either:
		// found only with points at memory accesses (-points memory).
		{Name: "store_order", Source: "store_order.c",
			Bug:     "stores out of order: a ready flag is stored before the fields it publishes",
			Window:  "none: between the store of ready and the store of len (two plain stores)",
			Failure: "exit 1", Stdout: "message ok\n", Points: points.Memory},
		{Name: "wrong_lock", Source: "wrong_lock.c",
			Bug:     "read-modify-write of a counter under two different mutexes, which exclude nothing",
			Window:  "none: between the load and the store of hits inside the critical section",
			Failure: "exit 1", Stdout: "hits=6\n", Points: points.Memory},
		{Name: "null_check", Source: "null_check.c",
			Bug:     "check-then-dereference: a shared pointer is loaded to check it and again to use it; it is cleared in between",
			Window:  "none: between the two loads of current",
			Failure: "signal SIGSEGV", Stdout: "reader done\n", Points: points.Memory},
		{Name: "lf_stack", Source: "lf_stack.c",
			Bug:     "ABA in a lock-free stack's pop: the top node is popped and pushed back between a pop's read of next and its CAS",
			Window:  "none: between the load of old->next and the compare-and-swap of top",
			Failure: "exit 1", Stdout: "stack ok\n", Points: points.Memory},
		{Name: "ws_deque", Source: "ws_deque.c",
			Bug:     "work-stealing deque: the owner takes the last item with a store to top where a CAS against the thief is needed",
			Window:  "none: between the owner's load of top and its store of top (the thief's whole steal)",
			Failure: "exit 1", Stdout: "2 items taken once each\n", Points: points.Memory},
		{Name: "go/lost_update", Source: "go/lost_update/main.go", Go: true,
			Bug:     "atomicity violation: Load then Store of an atomic counter (not Add) in two goroutines",
			Window:  "getpid (between the Load and the Store)",
			Failure: "exit 1", Stdout: "counter=6\n"},
		{Name: "go/check_then_act", Source: "go/check_then_act/main.go", Go: true,
			Bug:     "check-then-act: lookup under RLock, create and insert under Lock without re-checking",
			Window:  "getpid, write (creating the session between RUnlock and Lock)",
			Failure: "exit 1", Stdout: "sessions created: 3\n"},
		{Name: "go/mutex_lost_update", Source: "go/mutex_lost_update/main.go", Go: true,
			Bug:     "lost update across two sync.Mutex critical sections in two goroutines",
			Window:  "none: between mu.Unlock and the next mu.Lock (inlined; uncontended)",
			Failure: "exit 1", Stdout: "counter=6\n", Points: points.Sync},
		{Name: "go/lazy_init", Source: "go/lazy_init/main.go", Go: true,
			Bug:     "check-then-act on a plain field, no lock: a connection opened on first use is opened twice",
			Window:  "none: between the load of r.conn and its store (no syscall, no sync call)",
			Failure: "exit 1", Stdout: "opened 1 connection\n", Points: points.Memory},
	}
}

// Lookup returns the program called name.
func Lookup(name string) (Program, bool) {
	for _, p := range Programs() {
		if p.Name == name {
			return p, true
		}
	}
	return Program{}, false
}

//go:embed programs
var embedded embed.FS

// Sources returns the embedded source tree, the programs directory, with
// paths like "order_violation.c" and "go/lost_update/main.go".
func Sources() fs.FS {
	sub, err := fs.Sub(embedded, "programs")
	if err != nil {
		panic(err) // "programs" is a valid path
	}
	return sub
}

// SourceText returns the program's source code.
func SourceText(p Program) ([]byte, error) {
	return embedded.ReadFile(path.Join("programs", p.Source))
}

// BinaryName is the file name Build gives the program's executable:
// Name with "/" replaced by "_" ("go_lost_update").
func (p Program) BinaryName() string { return strings.ReplaceAll(p.Name, "/", "_") }

// CFlags are the gcc flags of every C program.
var CFlags = []string{"-std=c11", "-O1", "-g", "-pthread", "-Wall", "-Wextra", "-Werror"}

// goVersion is the go directive of the go.mod a Go program is built with
// (sync.WaitGroup.Go needs 1.25).
const goVersion = "1.25"

// cacheFormat is mixed into every cache key: bump it when the layout or
// what a key covers changes.
const cacheFormat = "schedfuzz-corpus v1"

const buildTimeout = 5 * time.Minute

// Build returns the path of an executable for p, compiled with gcc
// (CFlags) or with go build (CGO_ENABLED=0, -trimpath, GOTOOLCHAIN=local).
//
// Binaries are cached under $SCHEDFUZZ_CORPUS_CACHE, else
// os.TempDir()/schedfuzz-corpus, in <key>/<BinaryName>, where the key
// hashes the source, the compiler's identity and the flags. A binary is
// compiled in a private temporary directory and renamed into place, so
// concurrent builders (parallel test processes) never see a partial file.
//
// If dir is empty, Build returns the cached path itself. Otherwise it
// places the binary at dir/BinaryName (a hard link to the cached file, or
// a copy), also by atomic rename, and returns that path.
func Build(p Program, dir string) (string, error) {
	root, err := cacheRoot()
	if err != nil {
		return "", err
	}
	cached, err := buildMemo(root, p)
	if err != nil {
		return "", err
	}
	if dir == "" {
		return cached, nil
	}
	out, err := filepath.Abs(filepath.Join(dir, p.BinaryName()))
	if err != nil {
		return "", err
	}
	if err := place(cached, out); err != nil {
		return "", fmt.Errorf("corpus: placing %s: %w", p.Name, err)
	}
	return out, nil
}

func cacheRoot() (string, error) {
	root := os.Getenv("SCHEDFUZZ_CORPUS_CACHE")
	if root == "" {
		root = filepath.Join(os.TempDir(), "schedfuzz-corpus")
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("corpus: cache directory: %w", err)
	}
	return root, nil
}

// One build per (root, key) per process; concurrent callers wait.
var memo sync.Map // root + "\x00" + key -> *memoEntry

type memoEntry struct {
	once sync.Once
	path string
	err  error
}

func buildMemo(root string, p Program) (string, error) {
	key, src, err := cacheKey(p)
	if err != nil {
		return "", err
	}
	e, _ := memo.LoadOrStore(root+"\x00"+key, new(memoEntry))
	me := e.(*memoEntry)
	me.once.Do(func() { me.path, me.err = buildInto(root, key, p, src) })
	if me.err != nil {
		memo.CompareAndDelete(root+"\x00"+key, me) // let a later call retry
	}
	return me.path, me.err
}

type toolID struct {
	id  string
	err error
}

var (
	gccID = sync.OnceValue(func() toolID { return identify("gcc", "--version") })
	goID  = sync.OnceValue(func() toolID { return identify(goCommand(), "version") })
)

func identify(cmd, arg string) toolID {
	path, err := exec.LookPath(cmd)
	if err != nil {
		return toolID{err: fmt.Errorf("corpus: compiler %s not found: %w", cmd, err)}
	}
	if r, err := filepath.EvalSymlinks(path); err == nil {
		path = r
	}
	c := exec.Command(cmd, arg)
	c.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	out, err := c.CombinedOutput()
	if err != nil {
		return toolID{err: fmt.Errorf("corpus: %s %s: %v\n%s", cmd, arg, err, out)}
	}
	return toolID{id: path + "\n" + string(out)}
}

// goCommand is the go command: from PATH, else from $GOROOT.
func goCommand() string {
	if _, err := exec.LookPath("go"); err == nil {
		return "go"
	}
	if root := os.Getenv("GOROOT"); root != "" && fileExists(filepath.Join(root, "bin", "go")) {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

func cacheKey(p Program) (key string, src []byte, err error) {
	src, err = SourceText(p)
	if err != nil {
		return "", nil, fmt.Errorf("corpus: %s: %w", p.Name, err)
	}
	var t toolID
	if p.Go {
		t = goID()
	} else {
		t = gccID()
	}
	if t.err != nil {
		return "", nil, t.err
	}
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s\n", len(s), s) }
	field(cacheFormat)
	field(runtime.GOOS + "/" + runtime.GOARCH)
	field(p.Name)
	field(t.id)
	if p.Go {
		field("go " + goVersion + " CGO_ENABLED=0 -trimpath GOFLAGS=" + os.Getenv("GOFLAGS") +
			" GOEXPERIMENT=" + os.Getenv("GOEXPERIMENT"))
	} else {
		field("gcc " + strings.Join(CFlags, " "))
	}
	field(string(src))
	return hex.EncodeToString(h.Sum(nil))[:32], src, nil
}

func buildInto(root, key string, p Program, src []byte) (string, error) {
	dir := filepath.Join(root, key)
	final := filepath.Join(dir, p.BinaryName())
	if fileExists(final) {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, p.BinaryName())

	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if p.Go {
		mod := "module schedfuzz.corpus/" + p.BinaryName() + "\n\ngo " + goVersion + "\n"
		if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte(mod), 0o644); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(tmp, "main.go"), src, 0o644); err != nil {
			return "", err
		}
		cmd = exec.CommandContext(ctx, goCommand(), "build", "-trimpath", "-buildvcs=false", "-o", out, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=local",
			"GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
		if os.Getenv("GOCACHE") == "" && os.Getenv("HOME") == "" && os.Getenv("XDG_CACHE_HOME") == "" {
			cmd.Env = append(cmd.Env, "GOCACHE="+filepath.Join(root, "gocache"))
		}
	} else {
		file := filepath.Join(tmp, p.BinaryName()+".c")
		if err := os.WriteFile(file, src, 0o644); err != nil {
			return "", err
		}
		args := append(append([]string{}, CFlags...), "-o", out, file)
		cmd = exec.CommandContext(ctx, "gcc", args...)
	}
	cmd.Dir = tmp
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("corpus: building %s failed: %v\n$ %s\n%s",
			p.Name, err, strings.Join(cmd.Args, " "), output.String())
	}
	// Atomic publish. A concurrent builder may have published an identical
	// binary already: replacing it is harmless (a process running it keeps
	// its inode).
	if err := os.Rename(out, final); err != nil {
		return "", fmt.Errorf("corpus: publishing %s: %w", final, err)
	}
	return final, nil
}

// place makes dst a copy of src (a hard link if possible), atomically.
func place(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if same(src, dst) {
		return nil
	}
	tmp := fmt.Sprintf("%s.tmp%d-%d", dst, os.Getpid(), time.Now().UnixNano())
	if err := os.Link(src, tmp); err != nil {
		if err := copyFile(src, tmp); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
