package explore

import (
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultOutputLimit is how much of each output stream a run keeps: the
// last 64 KiB.
const DefaultOutputLimit = 64 << 10

// trimEvery is how often a capture discards what lies before its tail
// while the guest runs; trimFast how often while the guest writes more
// than a MiB between two ticks. Memory held for one stream is at most the
// limit plus what the guest writes in one tick.
const (
	trimEvery = 10 * time.Millisecond
	trimFast  = time.Millisecond
)

// capture collects a guest output stream in a memfd: a regular file to
// the guest (writes never block, never fail short, seek as a file does),
// with no pipe, no reader goroutine and no cross-thread wake-up per write.
// A guest may write without bound: a timer, while the run lasts, punches
// out (fallocate PUNCH_HOLE, which frees the memory) everything before the
// last limit bytes, so only the tail is kept. Its first tick comes after
// trimEvery, so most runs never see one.
type capture struct {
	w     *os.File
	limit int64

	mu      sync.Mutex // guards the fields below against the timer
	timer   *time.Timer
	closed  bool
	punched int64 // bytes before this offset are gone
}

func newCapture(limit int) (*capture, error) {
	fd, err := unix.MemfdCreate("schedfuzz-output", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("capture guest output: %w", err)
	}
	c := &capture{w: os.NewFile(uintptr(fd), "guest-output"), limit: int64(limit)}
	c.mu.Lock() // the first tick may come before c.timer is set
	c.timer = time.AfterFunc(trimEvery, c.trim)
	c.mu.Unlock()
	return c, nil
}

// trim discards what lies before the tail, in whole pages, and rearms.
func (c *capture) trim() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	next := trimEvery
	if fi, err := c.w.Stat(); err == nil {
		end := (fi.Size() - c.limit) &^ 4095
		if end > c.punched {
			if end-c.punched > 1<<20 {
				next = trimFast
			}
			err := unix.Fallocate(int(c.w.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, c.punched, end-c.punched)
			if err == nil {
				c.punched = end
			}
		}
	}
	c.timer.Reset(next)
}

// close returns the last limit bytes the guest wrote and how many came
// before them, and closes the memfd. It allocates only what is kept:
// most runs write little, and two 64 KiB buffers per run are a measurable
// part of a short run.
func (c *capture) close() ([]byte, int64) {
	c.mu.Lock()
	c.closed = true
	c.timer.Stop()
	c.mu.Unlock()
	defer c.w.Close()
	fi, err := c.w.Stat()
	if err != nil || fi.Size() <= 0 {
		return nil, 0
	}
	start := max(0, fi.Size()-c.limit)
	buf := make([]byte, fi.Size()-start)
	n, _ := c.w.ReadAt(buf, start)
	return buf[:n], start
}
