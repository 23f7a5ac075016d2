package memsites

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestTSCSitesObjdump: the rdtsc and rdtscp instructions TSCSites finds in
// real objects (libc, ld.so, a Go program with its runtime, an object
// with none) are exactly those GNU objdump's disassembly shows, at the
// same addresses, and the lists are sure.
func TestTSCSitesObjdump(t *testing.T) {
	targets := map[string]func(testing.TB) string{
		"libc":  libc,
		"ld.so": ldso,
		"go":    goAccess,
		"libm":  func(t testing.TB) string { return sibling(t, libc(t), "libm.so.6") },
	}
	for _, name := range sortedKeys(targets) {
		t.Run(name, func(t *testing.T) {
			path := targets[name](t)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sites, sure, err := TSCSites(f)
			if err != nil {
				t.Fatal(err)
			}
			if !sure {
				t.Errorf("%s: not sure of its rdtsc sites", path)
			}
			var got, want []uint64
			for _, s := range sites {
				got = append(got, s.Vaddr)
			}
			for _, in := range objdump(t, path) {
				if in.mnem == "rdtsc" || in.mnem == "rdtscp" {
					want = append(want, in.addr)
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s: TSCSites found %#x, objdump %#x", path, got, want)
			}
			t.Logf("%s: %d rdtsc/rdtscp sites", path, len(got))
		})
	}
}

// TestTSCSitesChunk: a stretch the length decoder gives up on
// before an rdtsc encoding makes the list unsure; one before nothing does
// not.
func TestTSCSitesChunk(t *testing.T) {
	nop, rdtsc, rdtscp := []byte{0x90}, []byte{0x0f, 0x31}, []byte{0x0f, 0x01, 0xf9}
	mov := []byte{0xb8, 0x0f, 0x31, 0x00, 0x00} // mov $0x310f, %eax: the bytes inside an immediate
	cat := func(bs ...[]byte) []byte { return slices.Concat(bs...) }
	for _, c := range []struct {
		name  string
		code  []byte
		sites []uint64
		sure  bool
	}{
		{"rdtsc", cat(nop, rdtsc, nop), []uint64{0x101}, true},
		{"rdtscp", cat(rdtscp, nop), []uint64{0x100}, true},
		{"prefixed", cat([]byte{0x66}, rdtsc), []uint64{0x100}, true},
		{"in an immediate", cat(mov, nop), nil, true},
		{"cut immediate", cat(nop, []byte{0xb8, 0x0f, 0x31}), []uint64{0x102}, false}, // a false site, known unsure
	} {
		sites, sure := tscChunk(c.code, 0x100)
		var got []uint64
		for _, s := range sites {
			got = append(got, s.Vaddr)
		}
		if !slices.Equal(got, c.sites) || sure != c.sure {
			t.Errorf("%s: sites %#x sure %v, want %#x %v", c.name, got, sure, c.sites, c.sure)
		}
	}
}

func ldso(t testing.TB) string {
	for _, p := range []string{"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no ld-linux-x86-64.so.2")
	return ""
}

func sibling(t testing.TB, path, name string) string {
	p := path[:strings.LastIndexByte(path, '/')+1] + name
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no %s", p)
	}
	return p
}
