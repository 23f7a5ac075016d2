package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// interruptGrace is how long an interrupted command waits for its runs to
// wind down before it exits anyway. A run ends at once when cancelled
// (its guest is killed), but the tracer may be busy in work that is not
// cancellable, such as reading a library's symbols at a run's start,
// which takes seconds on a loaded machine. The guests are killed already
// (and die with schedfuzz in any case: PTRACE_O_EXITKILL).
const interruptGrace = 200 * time.Millisecond

// exitGate orders the ways an exploration ends: a seed being saved is
// always finished first, and only one of them prints its last words.
type exitGate struct {
	mu       sync.Mutex
	runs     int      // runs reported
	found    []string // replay commands of the failures found
	finished bool     // the session has printed its end
}

// saving runs save with the gate held: an interrupted session does not
// exit in the middle of it.
func (g *exitGate) saving(save func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	save()
}

// finish marks the normal end: returns false if the interrupted end has
// been taken (then the process is exiting).
func (g *exitGate) finish() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.finished {
		return false
	}
	g.finished = true
	return true
}

// exitAfterInterrupt ends the process interruptGrace after ctx is
// cancelled unless the session ended by itself (done): exit 1 if a
// failure was found (its seed is saved), else 130.
func (s *session) exitAfterInterrupt(ctx context.Context, done <-chan struct{}) {
	select {
	case <-ctx.Done():
	case <-done:
		return
	}
	select {
	case <-time.After(interruptGrace):
	case <-done:
		return
	}
	g := &s.gate
	g.mu.Lock() // never unlocked: the process ends here
	if g.finished {
		g.mu.Unlock()
		return
	}
	g.finished = true
	fmt.Fprintf(s.stderr, "schedfuzz: interrupted after %d runs\n", g.runs)
	unpinThreads()
	if len(g.found) > 0 {
		for _, f := range g.found {
			fmt.Fprintf(s.stderr, "%s\n", f)
		}
		os.Exit(exitFound)
	}
	os.Exit(exitInterrupted)
}

// exitOnInterrupt ends a command that writes nothing that must be
// finished (replay) interruptGrace after ctx is cancelled, unless it is
// done by then.
func exitOnInterrupt(ctx context.Context, done <-chan struct{}, stderr io.Writer) {
	select {
	case <-ctx.Done():
	case <-done:
		return
	}
	select {
	case <-time.After(interruptGrace):
		interrupted(stderr)
		unpinThreads()
		os.Exit(exitInterrupted)
	case <-done:
	}
}

// unpinThreads lets every thread of the process run on any CPU before it
// exits: a tracer thread still pinned to a run's CPU would tear the
// process down there, behind whatever else is pinned to it (seconds on a
// loaded machine).
func unpinThreads() {
	var all unix.CPUSet
	for c := 0; c < runtime.NumCPU(); c++ {
		all.Set(c)
	}
	tids, _ := os.ReadDir("/proc/self/task")
	for _, e := range tids {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			unix.SchedSetaffinity(tid, &all)
		}
	}
}
