package sched

import (
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadSigStatus: the masks of a process that blocks, ignores and has
// pending signals are read from /proc.
func TestReadSigStatus(t *testing.T) {
	// The shell blocks nothing; `trap "" USR2` ignores SIGUSR2, and a
	// SIGUSR1 sent to the stopped shell stays pending.
	cmd := exec.Command("sh", "-c", `trap "" USR2; trap "echo" USR1; kill -STOP $$; :`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	var st sigStatus
	for i := 0; ; i++ {
		var ok bool
		st, ok = readSigStatus(pid)
		if !ok {
			t.Fatalf("cannot read /proc/%d/status", pid)
		}
		if st.ign&sigBit(unix.SIGUSR2) != 0 && st.cgt&sigBit(unix.SIGUSR1) != 0 {
			break
		}
		if i > 1000 {
			t.Fatalf("the shell did not set its traps: %+v", st)
		}
		exec.Command("sleep", "0.01").Run()
	}
	unix.Kill(pid, unix.SIGUSR1)
	for i := 0; ; i++ {
		st, _ = readSigStatus(pid)
		if st.shd&sigBit(unix.SIGUSR1) != 0 {
			break
		}
		if i > 1000 {
			t.Fatalf("SIGUSR1 not seen pending: %+v", st)
		}
		exec.Command("sleep", "0.01").Run()
	}
}

// BenchmarkReadSigStatus is the cost of one signal check of a thread.
func BenchmarkReadSigStatus(b *testing.B) {
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	for b.Loop() {
		if _, ok := readSigStatus(cmd.Process.Pid); !ok {
			b.Fatal("no status")
		}
	}
}
