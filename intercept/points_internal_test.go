package intercept

import (
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
