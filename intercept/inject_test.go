package intercept

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// TestInjectAtStop runs injected calls in a process stopped at its
// post-exec stop, through the vDSO's syscall instruction and through one
// patched at the entry point: each call's effect is visible, a failing
// call is an error, and registers and text are as before afterwards.
func TestInjectAtStop(t *testing.T) {
	testenv.RequirePtrace(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread() // nothing of the thread's own state changes
	pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{
		Sys: &syscall.SysProcAttr{Ptrace: true, Pdeathsig: syscall.SIGKILL}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		wait4(pid, &ws, 0)
	}()
	var ws unix.WaitStatus
	if _, err := wait4(pid, &ws, 0); err != nil || !ws.Stopped() {
		t.Fatalf("exec stop: %v, status %#x", err, ws)
	}
	mem := newMemory(pid)
	defer mem.Close()
	var saved unix.PtraceRegs
	if err := ptraceGetRegs(pid, &saved); err != nil {
		t.Fatal(err)
	}
	vdso, err := editAuxv(mem, saved.Rsp, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	gadget := syscallGadget(mem, vdso)
	if vdso != 0 && gadget == 0 {
		t.Errorf("no syscall instruction in the vDSO at %#x", vdso)
	}
	text := make([]byte, 16)
	if _, err := mem.ReadAt(text, int64(saved.Rip)); err != nil {
		t.Fatal(err)
	}
	name := saved.Rsp - 4096 // scratch space below the red zone
	for i, g := range []uint64{gadget, 0} {
		want := "injected" + strconv.Itoa(i)
		if _, err := mem.WriteAt(append([]byte(want), 0), int64(name)); err != nil {
			t.Fatal(err)
		}
		// prctl(PR_SET_NAME): its effect shows in /proc/PID/comm.
		calls := []injection{{nr: unix.SYS_GETPID}, {nr: unix.SYS_PRCTL, args: [6]uint64{unix.PR_SET_NAME, name}}}
		if err := injectAtStop(pid, mem, &saved, calls, g); err != nil {
			t.Fatalf("gadget %#x: %v", g, err)
		}
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); strings.TrimSpace(string(b)) != want {
			t.Errorf("gadget %#x: comm %q, want %q", g, b, want)
		}
		err := injectAtStop(pid, mem, &saved, []injection{{nr: unix.SYS_CLOSE, args: [6]uint64{^uint64(0)}}}, g)
		if !errors.Is(err, unix.EBADF) {
			t.Errorf("gadget %#x: injected close(-1): %v, want EBADF", g, err)
		}
		var regs unix.PtraceRegs
		if err := ptraceGetRegs(pid, &regs); err != nil || regs != saved {
			t.Errorf("gadget %#x: registers not restored (%v)", g, err)
		}
		now := make([]byte, len(text))
		if _, err := mem.ReadAt(now, int64(saved.Rip)); err != nil || !bytes.Equal(now, text) {
			t.Errorf("gadget %#x: text at the entry point changed: % x, was % x", g, now, text)
		}
	}
}
