package intercept

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDecodeInsn(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want insn
	}{
		{"endbr64", []byte{0xf3, 0x0f, 0x1e, 0xfa, 0x55}, insn{kind: insnNop, len: 4}},
		{"endbr32", []byte{0xf3, 0x0f, 0x1e, 0xfb}, insn{kind: insnNop, len: 4}},
		{"nop", []byte{0x90, 0x48}, insn{kind: insnNop, len: 1}},
		{"xchg ax,ax", []byte{0x66, 0x90}, insn{kind: insnNop, len: 2}},
		{"nopl (%rax)", []byte{0x0f, 0x1f, 0x00}, insn{kind: insnNop, len: 3}},
		{"nopl 0(%rax)", []byte{0x0f, 0x1f, 0x40, 0x00}, insn{kind: insnNop, len: 4}},
		{"nopl 0(%rax,%rax)", []byte{0x0f, 0x1f, 0x44, 0x00, 0x00}, insn{kind: insnNop, len: 5}},
		{"nopw 0(%rax,%rax)", []byte{0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00}, insn{kind: insnNop, len: 6}},
		{"nopl 0L(%rax)", []byte{0x0f, 0x1f, 0x80, 0, 0, 0, 0}, insn{kind: insnNop, len: 7}},
		{"nopl 0L(%rax,%rax)", []byte{0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0}, insn{kind: insnNop, len: 8}},
		{"truncated nopl", []byte{0x0f, 0x1f, 0x84, 0}, insn{kind: insnStep}},
		{"push %rbp", []byte{0x55}, insn{kind: insnPush, len: 1, src: 5}},
		{"push %rax", []byte{0x50}, insn{kind: insnPush, len: 1, src: 0}},
		{"push %r15", []byte{0x41, 0x57}, insn{kind: insnPush, len: 2, src: 15}},
		{"push %r8", []byte{0x41, 0x50}, insn{kind: insnPush, len: 2, src: 8}},
		{"mov %rsp,%rbp", []byte{0x48, 0x89, 0xe5}, insn{kind: insnMov, len: 3, dst: 5, src: 4, wide: true}},
		{"mov %rdi,%r12", []byte{0x49, 0x89, 0xfc}, insn{kind: insnMov, len: 3, dst: 12, src: 7, wide: true}},
		{"mov %edi,%edx", []byte{0x89, 0xfa}, insn{kind: insnMov, len: 2, dst: 2, src: 7}},
		{"mov %r10,%rcx (8b)", []byte{0x49, 0x8b, 0xca}, insn{kind: insnMov, len: 3, dst: 1, src: 10, wide: true}},
		{"mov (%rdi),%eax", []byte{0x8b, 0x07}, insn{kind: insnStep}},
		{"mov %ax,%dx", []byte{0x66, 0x89, 0xc2}, insn{kind: insnStep}},
		{"sub $8,%rsp", []byte{0x48, 0x83, 0xec, 0x08}, insn{kind: insnStep}},
		{"syscall", []byte{0x0f, 0x05}, insn{kind: insnSyscall, len: 2}},
		{"int $0x80", []byte{0xcd, 0x80}, insn{kind: insnSyscall, len: 2}},
		{"lea 1(%rdi,%rdi,2),%eax", []byte{0x8d, 0x44, 0x7f, 0x01}, insn{kind: insnLea, len: 4, dst: 0,
			mem: memOperand{base: 7, index: 7, scale: 2, disp: 1}}},
		{"lea -7(%rip),%rcx", []byte{0x48, 0x8d, 0x0d, 0xf9, 0xff, 0xff, 0xff}, insn{kind: insnLea, len: 7, dst: 1, wide: true,
			mem: memOperand{base: -1, index: -1, scale: 1, ripRel: true, disp: -7}}},
		{"lea 0x10(%r12,%r13,8),%r9", []byte{0x4f, 0x8d, 0x4c, 0xec, 0x10}, insn{kind: insnLea, len: 5, dst: 9, wide: true,
			mem: memOperand{base: 12, index: 13, scale: 8, disp: 0x10}}},
		{"lea 0x0(,%rax,4),%edx", []byte{0x8d, 0x14, 0x85, 0, 0, 0, 0}, insn{kind: insnLea, len: 7, dst: 2,
			mem: memOperand{base: -1, index: 0, scale: 4}}},
		{"lea 0x8(%rsp),%rsi", []byte{0x48, 0x8d, 0x74, 0x24, 0x08}, insn{kind: insnLea, len: 5, dst: 6, wide: true,
			mem: memOperand{base: 4, index: -1, scale: 1, disp: 8}}},
		{"lea 0x0(%r13),%rax", []byte{0x49, 0x8d, 0x45, 0x00}, insn{kind: insnLea, len: 4, dst: 0, wide: true,
			mem: memOperand{base: 13, index: -1, scale: 1}}},
		{"lea (%r12,%r12),%rax", []byte{0x4b, 0x8d, 0x04, 0x24}, insn{kind: insnLea, len: 4, dst: 0, wide: true,
			mem: memOperand{base: 12, index: 12, scale: 1}}},
		{"lea with a 0x67 prefix", []byte{0x67, 0x8d, 0x04, 0x24}, insn{kind: insnStep}},
		{"truncated lea", []byte{0x48, 0x8d, 0x0d, 0xf9}, insn{kind: insnStep}},
		{"imul", []byte{0x6b, 0xc7, 0x03}, insn{kind: insnStep}},
		{"empty", nil, insn{kind: insnStep}},
	} {
		if got := decodeInsn(c.b); got != c.want {
			t.Errorf("%s % x: got %+v, want %+v", c.name, c.b, got, c.want)
		}
	}
}

func TestEmulate(t *testing.T) {
	regs := unix.PtraceRegs{Rip: 0x1000, Rsp: 0x8000, Rbp: 0xbbbb, Rdi: 0xffffffff_12345678, R12: 1}
	slot, val, push := decodeInsn([]byte{0x55}).emulate(&regs)
	if !push || slot != 0x7ff8 || val != 0xbbbb || regs.Rsp != 0x7ff8 || regs.Rip != 0x1001 {
		t.Errorf("push %%rbp: slot %#x val %#x push %v, regs rsp %#x rip %#x", slot, val, push, regs.Rsp, regs.Rip)
	}
	slot, val, push = decodeInsn([]byte{0x54}).emulate(&regs) // push %rsp: the old value
	if !push || val != 0x7ff8 || slot != 0x7ff0 {
		t.Errorf("push %%rsp: slot %#x val %#x", slot, val)
	}
	decodeInsn([]byte{0x49, 0x89, 0xfc}).emulate(&regs)
	if regs.R12 != 0xffffffff_12345678 || regs.Rip != 0x1002+3 {
		t.Errorf("mov %%rdi,%%r12: r12 %#x rip %#x", regs.R12, regs.Rip)
	}
	decodeInsn([]byte{0x89, 0xfa}).emulate(&regs) // mov %edi,%edx zero-extends
	if regs.Rdx != 0x12345678 {
		t.Errorf("mov %%edi,%%edx: rdx %#x", regs.Rdx)
	}
	rip := regs.Rip
	decodeInsn([]byte{0xf3, 0x0f, 0x1e, 0xfa}).emulate(&regs)
	if regs.Rip != rip+4 {
		t.Errorf("endbr64: rip %#x, want %#x", regs.Rip, rip+4)
	}
	regs.Rip, regs.Rdi = 0x12ed, 5
	decodeInsn([]byte{0x48, 0x8d, 0x0d, 0xf9, 0xff, 0xff, 0xff}).emulate(&regs) // lea -7(%rip),%rcx
	if regs.Rcx != 0x12ed || regs.Rip != 0x12f4 {
		t.Errorf("lea -7(%%rip),%%rcx: rcx %#x rip %#x", regs.Rcx, regs.Rip)
	}
	regs.Rax = 0xffff_ffff_ffff_ffff
	decodeInsn([]byte{0x8d, 0x44, 0x7f, 0x01}).emulate(&regs) // lea 1(%rdi,%rdi,2),%eax
	if regs.Rax != 16 {
		t.Errorf("lea 1(%%rdi,%%rdi,2),%%eax: rax %#x, want 16", regs.Rax)
	}
	regs.R12, regs.R13 = 0xffff_ffff_0000_0000, 3
	decodeInsn([]byte{0x4f, 0x8d, 0x4c, 0xec, 0x10}).emulate(&regs) // lea 0x10(%r12,%r13,8),%r9
	if regs.R9 != 0xffff_ffff_0000_0028 {
		t.Errorf("lea 0x10(%%r12,%%r13,8),%%r9: r9 %#x", regs.R9)
	}
}

func TestDR7(t *testing.T) {
	for _, c := range []struct {
		slot int
		w    Watchpoint
		want uint64
	}{
		{0, Watchpoint{Len: 4, Kind: WatchWrite}, 1 | 0b01<<16 | 0b11<<18},
		{1, Watchpoint{Len: 8, Kind: WatchReadWrite}, 1<<2 | 0b11<<20 | 0b10<<22},
		{2, Watchpoint{Len: 1, Kind: WatchExec}, 1 << 4},
		{3, Watchpoint{Len: 2, Kind: WatchWrite}, 1<<6 | 0b01<<28 | 0b01<<30},
	} {
		if got := dr7Bits(c.slot, c.w); got != c.want {
			t.Errorf("slot %d %+v: %#x, want %#x", c.slot, c.w, got, c.want)
		}
		if got := dr7Bits(c.slot, c.w) &^ dr7Slot(c.slot); got != 0 {
			t.Errorf("slot %d: bits %#x outside its mask", c.slot, got)
		}
	}
	if m := dr7Enabled(1<<2 | 1<<6); m != 0b1010 {
		t.Errorf("dr7Enabled: %#b", m)
	}
}

var (
	regs64 = []string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}
	regs32 = []string{"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"}
	memRE  = regexp.MustCompile(`^(-?0x[0-9a-f]+)?\((%[a-z0-9]+)?(?:,(%[a-z0-9]+),([1248]))?\)$`)
)

// TestDecodeAgainstObjdump decodes every instruction of libc's text and
// checks each one decodeInsn would emulate against objdump: the same
// length, mnemonic and operands (for rip-relative lea, the same target).
// Misdecoding one would make the tracer corrupt the guest.
func TestDecodeAgainstObjdump(t *testing.T) {
	const lib = "/lib/x86_64-linux-gnu/libc.so.6"
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		if os.Getenv("SCHEDFUZZ_SKIP_UNSUPPORTED") == "1" {
			t.Skipf("objdump (binutils): %v", err)
		}
		t.Fatalf("objdump (binutils): %v (set SCHEDFUZZ_SKIP_UNSUPPORTED=1 to skip)", err)
	}
	out, err := exec.Command(objdump, "-d", "-w", lib).Output()
	if err != nil {
		t.Fatalf("objdump -d %s: %v", lib, err)
	}
	seen := map[insnKind]int{}
	total := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 || !strings.HasSuffix(f[0], ":") {
			continue
		}
		addr, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(f[0], ":")), 16, 64)
		if err != nil {
			continue
		}
		var code []byte
		for _, h := range strings.Fields(f[1]) {
			b, err := strconv.ParseUint(h, 16, 8)
			if err != nil {
				t.Fatalf("bad byte %q in %q", h, line)
			}
			code = append(code, byte(b))
		}
		text := f[2]
		if i := strings.Index(text, "#"); i >= 0 {
			text = text[:i]
		}
		asm := strings.Fields(text)
		if len(asm) == 0 {
			continue
		}
		total++
		in := decodeInsn(code)
		seen[in.kind]++
		mn := asm[0]
		ops := ""
		if len(asm) > 1 {
			ops = strings.Join(asm[1:], " ")
		}
		fail := func(why string) { t.Errorf("%#x % x %q: decoded %+v: %s", addr, code, f[2], in, why) }
		if in.kind != insnStep && int(in.len) != len(code) {
			fail(fmt.Sprintf("length %d, objdump %d", in.len, len(code)))
			continue
		}
		switch in.kind {
		case insnNop:
			if mn != "endbr64" && mn != "endbr32" && !strings.HasPrefix(mn, "nop") && !(mn == "xchg" && ops == "%ax,%ax") {
				fail("not a nop")
			}
		case insnPush:
			if mn != "push" || ops != "%"+regs64[in.src] {
				fail("not that push")
			}
		case insnMov:
			names := regs32
			if in.wide {
				names = regs64
			}
			if mn != "mov" || ops != "%"+names[in.src]+",%"+names[in.dst] {
				fail("not that mov")
			}
		case insnSyscall:
			if mn != "syscall" && !(mn == "int" && ops == "$0x80") {
				fail("not a syscall")
			}
		case insnLea:
			names := regs32
			if in.wide {
				names = regs64
			}
			i := strings.LastIndex(ops, ",")
			if mn != "lea" || i < 0 || ops[i+1:] != "%"+names[in.dst] {
				fail("not a lea into that register")
				continue
			}
			src := ops[:i]
			if in.mem.ripRel {
				// objdump shows the target after '#'.
				want, err := strconv.ParseUint(strings.Fields(f[2][strings.Index(f[2], "#")+1:])[0], 16, 64)
				if err != nil || in.mem.addr(nil, addr+uint64(in.len)) != want {
					fail(fmt.Sprintf("rip-relative target %#x", in.mem.addr(nil, addr+uint64(in.len))))
				}
				continue
			}
			m := memRE.FindStringSubmatch(src)
			if m == nil {
				fail("unparsed operand " + src)
				continue
			}
			var disp int64
			if m[1] != "" {
				d, _ := strconv.ParseUint(strings.TrimPrefix(m[1], "-"), 0, 64)
				disp = int64(d)
				if strings.HasPrefix(m[1], "-") {
					disp = -disp
				}
			}
			reg := func(r int8) string {
				if r < 0 {
					return ""
				}
				return "%" + regs64[r]
			}
			scale := "1"
			if m[3] != "" {
				scale = m[4]
			}
			if int64(in.mem.disp) != disp || reg(in.mem.base) != m[2] || reg(in.mem.index) != m[3] || (m[3] != "" && strconv.Itoa(int(in.mem.scale)) != scale) {
				fail("operand " + src)
			}
		}
	}
	t.Logf("%d instructions: %d stepped, %d nop, %d push, %d mov, %d lea, %d syscall", total,
		seen[insnStep], seen[insnNop], seen[insnPush], seen[insnMov], seen[insnLea], seen[insnSyscall])
	if total < 10000 || seen[insnPush] == 0 || seen[insnLea] == 0 || seen[insnMov] == 0 || seen[insnNop] == 0 || seen[insnSyscall] == 0 {
		t.Errorf("too few instructions of some kind decoded: %v of %d", seen, total)
	}
}
