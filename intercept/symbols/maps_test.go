package symbols

import (
	"debug/elf"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMaps(t *testing.T) {
	in := `5572f2b9f000-5572f2ba1000 r--p 00000000 fe:00 247026                     /usr/bin/cat
5572f2ba1000-5572f2ba6000 r-xp 00002000 fe:00 247026                     /usr/bin/cat
7f0000000000-7f0000001000 rw-s 00001000 103:0a 12                        /dev/shm/a file with spaces
7f0000001000-7f0000002000 r-xp 00000000 08:01 99                         /tmp/gone.so (deleted)
7ffd1c5e0000-7ffd1c601000 rw-p 00000000 00:00 0                          [stack]
7f0000003000-7f0000004000 ---p 00000000 00:00 0 
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`
	ms, err := ParseMaps(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{
		{Start: 0x5572f2b9f000, End: 0x5572f2ba1000, Perm: PermRead, Dev: unix.Mkdev(0xfe, 0), Inode: 247026, Path: "/usr/bin/cat"},
		{Start: 0x5572f2ba1000, End: 0x5572f2ba6000, Offset: 0x2000, Perm: PermRead | PermExec, Dev: unix.Mkdev(0xfe, 0), Inode: 247026, Path: "/usr/bin/cat"},
		{Start: 0x7f0000000000, End: 0x7f0000001000, Offset: 0x1000, Perm: PermRead | PermWrite | PermShared, Dev: unix.Mkdev(0x103, 0xa), Inode: 12, Path: "/dev/shm/a file with spaces"},
		{Start: 0x7f0000001000, End: 0x7f0000002000, Perm: PermRead | PermExec, Dev: unix.Mkdev(8, 1), Inode: 99, Path: "/tmp/gone.so", Deleted: true},
		{Start: 0x7ffd1c5e0000, End: 0x7ffd1c601000, Perm: PermRead | PermWrite, Path: "[stack]"},
		{Start: 0x7f0000003000, End: 0x7f0000004000},
		{Start: 0xffffffffff600000, End: 0xffffffffff601000, Perm: PermExec, Path: "[vsyscall]"},
	}
	if len(ms) != len(want) {
		t.Fatalf("got %d mappings, want %d: %+v", len(ms), len(want), ms)
	}
	for i := range want {
		if ms[i] != want[i] {
			t.Errorf("mapping %d = %+v\nwant %+v", i, ms[i], want[i])
		}
	}
	if !ms[0].IsFile() || ms[4].IsFile() || ms[5].IsFile() {
		t.Error("IsFile wrong")
	}
	if got := ms[1].String(); got != "5572f2ba1000-5572f2ba6000 r-xp 00002000 fe:00 247026 /usr/bin/cat" {
		t.Errorf("String = %q", got)
	}

	bad := []string{
		"5572f2b9f000 r--p 00000000 fe:00 1 /x",    // no range
		"zz-5572f2ba1000 r--p 00000000 fe:00 1 /x", // bad start
		"2000-1000 r--p 00000000 fe:00 1 /x",       // end below start
		"1000-2000 rw 00000000 fe:00 1 /x",         // short perms
		"1000-2000 rwxq 00000000 fe:00 1 /x",       // bad share flag
		"1000-2000 xr-p 00000000 fe:00 1 /x",       // perms out of order
		"1000-2000 r--p 0000zz00 fe:00 1 /x",       // bad offset
		"1000-2000 r--p 00000000 fe00 1 /x",        // bad dev
		"1000-2000 r--p 00000000 fe:00 abc /x",     // bad inode
		"1000-2000 r--p 00000000 fe:00",            // too few fields
	}
	for _, l := range bad {
		_, err := ParseMaps(strings.NewReader("1000-2000 r--p 00000000 00:00 0\n" + l + "\n"))
		if err == nil || !strings.Contains(err.Error(), "maps line 2:") || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseMaps(%q) err = %v, want a one-line error for line 2", l, err)
		}
	}
}

func TestReadMapsSelf(t *testing.T) {
	ms, err := ReadMaps(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range ms {
		if m.Path == exe && m.Perm&PermExec != 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("own maps have no executable mapping of %s", exe)
	}
	if _, err := ReadMaps(-1); err == nil {
		t.Error("ReadMaps(-1) succeeded")
	}
}

// TestMappingBias exercises the address arithmetic on synthetic layouts.
func TestMappingBias(t *testing.T) {
	// The modern layout (ld -z separate-code), as gcc 12 links a PIE.
	modern := &Object{Path: "pie", Type: elf.ET_DYN, Loads: []Segment{
		{Vaddr: 0, Off: 0, Filesz: 0x628, Memsz: 0x628, Flags: elf.PF_R},
		{Vaddr: 0x1000, Off: 0x1000, Filesz: 0x1c5, Memsz: 0x1c5, Flags: elf.PF_R | elf.PF_X},
		{Vaddr: 0x2000, Off: 0x2000, Filesz: 0xdc, Memsz: 0xdc, Flags: elf.PF_R},
		{Vaddr: 0x3de8, Off: 0x2de8, Filesz: 0x248, Memsz: 0x250, Flags: elf.PF_R | elf.PF_W},
	}}
	const base = 0x55d4c3a00000
	m := func(start, end, off uint64, perm Perm) Mapping {
		return Mapping{Start: start, End: end, Offset: off, Perm: perm, Inode: 1, Path: "/pie"}
	}
	maps := []Mapping{
		m(base, base+0x1000, 0, PermRead),
		m(base+0x1000, base+0x2000, 0x1000, PermRead|PermExec),
		m(base+0x2000, base+0x3000, 0x2000, PermRead),
		m(base+0x3000, base+0x4000, 0x2000, PermRead),           // RELRO, mprotected
		m(base+0x4000, base+0x5000, 0x3000, PermRead|PermWrite), // .data
	}
	// Each mapping alone, except the .rodata page that is also mapped
	// as RELRO (offset 0x2000 twice): alone it is ambiguous.
	for i, mp := range maps {
		b, err := MappingBias(modern, mp)
		if i != 2 && (err != nil || b != base) {
			t.Errorf("MappingBias(%v) = %#x, %v; want %#x", mp, b, err, uint64(base))
		}
	}
	if cs, err := biasCandidates(modern, maps[2]); err != nil || len(cs) != 2 || cs[0].bias != base-0x1000 || cs[1].bias != base {
		t.Errorf("candidates for the shared .rodata page: %+v, %v", cs, err)
	}
	ims := LoadImages(modern, maps)
	if len(ims) != 1 || ims[0].Bias != base || len(ims[0].Mappings) != 5 {
		t.Fatalf("LoadImages = %+v", ims)
	}
	if a := ims[0].Addr(0x1139); a != base+0x1139 {
		t.Errorf("Addr = %#x", a)
	}
	// Half-mapped by ld.so: only the reservation (r--, whole span).
	if ims := LoadImages(modern, []Mapping{m(base, base+0x5000, 0, PermRead)}); len(ims) != 0 {
		t.Errorf("a reservation without text is reported: %+v", ims)
	}
	// Two copies (dlmopen): two images.
	two := append(append([]Mapping(nil), maps...), m(base+0x100000, base+0x101000, 0, PermRead), m(base+0x101000, base+0x102000, 0x1000, PermRead|PermExec))
	if ims := LoadImages(modern, two); len(ims) != 2 || ims[1].Bias != base+0x100000 {
		t.Errorf("two copies: %+v", ims)
	}

	// The old layout: r-x from offset 0, data sharing a file page with
	// the end of text.
	old := &Object{Path: "old", Type: elf.ET_DYN, Loads: []Segment{
		{Vaddr: 0, Off: 0, Filesz: 0x7c40, Memsz: 0x7c40, Flags: elf.PF_R | elf.PF_X},
		{Vaddr: 0x207e10, Off: 0x7e10, Filesz: 0x300, Memsz: 0x400, Flags: elf.PF_R | elf.PF_W},
	}}
	for _, mp := range []Mapping{
		m(base, base+0x8000, 0, PermRead|PermExec),
		m(base+0x207000, base+0x208000, 0x7000, PermRead),           // RELRO of the data segment
		m(base+0x208000, base+0x209000, 0x8000, PermRead|PermWrite), // rest of data
	} {
		b, err := MappingBias(old, mp)
		if err != nil || b != base {
			t.Errorf("old layout MappingBias(%v) = %#x, %v; want %#x", mp, b, err, uint64(base))
		}
	}

	// ET_EXEC: bias 0, and a mapping elsewhere is not a load.
	exec := &Object{Path: "exec", Type: elf.ET_EXEC, Loads: []Segment{
		{Vaddr: 0x400000, Off: 0, Filesz: 0x1000, Memsz: 0x1000, Flags: elf.PF_R | elf.PF_X},
	}}
	if b, err := MappingBias(exec, m(0x400000, 0x401000, 0, PermRead|PermExec)); err != nil || b != 0 {
		t.Errorf("ET_EXEC bias = %#x, %v", b, err)
	}
	if _, err := MappingBias(exec, m(0x7f0000000000, 0x7f0000001000, 0, PermRead)); err == nil {
		t.Error("ET_EXEC mapped elsewhere: no error")
	}
	// Offsets outside every segment, and unaligned biases.
	if _, err := MappingBias(modern, m(base, base+0x1000, 0x9000, PermRead)); err == nil {
		t.Error("offset past the file's segments: no error")
	}
	if _, err := MappingBias(modern, m(base+0x10, base+0x1000, 0, PermRead)); err == nil {
		t.Error("unaligned bias: no error")
	}
}
