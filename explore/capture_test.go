package explore

import (
	"bytes"
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// TestCaptureKeepsTail: a stream written far past the limit keeps only
// its tail, in memory as on return: the memfd's allocated blocks stay
// near the limit while the writer runs.
func TestCaptureKeepsTail(t *testing.T) {
	c, err := newCapture(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	const chunks = 256
	maxHeld := int64(0)
	for i := 0; i < chunks; i++ {
		if i == chunks-1 {
			chunk = append(bytes.Repeat([]byte("y"), len(chunk)-4), "end\n"...)
		}
		if _, err := c.w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		// Every 8 MiB, wait for the trimmer's tick (a guest under
		// the scheduler stops at every write anyway): afterwards at
		// most the tail is held, never what was written before.
		if i%8 == 7 {
			held := int64(0)
			for wait := 0; wait < 1000; wait++ {
				var st syscall.Stat_t
				if err := syscall.Fstat(int(c.w.Fd()), &st); err != nil {
					t.Fatal(err)
				}
				if held = st.Blocks * 512; held <= 1<<20 {
					break
				}
				time.Sleep(trimEvery)
			}
			maxHeld = max(maxHeld, held)
		}
	}
	out, dropped := c.close()
	if len(out) != 64<<10 || !bytes.HasSuffix(out, []byte("yyyyend\n")) {
		t.Fatalf("kept %d bytes ending %q, want the last 64 KiB", len(out), out[max(0, len(out)-8):])
	}
	if want := int64(chunks<<20 - 64<<10); dropped != want {
		t.Errorf("dropped %d, want %d", dropped, want)
	}
	if maxHeld > 1<<20 {
		t.Errorf("held %d bytes after a trim, want the 64 KiB tail (and the page it starts in)", maxHeld)
	}
}

// TestRunOutputTail: a guest that writes 300 MiB to stdout under the
// scheduler: the run keeps the last 64 KiB and says how much came before.
func TestRunOutputTail(t *testing.T) {
	testenv.RequirePtrace(t)
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	script := `head -c 314572800 /dev/zero; echo the-end`
	tgt := &Target{Path: sh, Args: []string{"sh", "-c", script}}
	r, err := Run(context.Background(), tgt, Config{Seed: 1, Timeout: 5 * time.Minute, CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() {
		t.Fatalf("run failed: %s\n%s", r.Describe(), r.Outcome.Report)
	}
	if len(r.Stdout) != DefaultOutputLimit || !bytes.HasSuffix(r.Stdout, []byte("\x00the-end\n")) {
		t.Errorf("kept %d bytes, ending %q", len(r.Stdout), r.Stdout[max(0, len(r.Stdout)-12):])
	}
	if want := int64(314572800 + 8 - DefaultOutputLimit); r.StdoutDropped != want {
		t.Errorf("dropped %d, want %d", r.StdoutDropped, want)
	}
}
