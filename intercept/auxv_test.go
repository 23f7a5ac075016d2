package intercept

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// fakeStack is guest memory with one mapping [base, base+len(mem)), like a
// stack whose top ends the mapping. Reads and writes outside it fail the
// way process_vm_readv does: with the bytes that were mapped.
type fakeStack struct {
	base  uint64
	mem   []byte
	reads int
}

func (f *fakeStack) span(n int, addr int64) (lo, hi int, err error) {
	a := uint64(addr)
	if a < f.base || a >= f.base+uint64(len(f.mem)) {
		return 0, 0, ErrFault
	}
	lo = int(a - f.base)
	hi = min(lo+n, len(f.mem))
	if hi-lo < n {
		err = ErrFault
	}
	return lo, hi, err
}

func (f *fakeStack) ReadAt(p []byte, addr int64) (int, error) {
	f.reads++
	lo, hi, err := f.span(len(p), addr)
	return copy(p, f.mem[lo:hi]), err
}

func (f *fakeStack) WriteAt(p []byte, addr int64) (int, error) {
	lo, hi, err := f.span(len(p), addr)
	if err != nil {
		return 0, err
	}
	return copy(f.mem[lo:hi], p), nil
}

func (f *fakeStack) word(addr uint64) uint64 {
	return binary.LittleEndian.Uint64(f.mem[addr-f.base:])
}

// buildStack lays out an initial stack like the kernel's at exec: argc,
// argv, NULL, envp, NULL, auxv pairs up to AT_NULL, then the 16 AT_RANDOM
// bytes and some string space up to the top of the mapping. It returns sp
// and the addresses of the AT_SYSINFO_EHDR pair and the random bytes.
func buildStack(t *testing.T, argc, envc int, spOffset uint64) (f *fakeStack, sp, vdsoPair, random uint64) {
	t.Helper()
	const base = 0x7fff_0000_0000
	f = &fakeStack{base: base, mem: make([]byte, 4*4096)}
	sp = base + spOffset
	var words []uint64
	words = append(words, uint64(argc))
	for i := 0; i < argc; i++ {
		words = append(words, base+3*4096+uint64(i))
	}
	words = append(words, 0)
	for i := 0; i < envc; i++ {
		words = append(words, base+3*4096+100+uint64(i))
	}
	words = append(words, 0)
	auxStart := len(words)
	random = base + 4*4096 - 64
	aux := [][2]uint64{{6, 4096}, {atSysinfoEHdr, 0x7fff_f7fc_1000}, {17, 100}, {3, 0x400040}, {atRandom, random}, {31, base + 3*4096}, {atNull, 0}}
	for _, a := range aux {
		words = append(words, a[0], a[1])
	}
	vdsoPair = sp + uint64(auxStart+2)*8
	if sp+uint64(len(words))*8 > random {
		t.Fatalf("stack layout too big for the fake mapping")
	}
	for i, w := range words {
		binary.LittleEndian.PutUint64(f.mem[sp-base+uint64(i)*8:], w)
	}
	copy(f.mem[random-base:], "kernel-random-16")
	return f, sp, vdsoPair, random
}

// TestEditAuxv: the vDSO entry becomes AT_IGNORE and the AT_RANDOM bytes
// are replaced; nothing else changes; the tables are read a page at a time
// (not a word at a time), also when they cross page boundaries.
func TestEditAuxv(t *testing.T) {
	for _, tc := range []struct {
		argc, envc int
		spOffset   uint64
		maxReads   int
	}{
		{1, 35, 4096 + 1024, 1},    // all within sp's page
		{3, 40, 2*4096 - 48, 2},    // argv starts at a page end
		{2, 700, 8, 3},             // envp spans pages: 2 page crossings
		{1, 0, 3*4096 - 4096/2, 1}, // no environment
		{5, 300, 4096 - 8, 2},      // sp in the last word of a page
	} {
		t.Run(fmt.Sprintf("argc%d_envc%d_sp%#x", tc.argc, tc.envc, tc.spOffset), func(t *testing.T) {
			f, sp, vdso, random := buildStack(t, tc.argc, tc.envc, tc.spOffset)
			before := bytes.Clone(f.mem)
			r := [16]byte{}
			copy(r[:], "seeded-bytes-16!")
			vdsoAddr, err := editAuxv(f, sp, true, &r)
			if err != nil {
				t.Fatal(err)
			}
			if vdsoAddr != 0x7fff_f7fc_1000 {
				t.Errorf("vDSO at %#x, want the AT_SYSINFO_EHDR value", vdsoAddr)
			}
			if got := f.word(vdso); got != atIgnore {
				t.Errorf("AT_SYSINFO_EHDR tag is now %d, want AT_IGNORE", got)
			}
			if got := f.mem[random-f.base : random-f.base+16]; string(got) != "seeded-bytes-16!" {
				t.Errorf("AT_RANDOM bytes %q", got)
			}
			// Nothing else changed.
			binary.LittleEndian.PutUint64(f.mem[vdso-f.base:], atSysinfoEHdr)
			copy(f.mem[random-f.base:], "kernel-random-16")
			if !bytes.Equal(f.mem, before) {
				t.Errorf("editAuxv changed more than the vDSO tag and the random bytes")
			}
			if f.reads > tc.maxReads {
				t.Errorf("%d reads of guest memory, want at most %d (one per page)", f.reads, tc.maxReads)
			}
		})
	}
}

func TestEditAuxvOptions(t *testing.T) {
	f, sp, vdso, random := buildStack(t, 1, 10, 4096)
	if _, err := editAuxv(f, sp, false, nil); err != nil {
		t.Fatal(err)
	}
	if f.word(vdso) != atSysinfoEHdr || string(f.mem[random-f.base:random-f.base+16]) != "kernel-random-16" {
		t.Errorf("editAuxv with nothing to do changed the stack")
	}
}

// TestEditAuxvBad: stacks that end before AT_NULL, or a bogus sp, give an
// error, not a panic or a loop.
func TestEditAuxvBad(t *testing.T) {
	f, sp, _, _ := buildStack(t, 1, 10, 4096)
	// Overwrite AT_NULL and everything after the auxv up to the end of
	// the mapping with a non-zero tag: no terminator is ever found.
	for a := sp + 8*14; a+8 <= f.base+uint64(len(f.mem)); a += 8 {
		binary.LittleEndian.PutUint64(f.mem[a-f.base:], 7)
	}
	if _, err := editAuxv(f, sp, true, nil); err == nil {
		t.Errorf("unterminated auxv: no error")
	}
	if _, err := editAuxv(f, f.base-4096, true, nil); err == nil {
		t.Errorf("unmapped sp: no error")
	}
	f, _, _, _ = buildStack(t, 1, 10, 4096)
	if _, err := editAuxv(f, f.base+uint64(len(f.mem))-8, true, nil); err == nil {
		t.Errorf("sp at the top of the stack: no error")
	}
}

// TestAuxvOptionsReal: under DisableVDSO and AtRandom a real program sees
// no vDSO and the given AT_RANDOM bytes, and so does the program it execs.
func TestAuxvOptionsReal(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "auxv.c")
	os.WriteFile(src, []byte(`#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
int main(int argc, char **argv) {
	const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
	printf("vdso=%d random=%.16s\n", getauxval(AT_SYSINFO_EHDR) != 0, r);
	fflush(stdout);
	if (argc > 1) execl(argv[0], argv[0], (char *)0);
	return 0;
}
`), 0o644)
	bin := filepath.Join(dir, "auxv")
	if out, err := exec.Command("gcc", "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	r := [16]byte{}
	copy(r[:], "0123456789abcdef")
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	res, err := Run(t.Context(), &Command{Path: bin, Args: []string{bin, "again"}, Stdout: outW}, NopTool{},
		Options{DisableVDSO: true, AtRandom: &r})
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.ReadFrom(outR)
	want := "vdso=0 random=0123456789abcdef\nvdso=0 random=0123456789abcdef\n"
	if res.ExitCode() != 0 || out.String() != want {
		t.Errorf("exit %d, output %q, want %q", res.ExitCode(), out.String(), want)
	}
}
