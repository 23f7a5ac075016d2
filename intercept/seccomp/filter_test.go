package seccomp

import (
	"bytes"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/intercept/bpf"
	"golang.org/x/sys/unix"
)

const (
	tagForeign = 1
	tagX32     = 2
)

// want is the reference semantics of a Filter, written independently of
// Filter.Lookup: a direct map lookup after the arch and x32 checks.
func want(f Filter, arch, nr uint32) Action {
	if arch != unix.AUDIT_ARCH_X86_64 {
		return f.ForeignArch
	}
	if nr&0x40000000 != 0 {
		return f.X32
	}
	if a, ok := f.Syscalls[nr]; ok {
		return a
	}
	return f.Default
}

// archs are the audit arch values every filter is checked with.
var archs = []uint32{
	unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386, unix.AUDIT_ARCH_AARCH64,
	0, 0xffffffff, unix.AUDIT_ARCH_X86_64 ^ 1,
}

// probeNrs returns the syscall numbers every filter is checked with: the
// whole x86-64 table and beyond (0..600), x32 numbers, boundaries of the
// 32-bit space, and every key of f with its neighbours.
func probeNrs(f Filter) []uint32 {
	var nrs []uint32
	for nr := uint32(0); nr <= 600; nr++ {
		nrs = append(nrs, nr, nr|0x40000000)
	}
	nrs = append(nrs, 1023, 1024, 0x3ffffffe, 0x3fffffff, 0x40000000, 0x7fffffff,
		0x80000000, 0x80000001, 0xbfffffff, 0xc0000000, 0xfffffffe, 0xffffffff)
	for nr := range f.Syscalls {
		nrs = append(nrs, nr-1, nr, nr+1, nr|0x40000000, nr|0x80000000)
	}
	return nrs
}

func data(arch, nr uint32) SeccompData {
	return SeccompData{Nr: int32(nr), Arch: arch, InstructionPointer: 0x401000, Args: [6]uint64{1, 2, 3, 4, 5, 6}}
}

// checkFilter builds f and checks the program against the reference for
// every probe, that it validates, and that it reads only nr and arch.
// It returns the program and the largest number of instructions a native
// call executed.
func checkFilter(t testing.TB, f Filter) ([]bpf.Instruction, int) {
	t.Helper()
	prog, err := f.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if err := bpf.Validate(prog); err != nil {
		t.Fatalf("Validate: %v\n%s", err, Disassemble(prog))
	}
	checkOnlyNrAndArch(t, prog)
	maxSteps := 0
	for _, arch := range archs {
		for _, nr := range probeNrs(f) {
			w := want(f, arch, nr)
			if l := f.Lookup(arch, int32(nr)); l != w {
				t.Fatalf("Lookup(%#x, %#x) = %v, want %v", arch, nr, l, w)
			}
			r, steps, err := bpf.ExecSteps(prog, data(arch, nr).Bytes())
			if err != nil || Action(r) != w {
				t.Fatalf("arch %#x nr %#x: program returns %v, %v; want %v\n%s", arch, nr, Action(r), err, w, Disassemble(prog))
			}
			if arch == unix.AUDIT_ARCH_X86_64 && steps > maxSteps {
				maxSteps = steps
			}
		}
	}
	return prog, maxSteps
}

// checkOnlyNrAndArch asserts the invariant that keeps the kernel's action
// cache usable: the program loads only seccomp_data.nr (offset 0) and
// .arch (offset 4) and uses only the instructions seccomp_is_const_allow
// emulates.
func checkOnlyNrAndArch(t testing.TB, prog []bpf.Instruction) {
	t.Helper()
	for pc, in := range prog {
		switch in.OpCode {
		case bpf.Ld | bpf.W | bpf.Abs:
			if in.K != OffsetNr && in.K != OffsetArch {
				t.Fatalf("instruction %d (%v) loads offset %d: only nr (0) and arch (4) may be loaded\n%s", pc, in, in.K, Disassemble(prog))
			}
		case bpf.Ret | bpf.RetK, bpf.Jmp | bpf.Ja,
			bpf.Jmp | bpf.Jeq | bpf.K, bpf.Jmp | bpf.Jge | bpf.K,
			bpf.Jmp | bpf.Jgt | bpf.K, bpf.Jmp | bpf.Jset | bpf.K,
			bpf.Alu | bpf.And | bpf.K:
		default:
			t.Fatalf("instruction %d (%v) is not one the kernel's action-cache emulator understands\n%s", pc, in, Disassemble(prog))
		}
	}
}

// constAllow is a transcription of the kernel's seccomp_is_const_allow
// (kernel/seccomp.c, Linux 5.11+, without the uprobe exception): it
// emulates prog for a (nr, arch) pair and reports whether the result is
// SECCOMP_RET_ALLOW whatever the other fields of seccomp_data are.
func constAllow(prog []bpf.Instruction, nr, arch uint32) bool {
	var reg uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.OpCode {
		case bpf.Ld | bpf.W | bpf.Abs:
			switch in.K {
			case OffsetNr:
				reg = nr
			case OffsetArch:
				reg = arch
			default:
				return false // not a constant
			}
		case bpf.Ret | bpf.RetK:
			return in.K == uint32(Allow)
		case bpf.Jmp | bpf.Ja:
			pc += int(in.K)
		case bpf.Jmp | bpf.Jeq | bpf.K, bpf.Jmp | bpf.Jge | bpf.K,
			bpf.Jmp | bpf.Jgt | bpf.K, bpf.Jmp | bpf.Jset | bpf.K:
			var res bool
			switch bpf.Op(in.OpCode) {
			case bpf.Jeq:
				res = reg == in.K
			case bpf.Jge:
				res = reg >= in.K
			case bpf.Jgt:
				res = reg > in.K
			case bpf.Jset:
				res = reg&in.K != 0
			}
			if res {
				pc += int(in.JumpIfTrue)
			} else {
				pc += int(in.JumpIfFalse)
			}
		case bpf.Alu | bpf.And | bpf.K:
			reg &= in.K
		default:
			return false
		}
	}
	return false
}

// scattered returns a filter subscribing n syscalls spread over the table
// (a deterministic pseudo-random choice), each with one of a few actions.
func scattered(seed uint64, n int, actions ...Action) Filter {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	f := Filter{Syscalls: map[uint32]Action{}, Default: Allow, ForeignArch: Trace(tagForeign), X32: Trace(tagX32)}
	for len(f.Syscalls) < n {
		f.Syscalls[uint32(r.IntN(471))] = actions[r.IntN(len(actions))]
	}
	return f
}

func TestBuildEmptySubscription(t *testing.T) {
	f := Filter{Default: Allow, ForeignArch: Trace(tagForeign), X32: Trace(tagX32)}
	prog, steps := checkFilter(t, f)
	wantProg := []bpf.Instruction{
		bpf.Stmt(bpf.Ld|bpf.W|bpf.Abs, 4),
		bpf.Jump(bpf.Jmp|bpf.Jeq|bpf.K, unix.AUDIT_ARCH_X86_64, 1, 0),
		bpf.Stmt(bpf.Ret|bpf.RetK, uint32(Trace(tagForeign))),
		bpf.Stmt(bpf.Ld|bpf.W|bpf.Abs, 0),
		bpf.Jump(bpf.Jmp|bpf.Jset|bpf.K, 0x40000000, 0, 1),
		bpf.Stmt(bpf.Ret|bpf.RetK, uint32(Trace(tagX32))),
		bpf.Stmt(bpf.Ret|bpf.RetK, uint32(Allow)),
	}
	if !reflect.DeepEqual(prog, wantProg) {
		t.Fatalf("program:\n%swant:\n%s", Disassemble(prog), Disassemble(wantProg))
	}
	if steps != 5 {
		t.Errorf("a native call executes %d instructions, want 5", steps)
	}
	// An empty map and a nil map are the same filter.
	f.Syscalls = map[uint32]Action{}
	if p2, _ := f.Build(); !reflect.DeepEqual(p2, prog) {
		t.Errorf("empty map and nil map differ")
	}
	// Subscriptions whose action is the default do not change the program.
	f.Syscalls = map[uint32]Action{0: Allow, 39: Allow, 470: Allow}
	if p2, _ := f.Build(); !reflect.DeepEqual(p2, prog) {
		t.Errorf("subscriptions equal to the default change the program:\n%s", Disassemble(p2))
	}
}

func TestBuildAllSyscalls(t *testing.T) {
	f := Filter{Syscalls: map[uint32]Action{}, Default: Allow, ForeignArch: Trace(tagForeign), X32: Trace(tagX32)}
	for nr := uint32(0); nr <= 470; nr++ {
		f.Syscalls[nr] = Trace(0)
	}
	prog, steps := checkFilter(t, f)
	// One span [0, 470] and the default above it: a single jge.
	if len(prog) != 9 || steps != 6 {
		t.Errorf("%d instructions, %d executed; want 9 and 6\n%s", len(prog), steps, Disassemble(prog))
	}
	// Everything traced, including unknown numbers: no search at all.
	f.Default = Trace(0)
	prog, steps = checkFilter(t, f)
	if len(prog) != 7 || steps != 5 {
		t.Errorf("%d instructions, %d executed; want 7 and 5\n%s", len(prog), steps, Disassemble(prog))
	}
}

func TestBuildMatchesReference(t *testing.T) {
	actions := []Action{Trace(0), Trace(7), Errno(unix.EPERM), Errno(unix.ENOSYS), Allow, Log, KillProcess, Trap(3), UserNotif, KillThread}
	filters := []Filter{
		{Syscalls: map[uint32]Action{unix.SYS_GETPPID: Errno(unix.EPERM)}, Default: Allow, ForeignArch: Trace(1), X32: Trace(2)},
		{Syscalls: map[uint32]Action{0: Trace(0)}, Default: Allow, ForeignArch: Allow, X32: Allow},
		{Syscalls: map[uint32]Action{0x3fffffff: Trace(0), 0: Trace(0)}, Default: Allow, ForeignArch: KillProcess, X32: Errno(unix.EINVAL)},
		// Whitelist style: kill by default.
		{Syscalls: map[uint32]Action{0: Allow, 1: Allow, 3: Allow, 60: Allow, 231: Allow}, Default: KillProcess, ForeignArch: KillProcess, X32: KillProcess},
	}
	for seed := uint64(0); seed < 20; seed++ {
		n := []int{1, 2, 5, 30, 100, 200, 300, 400, 471}[seed%9]
		f := scattered(seed, n, actions[:1+seed%uint64(len(actions))]...)
		f.Default = actions[seed%4]
		filters = append(filters, f)
	}
	for i, f := range filters {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkFilter(t, f)
		})
	}
}

// TestSearchIsLogarithmic checks that dispatch costs O(log n) executed
// instructions, not a linear chain, and that the program size is linear in
// the number of spans.
func TestSearchIsLogarithmic(t *testing.T) {
	for _, c := range []struct {
		name string
		f    Filter
	}{
		{"200 scattered", scattered(42, 200, Trace(0))},
		{"200 scattered, 3 actions", scattered(43, 200, Trace(0), Trace(1), Errno(unix.EPERM))},
		{"every other syscall", func() Filter {
			f := Filter{Syscalls: map[uint32]Action{}, Default: Allow, ForeignArch: Trace(1), X32: Trace(2)}
			for nr := uint32(0); nr <= 470; nr += 2 {
				f.Syscalls[nr] = Trace(0)
			}
			return f
		}()},
		{"471 distinct actions", func() Filter {
			f := Filter{Syscalls: map[uint32]Action{}, Default: Allow, ForeignArch: Trace(1), X32: Trace(2)}
			for nr := uint32(0); nr <= 470; nr++ {
				f.Syscalls[nr] = Errno(unix.Errno(1 + nr))
			}
			return f
		}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			prog, steps := checkFilter(t, c.f)
			s := len(c.f.spans())
			depth := bits.Len(uint(s - 1)) // ceil(log2 s)
			if steps > 40 {
				t.Errorf("%d subscriptions, %d spans: a call executes up to %d instructions, want <= 40", len(c.f.Syscalls), s, steps)
			}
			// 5 fixed + depth jumps, plus at most one trampoline per level
			// on the path.
			if steps > 5+2*depth {
				t.Errorf("%d spans: %d executed, want <= 5+2*%d", s, steps, depth)
			}
			if max := 6 + 2*s - 1 + s/4; len(prog) > max {
				t.Errorf("%d spans: %d instructions, want <= %d", s, len(prog), max)
			}
			t.Logf("%d subscriptions, %d spans: %d instructions, at most %d executed (ceil(log2 spans) = %d)", len(c.f.Syscalls), s, len(prog), steps, depth)
		})
	}
}

// TestActionCache runs the kernel's action-cache emulator over the
// programs: every native or i386 number whose action is Allow must be
// found constant-allow (so the kernel skips the filter for it), and no
// other.
func TestActionCache(t *testing.T) {
	filters := []Filter{
		scattered(1, 200, Trace(0)),
		scattered(2, 50, Trace(0), Errno(unix.EPERM), Allow),
		{Syscalls: map[uint32]Action{39: Allow}, Default: Trace(0), ForeignArch: Allow, X32: Allow},
		{Default: Allow, ForeignArch: Allow, X32: Allow},
	}
	for i, f := range filters {
		prog, err := f.Build()
		if err != nil {
			t.Fatal(err)
		}
		allowed := 0
		for _, arch := range []uint32{unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386} {
			for nr := uint32(0); nr < 1024; nr++ {
				w := want(f, arch, nr) == Allow
				if got := constAllow(prog, nr, arch); got != w {
					t.Fatalf("filter %d, arch %#x, nr %d: kernel cache emulation says const-allow=%v, want %v\n%s", i, arch, nr, got, w, Disassemble(prog))
				}
				if w {
					allowed++
				}
			}
		}
		if allowed == 0 {
			t.Errorf("filter %d allows nothing; the test is vacuous", i)
		}
	}
	// The emulator gives up on programs that read arguments: a sanity
	// check that the property above is not vacuous.
	argProg := []bpf.Instruction{bpf.Stmt(bpf.Ld|bpf.W|bpf.Abs, OffsetArgs), bpf.Stmt(bpf.Ret|bpf.RetK, uint32(Allow))}
	if constAllow(argProg, 0, unix.AUDIT_ARCH_X86_64) {
		t.Fatal("constAllow accepts an argument load")
	}
}

func TestBuildDeterministic(t *testing.T) {
	base := scattered(7, 300, Trace(0), Trace(1), Errno(unix.EPERM), Allow)
	ref, err := base.Build()
	if err != nil {
		t.Fatal(err)
	}
	refBytes := bpf.Encode(ref)
	keys := make([]uint32, 0, len(base.Syscalls))
	for k := range base.Syscalls {
		keys = append(keys, k)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20; i++ {
		// A fresh map filled in another order (Go map iteration is
		// randomized too).
		r.Shuffle(len(keys), func(a, b int) { keys[a], keys[b] = keys[b], keys[a] })
		m := make(map[uint32]Action, i) // varying initial size
		for _, k := range keys {
			m[k] = base.Syscalls[k]
		}
		f := base
		f.Syscalls = m
		prog, err := f.Build()
		if err != nil {
			t.Fatal(err)
		}
		if got := bpf.Encode(prog); !bytes.Equal(got, refBytes) {
			t.Fatalf("build %d differs from the first build", i)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	ok := Filter{Default: Allow, ForeignArch: Allow, X32: Allow}
	tooMany := ok
	tooMany.Syscalls = map[uint32]Action{}
	for nr := uint32(0); nr < 2100; nr++ { // > 4096 instructions
		tooMany.Syscalls[nr] = Errno(unix.Errno(1 + nr%2))
	}
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"bad default", Filter{Default: 0x12340000, ForeignArch: Allow, X32: Allow}, "Default action 0x12340000"},
		{"bad foreign", Filter{Default: Allow, ForeignArch: 0x00010000, X32: Allow}, "ForeignArch action"},
		{"bad x32", Filter{Default: Allow, ForeignArch: Allow, X32: 0x7ff10000}, "X32 action"},
		{"bad syscall action", Filter{Syscalls: map[uint32]Action{1: 0x60000}, Default: Allow, ForeignArch: Allow, X32: Allow}, "syscall 1"},
		{"x32 key", Filter{Syscalls: map[uint32]Action{0x40000001: Trace(0)}, Default: Allow, ForeignArch: Allow, X32: Allow}, "x32 bit"},
		{"too many spans", tooMany, "kernel would refuse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prog, err := tc.f.Build()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build = %d instructions, %v; want error containing %q", len(prog), err, tc.want)
			}
		})
	}
	// Just below the limit still builds and works.
	for nr := range tooMany.Syscalls {
		if nr >= 2040 {
			delete(tooMany.Syscalls, nr)
		}
	}
	prog, _ := checkFilter(t, tooMany)
	t.Logf("2040 alternating syscalls: %d instructions", len(prog))
}

func TestDisassembleAnnotates(t *testing.T) {
	f := Filter{Syscalls: map[uint32]Action{39: Errno(unix.EPERM)}, Default: Allow, ForeignArch: Trace(1), X32: Trace(2)}
	prog, err := f.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := Disassemble(prog)
	for _, s := range []string{"; arch", "; nr", "; errno(EPERM)", "; allow", "; trace(1)", "; trace(2)", "jge #39", "jge #40"} {
		if !strings.Contains(d, s) {
			t.Errorf("disassembly lacks %q:\n%s", s, d)
		}
	}
	argLoad := Disassemble([]bpf.Instruction{bpf.Stmt(bpf.Ld|bpf.W|bpf.Abs, 24), bpf.Stmt(bpf.Ld|bpf.W|bpf.Abs, 12), bpf.Stmt(bpf.Ret|bpf.RetA, 0)})
	if !strings.Contains(argLoad, "; args[1]") || !strings.Contains(argLoad, "; instruction_pointer") {
		t.Errorf("disassembly:\n%s", argLoad)
	}
}
