// Command check_then_act: two goroutines (GOMAXPROCS(4)) each get sessions
// alpha, beta, gamma from a registry, creating a missing one outside the
// lock (creating is slow): RLock; lookup; RUnlock; create; Lock; insert.
// Bug: check-then-act: the insert does not re-check under the write lock,
// so both goroutines may create a session. Every map access holds the lock
// (no concurrent map writes: the runtime never crashes).
// Window: the creation's getpid(2) and log write(2) (to /dev/null) between
// RUnlock and Lock. Goroutine b first does a CPU-only job (~5 ms natively),
// so natively a has created every session before b looks; a scheduler that
// switches threads at those syscalls lets both miss.
// Failure: "check-then-act: 4 sessions created, want 3" on stderr, exit 1.
// Correct output (stdout): "sessions created: 3\n".
// The log is opened with syscall.Open, not os.OpenFile, to keep the network
// poller off: with it, idle threads park in epoll_pwait and the goroutines
// nearly always share one thread under a serializing scheduler (the bug
// then shows in ~1% of scheduled runs instead of ~10%).
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
)

var (
	names    = []string{"alpha", "beta", "gamma"}
	mu       sync.RWMutex
	sessions = map[string]int{} // name -> owner pid
	created  int
	logf     *os.File
)

func getSession(name string) int {
	mu.RLock()
	s, ok := sessions[name]
	mu.RUnlock()
	if ok {
		return s
	}
	s = os.Getpid() // create the session
	logf.WriteString("created session " + name + "\n")
	mu.Lock()
	defer mu.Unlock()
	created++ // BUG: sessions[name] is not re-checked
	sessions[name] = s
	return s
}

func main() {
	runtime.GOMAXPROCS(4)
	fd, err := syscall.Open(os.DevNull, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	logf = os.NewFile(uintptr(fd), os.DevNull)
	var wg sync.WaitGroup
	for _, job := range []uint32{1000, 5_000_000} {
		wg.Go(func() {
			h := uint32(2166136261) // the job: CPU only, free for the scheduler
			for i := range job {
				h = (h ^ i) * 16777619
			}
			for _, name := range names {
				logf.WriteString(fmt.Sprintf("worker %x: need session %s\n", h, name))
				getSession(name)
			}
		})
	}
	wg.Wait()
	if created != len(names) {
		fmt.Fprintf(os.Stderr, "check-then-act: %d sessions created, want %d\n", created, len(names))
		os.Exit(1)
	}
	fmt.Printf("sessions created: %d\n", created)
}
