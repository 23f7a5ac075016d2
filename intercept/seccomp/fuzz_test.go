package seccomp

import (
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/intercept/bpf"
	"golang.org/x/sys/unix"
)

var fuzzActions = []Action{
	Allow, Trace(0), Trace(1), Trace(2), Trace(0xffff), Errno(unix.EPERM), Errno(unix.ENOSYS),
	KillProcess, KillThread, Log, Trap(1), UserNotif,
}

// fuzzFilter decodes a Filter from fuzz bytes: three action selectors
// (Default, ForeignArch, X32), then 3-byte entries (16-bit number, action
// selector). Numbers with the top bit set are spread over the whole 30-bit
// range of native numbers.
func fuzzFilter(b []byte) (Filter, bool) {
	if len(b) < 3 {
		return Filter{}, false
	}
	pick := func(x byte) Action { return fuzzActions[int(x)%len(fuzzActions)] }
	f := Filter{Default: pick(b[0]), ForeignArch: pick(b[1]), X32: pick(b[2]), Syscalls: map[uint32]Action{}}
	for rest := b[3:]; len(rest) >= 3; rest = rest[3:] {
		nr := uint32(rest[0]) | uint32(rest[1])<<8
		if nr&0x8000 != 0 {
			nr = (nr * 0x9e3779b1) &^ X32SyscallBit
		}
		f.Syscalls[nr] = pick(rest[2])
	}
	return f, true
}

// FuzzFilter checks that Build + Exec agree with a direct map lookup for
// arbitrary subscriptions, that programs read only nr and arch, and that
// the kernel's action-cache emulation marks exactly the allowed numbers.
func FuzzFilter(f *testing.F) {
	f.Add([]byte{0, 1, 2})
	f.Add([]byte{0, 1, 2, 39, 0, 5, 40, 0, 5, 0xff, 0xff, 1})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 1, 0, 1, 2, 0, 0, 3, 0, 3})
	f.Add([]byte{5, 7, 9, 0xca, 0, 1, 0xcb, 0, 1, 0xcc, 0, 2, 0xff, 0x3f, 3, 0x00, 0x80, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		flt, ok := fuzzFilter(b)
		if !ok {
			return
		}
		prog, err := flt.Build()
		if err != nil {
			if strings.Contains(err.Error(), "kernel would refuse") && len(flt.spans()) > 2000 {
				return // too many spans for 4096 instructions
			}
			t.Fatalf("Build: %v", err)
		}
		checkOnlyNrAndArch(t, prog)
		nrs := []uint32{0, 1, 2, 39, 470, 471, 0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xbfffffff, 0xffffffff}
		for nr := range flt.Syscalls {
			nrs = append(nrs, nr-1, nr, nr+1, nr|X32SyscallBit, nr|0x80000000)
		}
		for _, arch := range []uint32{unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386, unix.AUDIT_ARCH_AARCH64} {
			for _, nr := range nrs {
				w := want(flt, arch, nr)
				r, err := bpf.Exec(prog, data(arch, nr).Bytes())
				if err != nil || Action(r) != w {
					t.Fatalf("arch %#x nr %#x: program returns %v, %v; want %v\n%s", arch, nr, Action(r), err, w, Disassemble(prog))
				}
				if c := constAllow(prog, nr, arch); c != (w == Allow) {
					t.Fatalf("arch %#x nr %#x: const-allow %v for %v", arch, nr, c, w)
				}
			}
		}
	})
}
