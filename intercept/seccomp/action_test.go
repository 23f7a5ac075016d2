package seccomp

import (
	"bytes"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestActionValues(t *testing.T) {
	tests := []struct {
		a    Action
		want uint32
		str  string
	}{
		{Allow, unix.SECCOMP_RET_ALLOW, "allow"},
		{KillProcess, unix.SECCOMP_RET_KILL_PROCESS, "kill-process"},
		{KillThread, unix.SECCOMP_RET_KILL_THREAD, "kill-thread"},
		{UserNotif, 0x7fc00000, "user-notif"},
		{Log, unix.SECCOMP_RET_LOG, "log"},
		{Trace(0), unix.SECCOMP_RET_TRACE, "trace(0)"},
		{Trace(7), unix.SECCOMP_RET_TRACE | 7, "trace(7)"},
		{Trace(0xffff), unix.SECCOMP_RET_TRACE | 0xffff, "trace(65535)"},
		{Errno(unix.EPERM), unix.SECCOMP_RET_ERRNO | 1, "errno(EPERM)"},
		{Errno(unix.ENOSYS), unix.SECCOMP_RET_ERRNO | 38, "errno(ENOSYS)"},
		{Errno(4000), unix.SECCOMP_RET_ERRNO | 4000, "errno(4000)"},
		{Errno(5000), unix.SECCOMP_RET_ERRNO | 4095, "errno(4095)"}, // capped like the kernel
		{Errno(0x10001), unix.SECCOMP_RET_ERRNO | 4095, "errno(4095)"},
		{Trap(3), 0x00030003, "trap(3)"},
		{Allow | 5, unix.SECCOMP_RET_ALLOW | 5, "allow(data 5)"},
		{0x12340000, 0x12340000, "unknown(0x12340000)"},
	}
	for _, tc := range tests {
		if uint32(tc.a) != tc.want {
			t.Errorf("%v = %#x, want %#x", tc.a, uint32(tc.a), tc.want)
		}
		if s := tc.a.String(); s != tc.str {
			t.Errorf("%#x.String() = %q, want %q", uint32(tc.a), s, tc.str)
		}
	}
	if Trace(9).Kind() != Trace(0) || Trace(9).Data() != 9 || Errno(unix.EPERM).Kind() != Errno(0) {
		t.Error("Kind/Data")
	}
	var zero Action
	if zero != KillThread {
		t.Error("the zero Action is not KillThread")
	}
	for _, a := range []Action{Allow, KillProcess, KillThread, UserNotif, Log, Trace(1), Errno(1), Trap(1)} {
		if !a.Valid() {
			t.Errorf("%v not valid", a)
		}
	}
	for _, a := range []Action{0x00010000, 0x12340000, 0x7ff10000, 0xffff0000} {
		if a.Valid() {
			t.Errorf("%#x valid", uint32(a))
		}
	}
}

func TestSeccompDataBytes(t *testing.T) {
	d := SeccompData{
		Nr:                 -1,
		Arch:               AuditArchI386,
		InstructionPointer: 0x1122334455667788,
		Args:               [6]uint64{1, 2, 3, 4, 5, 0xffffffff00000000},
	}
	b := d.Bytes()
	if len(b) != 64 || unsafe.Sizeof(d) != 64 {
		t.Fatalf("len %d, sizeof %d", len(b), unsafe.Sizeof(d))
	}
	// The bytes are the memory image of the struct, which has the kernel's
	// layout (int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]).
	img := unsafe.Slice((*byte)(unsafe.Pointer(&d)), unsafe.Sizeof(d))
	if !bytes.Equal(b, img) {
		t.Fatalf("Bytes = % x\nimage = % x", b, img)
	}
	if unsafe.Offsetof(d.Arch) != OffsetArch || unsafe.Offsetof(d.InstructionPointer) != OffsetInstructionPointer || unsafe.Offsetof(d.Args) != OffsetArgs {
		t.Fatal("field offsets")
	}
	if b[0] != 0xff || b[4] != 0x03 || b[7] != 0x40 || b[8] != 0x88 || b[16] != 1 || b[63] != 0xff {
		t.Fatalf("little-endian layout: % x", b)
	}
}
