package testenv

import (
	"os/exec"
	"testing"
)

// CPUHogs starts n processes that spin on a CPU (sh -c 'while :; do :;
// done', unpinned) for the rest of the test, to check that a result does
// not depend on the machine's load. They are killed and reaped when the
// test ends.
func CPUHogs(t testing.TB, n int) {
	t.Helper()
	for range n {
		cmd := exec.Command("/bin/sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start a CPU hog: %v", err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
}
