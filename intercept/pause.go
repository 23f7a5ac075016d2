package intercept

import (
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// Pausing the threads that share an address space while one steps, and
// the stops their targeted waits consume.

// othersMayRun reports whether a thread other than t that shares its
// address space may be executing guest code (see pauseOthers).
func (tr *Tracer) othersMayRun(t *Thread) bool {
	for _, p := range tr.sharers(t.Proc) {
		for _, o := range p.threads {
			if o != t && o.mayRun() {
				return true
			}
		}
	}
	return false
}

// mayRun reports whether t may execute guest code before the tracer sees
// it stop: resumed with PTRACE_CONT, not frozen in vfork, not exiting.
// (A thread resumed with TraceExit stops at its syscall's exit first.)
func (t *Thread) mayRun() bool {
	return t.stop == stopRunning && !t.wantExit && !t.vforking && !t.exiting && !t.tr.hasDeferred(t.Tid)
}

// sharers returns the processes sharing p's address space, p included,
// ordered by pid.
func (tr *Tracer) sharers(p *Process) []*Process {
	if !p.bps.shared {
		return []*Process{p}
	}
	var ps []*Process
	for _, q := range tr.procs {
		if q.bps == p.bps {
			ps = append(ps, q)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Pid < ps[j].Pid })
	return ps
}

// pauseOthers stops every thread other than t that shares t's address
// space and could execute guest code before its next ptrace-stop: those
// the tracer has resumed with PTRACE_CONT (held or stopped threads cannot
// run; a thread in a syscall resumed with TraceExit stops at its exit
// first; a vfork parent is frozen until the child execs or exits; an
// exiting thread runs no guest code). Each is interrupted
// (PTRACE_INTERRUPT) and waited for; one that reports another stop first
// is stopped too, and that stop goes to the main loop. It returns the
// threads stopped by the interrupt, for unpause.
func (tr *Tracer) pauseOthers(t *Thread) ([]*Thread, error) {
	var paused []*Thread
	for _, p := range tr.sharers(t.Proc) {
		for _, o := range p.threads {
			if o == t || !o.mayRun() {
				continue
			}
			var ws unix.WaitStatus
			// A stop already queued needs no interrupt (which would
			// then stay pending until its next stop).
			wpid, err := wait4(o.Tid, &ws, unix.WNOHANG)
			if err == nil && wpid == 0 {
				if err := ptraceInterrupt(o.Tid); err != nil {
					if err == unix.ESRCH {
						continue
					}
					return paused, fmt.Errorf("pause thread %d: %w", o.Tid, err)
				}
				// Set until its interrupt stop is seen, here or (if it
				// stays pending) in the main loop.
				o.interrupted = true
				_, err = wait4(o.Tid, &ws, 0)
			}
			if err != nil {
				return paused, fmt.Errorf("pause thread %d: wait: %w", o.Tid, err)
			}
			tr.result.Stops++
			if decodeStatus(ws).interruptStop() {
				o.stop = stopEvent
				o.interrupted = false
				paused = append(paused, o)
				continue
			}
			o.deferStop(ws)
		}
	}
	return paused, nil
}

// unpause resumes the threads pauseOthers stopped.
func (tr *Tracer) unpause(paused []*Thread) error {
	var first error
	for _, o := range paused {
		o.expectRestart()
		if err := o.resume(Continue()); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (tr *Tracer) hasDeferred(tid int) bool {
	for _, ev := range tr.deferred {
		if ev.tid == tid {
			return true
		}
	}
	return false
}

// deferStop hands a status of t consumed by a targeted wait to the main
// loop, which handles it as if wait4(-1) had returned it.
func (t *Thread) deferStop(ws unix.WaitStatus) error {
	t.tr.deferred = append(t.tr.deferred, waitEvent{tid: t.Tid, ws: ws})
	return nil
}
