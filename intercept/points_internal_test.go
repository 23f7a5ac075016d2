package intercept

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/internal/testprog"
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
		{"mov (%rdi),%eax", []byte{0x8b, 0x07}, insn{kind: insnLoad, len: 2, dst: 0, mem: memOperand{base: 7, index: -1, scale: 1}}},
		{"mov %fs:0x10,%rax", []byte{0x64, 0x48, 0x8b, 0x04, 0x25, 0x10, 0, 0, 0}, insn{kind: insnStep}},
		{"mov $1,%esi", []byte{0xbe, 1, 0, 0, 0}, insn{kind: insnMovImm, len: 5, dst: 6, imm: 1}},
		{"mov $-1,%ecx (c7)", []byte{0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff}, insn{kind: insnMovImm, len: 6, dst: 1, imm: 0xffffffff}},
		{"mov $-1,%rcx (c7)", []byte{0x48, 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff}, insn{kind: insnMovImm, len: 7, dst: 1, wide: true, imm: -1}},
		{"movl $1,(%rdi)", []byte{0xc7, 0x07, 1, 0, 0, 0}, insn{kind: insnStep}},
		{"xor %eax,%eax", []byte{0x31, 0xc0}, insn{kind: insnALU, alu: aluXor, len: 2}},
		{"test %rdi,%rdi", []byte{0x48, 0x85, 0xff}, insn{kind: insnALU, alu: aluTest, len: 3, dst: 7, src: 7, wide: true}},
		{"cmp %rcx,%rdx (3b)", []byte{0x48, 0x3b, 0xd1}, insn{kind: insnALU, alu: aluCmp, len: 3, dst: 2, src: 1, wide: true}},
		{"add %eax,%eax", []byte{0x01, 0xc0}, insn{kind: insnALU, alu: aluAdd, len: 2}},
		{"and $-16,%rsp", []byte{0x48, 0x83, 0xe4, 0xf0}, insn{kind: insnALU, alu: aluAnd, len: 4, dst: 4, wide: true, useImm: true, imm: -16}},
		{"sub $0xd8,%rsp", []byte{0x48, 0x81, 0xec, 0xd8, 0, 0, 0}, insn{kind: insnALU, alu: aluSub, len: 7, dst: 4, wide: true, useImm: true, imm: 0xd8}},
		{"adc $1,%eax", []byte{0x83, 0xd0, 0x01}, insn{kind: insnStep}},
		{"add (%rdi),%eax", []byte{0x03, 0x07}, insn{kind: insnStep}},
		{"mov %ax,%dx", []byte{0x66, 0x89, 0xc2}, insn{kind: insnStep}},
		{"sub $8,%rsp", []byte{0x48, 0x83, 0xec, 0x08}, insn{kind: insnALU, alu: aluSub, len: 4, dst: 4, wide: true, useImm: true, imm: 8}},
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

// fakeMemory is a guest memory of 8-byte words for emulate.
type fakeMemory map[uint64]uint64

func (m fakeMemory) load(addr uint64, n int) (uint64, bool) {
	v, ok := m[addr]
	if n == 4 {
		v = uint64(uint32(v))
	}
	return v, ok
}

func (m fakeMemory) store(addr, v uint64) bool {
	if _, ok := m[addr]; !ok {
		return false
	}
	m[addr] = v
	return true
}

func TestEmulate(t *testing.T) {
	mem := fakeMemory{0x7ff8: 0, 0x7ff0: 0, 0x5010: 0x1122334455667788}
	regs := unix.PtraceRegs{Rip: 0x1000, Rsp: 0x8000, Rbp: 0xbbbb, Rdi: 0xffffffff_12345678, R12: 1}
	em := func(code ...byte) bool { return decodeInsn(code).emulate(&regs, mem) }
	if !em(0x55) || mem[0x7ff8] != 0xbbbb || regs.Rsp != 0x7ff8 || regs.Rip != 0x1001 {
		t.Errorf("push %%rbp: mem %#x, regs rsp %#x rip %#x", mem[0x7ff8], regs.Rsp, regs.Rip)
	}
	if !em(0x54) || mem[0x7ff0] != 0x7ff8 { // push %rsp pushes the old value
		t.Errorf("push %%rsp: pushed %#x", mem[0x7ff0])
	}
	if em(0x53) { // the slot at 0x7fe8 is not mapped: step instead
		t.Errorf("push to an unmapped slot was emulated")
	}
	regs.Rsp = 0x7ff0
	em(0x49, 0x89, 0xfc)
	if regs.R12 != 0xffffffff_12345678 || regs.Rip != 0x1002+3 {
		t.Errorf("mov %%rdi,%%r12: r12 %#x rip %#x", regs.R12, regs.Rip)
	}
	em(0x89, 0xfa) // mov %edi,%edx zero-extends
	if regs.Rdx != 0x12345678 {
		t.Errorf("mov %%edi,%%edx: rdx %#x", regs.Rdx)
	}
	rip := regs.Rip
	em(0xf3, 0x0f, 0x1e, 0xfa)
	if regs.Rip != rip+4 {
		t.Errorf("endbr64: rip %#x, want %#x", regs.Rip, rip+4)
	}
	regs.Rip, regs.Rdi = 0x12ed, 5
	em(0x48, 0x8d, 0x0d, 0xf9, 0xff, 0xff, 0xff) // lea -7(%rip),%rcx
	if regs.Rcx != 0x12ed || regs.Rip != 0x12f4 {
		t.Errorf("lea -7(%%rip),%%rcx: rcx %#x rip %#x", regs.Rcx, regs.Rip)
	}
	regs.Rax = 0xffff_ffff_ffff_ffff
	em(0x8d, 0x44, 0x7f, 0x01) // lea 1(%rdi,%rdi,2),%eax
	if regs.Rax != 16 {
		t.Errorf("lea 1(%%rdi,%%rdi,2),%%eax: rax %#x, want 16", regs.Rax)
	}
	regs.R12, regs.R13 = 0xffff_ffff_0000_0000, 3
	em(0x4f, 0x8d, 0x4c, 0xec, 0x10) // lea 0x10(%r12,%r13,8),%r9
	if regs.R9 != 0xffff_ffff_0000_0028 {
		t.Errorf("lea 0x10(%%r12,%%r13,8),%%r9: r9 %#x", regs.R9)
	}
	regs.Rdi = 0x5000
	if !em(0x48, 0x8b, 0x47, 0x10) || regs.Rax != 0x1122334455667788 { // mov 0x10(%rdi),%rax
		t.Errorf("mov 0x10(%%rdi),%%rax: rax %#x", regs.Rax)
	}
	if !em(0x8b, 0x47, 0x10) || regs.Rax != 0x55667788 { // mov 0x10(%rdi),%eax
		t.Errorf("mov 0x10(%%rdi),%%eax: rax %#x", regs.Rax)
	}
	if em(0x8b, 0x47, 0x20) {
		t.Errorf("load from unmapped memory was emulated")
	}
	em(0xbe, 0x01, 0, 0, 0)                      // mov $1,%esi
	em(0x48, 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff) // mov $-1,%rcx
	em(0x49, 0xba, 8, 7, 6, 5, 4, 3, 2, 1)       // movabs $0x0102030405060708,%r10
	if regs.Rsi != 1 || regs.Rcx != ^uint64(0) || regs.R10 != 0x0102030405060708 {
		t.Errorf("mov $imm: rsi %#x rcx %#x r10 %#x", regs.Rsi, regs.Rcx, regs.R10)
	}
	regs.Eflags = 0x202
	em(0x48, 0x83, 0xec, 0x08)                                    // sub $8,%rsp
	if regs.Rsp != 0x7fe8 || regs.Eflags != 0x202|flagPF|flagAF { // the low nibble borrows
		t.Errorf("sub $8,%%rsp: rsp %#x flags %#x", regs.Rsp, regs.Eflags)
	}
	regs.Rax = 7
	em(0x31, 0xc0) // xor %eax,%eax
	if regs.Rax != 0 || regs.Eflags != 0x202|flagZF|flagPF {
		t.Errorf("xor %%eax,%%eax: rax %#x flags %#x", regs.Rax, regs.Eflags)
	}
	regs.Rdi = 0
	em(0x48, 0x85, 0xff) // test %rdi,%rdi
	if regs.Eflags != 0x202|flagZF|flagPF {
		t.Errorf("test %%rdi,%%rdi: flags %#x", regs.Eflags)
	}
}

// TestALU checks the flags of alu on edge cases worked out by hand.
func TestALU(t *testing.T) {
	const cf, pf, af, zf, sf, of = flagCF, flagPF, flagAF, flagZF, flagSF, flagOF
	for _, c := range []struct {
		op    aluOp
		a, b  uint64
		wide  bool
		r, fl uint64
	}{
		{aluAdd, 0x7fffffff, 1, false, 0x80000000, sf | of | af | pf},
		{aluAdd, 0xffffffff, 1, false, 0, cf | zf | af | pf},
		{aluAdd, 0xffffffff, 1, true, 0x100000000, af | pf},
		{aluSub, 0, 1, false, 0xffffffff, cf | sf | af | pf},
		{aluSub, 0x80000000, 1, false, 0x7fffffff, of | af | pf},
		{aluSub, 5, 5, true, 0, zf | pf},
		{aluCmp, 1 << 63, 1, true, (1 << 63) - 1, of | af | pf},
		{aluAnd, 0xf0, 0x0f, true, 0, zf | pf},
		{aluOr, 0x80, 0x01, false, 0x81, pf},
		{aluXor, 1 << 31, 0, false, 1 << 31, sf | pf},
		{aluTest, 3, 1, true, 1, 0},
	} {
		r, fl := alu(c.op, c.a, c.b, c.wide)
		if r != c.r || fl != c.fl {
			t.Errorf("alu(%d, %#x, %#x, wide %v) = %#x flags %#x, want %#x flags %#x", c.op, c.a, c.b, c.wide, r, fl, c.r, c.fl)
		}
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
	memRE  = regexp.MustCompile(`^(-?0x[0-9a-f]+)?(?:\((%[a-z0-9]+)?(?:,(%[a-z0-9]+),([1248]))?\))?$`)
)

// TestDecodeAgainstObjdump decodes every instruction of libc's text and
// checks each one decodeInsn would emulate against objdump: the same
// length, mnemonic and operands (for rip-relative lea, the same target).
// Misdecoding one would make the tracer corrupt the guest.
func TestDecodeAgainstObjdump(t *testing.T) {
	var lib string
	for _, c := range []string{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib64/libc.so.6", "/lib64/libc.so.6"} {
		if _, err := os.Stat(c); err == nil {
			lib = c
			break
		}
	}
	if lib == "" {
		t.Fatal("no libc.so.6 found to disassemble")
	}
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
	entry := false // the next instruction starts a function
	entries, emulatedEntries := 0, 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasSuffix(line, ">:") {
			entry = !strings.HasSuffix(line, "@plt>:")
			continue
		}
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
		if entry {
			entries++
			if in.kind != insnStep && in.kind != insnSyscall {
				emulatedEntries++
			}
		}
		entry = false
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
		case insnMovImm:
			names := regs32
			if in.wide {
				names = regs64
			}
			want := fmt.Sprintf("$0x%x,%%%s", uint64(in.imm), names[in.dst])
			if !in.wide {
				want = fmt.Sprintf("$0x%x,%%%s", uint32(in.imm), names[in.dst])
			}
			if (mn != "mov" && mn != "movabs") || ops != want {
				fail("not that mov $imm: " + want)
			}
		case insnALU:
			names := regs32
			if in.wide {
				names = regs64
			}
			want := "%" + names[in.src] + ",%" + names[in.dst]
			if in.useImm {
				want = fmt.Sprintf("$0x%x,%%%s", uint64(in.imm), names[in.dst])
				if !in.wide {
					want = fmt.Sprintf("$0x%x,%%%s", uint32(in.imm), names[in.dst])
				}
			}
			mns := map[aluOp]string{aluAdd: "add", aluOr: "or", aluAnd: "and", aluSub: "sub", aluXor: "xor", aluCmp: "cmp", aluTest: "test"}
			if mn != mns[in.alu] || ops != want {
				fail("not that " + mns[in.alu] + " " + want)
			}
		case insnLea, insnLoad:
			names := regs32
			if in.wide {
				names = regs64
			}
			wantMn := "lea"
			if in.kind == insnLoad {
				wantMn = "mov"
			}
			i := strings.LastIndex(ops, ",")
			if mn != wantMn || i < 0 || ops[i+1:] != "%"+names[in.dst] {
				fail("not a " + wantMn + " into that register")
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
	t.Logf("%d instructions: %d stepped, %d nop, %d push, %d mov, %d lea, %d mov $imm, %d load, %d alu, %d syscall", total,
		seen[insnStep], seen[insnNop], seen[insnPush], seen[insnMov], seen[insnLea], seen[insnMovImm], seen[insnLoad], seen[insnALU], seen[insnSyscall])
	t.Logf("function entries (objdump symbols): %d, emulated %d (%.0f%%)", entries, emulatedEntries,
		100*float64(emulatedEntries)/float64(max(entries, 1)))
	if total < 10000 || seen[insnPush] == 0 || seen[insnLea] == 0 || seen[insnMov] == 0 || seen[insnNop] == 0 || seen[insnSyscall] == 0 ||
		seen[insnMovImm] == 0 || seen[insnLoad] == 0 || seen[insnALU] == 0 {
		t.Errorf("too few instructions of some kind decoded: %v of %d", seen, total)
	}
}

// drProbe records the debug registers of every new thread at
// ThreadStart, before the tracer writes the process's watchpoints into it.
type drProbe struct {
	NopTool
	t     *testing.T
	addr  uint64
	seen  []string
	wrong []string
}

func (d *drProbe) ProcessStart(p *Process, parent *Process) {
	if parent == nil {
		if _, err := p.SetWatchpoint(d.addr, 1, WatchExec); err != nil {
			d.t.Error(err)
		}
	}
}

func (d *drProbe) ThreadStart(t, parent *Thread) {
	if parent == nil {
		return
	}
	kind := "thread"
	if t.Proc != parent.Proc {
		kind = "process"
	}
	p0, err1 := ptracePeekUser(parent.Tid, offDR(0))
	c0, err2 := ptracePeekUser(t.Tid, offDR(0))
	p7, err3 := ptracePeekUser(parent.Tid, offDR7)
	c7, err4 := ptracePeekUser(t.Tid, offDR7)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		d.t.Errorf("peek debug registers: %v", err)
	}
	line := fmt.Sprintf("new %s: creator DR0 %#x DR7 %#x, new DR0 %#x DR7 %#x", kind, p0, p7, c0, c7)
	d.seen = append(d.seen, line)
	if p0 != d.addr || p7&1 == 0 || c0 != 0 {
		d.wrong = append(d.wrong, line)
	}
}

// TestDebugRegsNotInherited checks the kernel behaviour the clone path
// relies on: a new thread, and a fork or vfork child, starts without its
// creator's hardware breakpoints (copy_thread zeroes ptrace_bps: DR0 reads
// 0). Its DR7 reads back the creator's value (ptrace_dr7 is copied with
// the task), although nothing is enabled: the tracer never trusts it and
// writes DR0-DR3 before DR7 into each new thread (syncDebugRegs).
func TestDebugRegsNotInherited(t *testing.T) {
	testenv.RequirePtrace(t)
	path := testprog.Build(t, "points")
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	syms, _ := f.Symbols()
	f.Close()
	var off uint64
	for _, s := range syms {
		if s.Name == "bp_step" {
			off = s.Value
		}
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, mode := range []string{"threads", "fork"} {
		// The PIE is loaded at 0x555555554000 with ASLR off.
		d := &drProbe{t: t, addr: 0x555555554000 + off}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res, err := Run(ctx, &Command{Path: path, Args: []string{path, mode, "3"}, Stdout: null}, d, Options{DisableASLR: true})
		cancel()
		if err != nil || res.ExitCode() != 0 {
			t.Fatalf("%s: %v, exit %d", mode, err, res.ExitCode())
		}
		t.Logf("%s:\n%s", mode, strings.Join(d.seen, "\n"))
		if len(d.seen) < 2 || len(d.wrong) > 0 {
			t.Errorf("%s: %d new threads, unexpected: %v", mode, len(d.seen), d.wrong)
		}
	}
}
