package sched

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
)

// Virtual rdtsc without PR_SET_TSC.
//
// A guest whose rdtsc traps (PR_SET_TSC) costs the kernel a CR4 write at
// every switch between it and the tracer, two per stop: about 10 µs per
// scheduling point on a nested-virtualization VM, half of all a point
// costs. So unless Config.TrapRDTSC, a run with function points (which
// already follow every image a process maps, breakpoints.go) does not
// trap rdtsc: it plants a breakpoint on every rdtsc and rdtscp
// instruction of each image (memsites.TSCSites, decoded per object once
// a session) and answers a hit as the trap would, with the same virtual
// counter (virtualTSC), then moves the thread past the instruction. An
// rdtsc that never runs costs nothing; ld.so's few at start-up cost a
// breakpoint stop each, as their traps did.
//
// Only code the scheduler has seen may run: after every call that makes
// memory executable (mmap, mprotect with PROT_EXEC; their exits already
// refresh the images), the range must lie in known images. Executable
// memory that belongs to no ELF file (a JIT's), an object whose sites are
// not known for sure, or a site another breakpoint already holds ends the
// run as Rerun with Outcome.TrapRDTSC: explore runs it again from the
// start with Config.TrapRDTSC, and the guest sees the same values either
// way, so results and replays do not depend on which way a run went.

// trapsRDTSC reports whether the run traps rdtsc with PR_SET_TSC: if
// asked, or if no image is followed (syscall points only).
func (s *Scheduler) trapsRDTSC() bool {
	return s.cfg.TrapRDTSC || s.pts == nil
}

// virtualTSC sets regs as an rdtsc (n == 2) or rdtscp (n == 3) leaves
// them: a 3 GHz counter of virtual time, strictly increasing, processor 0.
func (s *Scheduler) virtualTSC(regs *unix.PtraceRegs, n int) {
	s.tsc += 1000
	tsc := uint64(s.now-monoBase)*3 + s.tsc
	regs.Rax = tsc & 0xffffffff
	regs.Rdx = tsc >> 32
	if n == 3 {
		regs.Rcx = 0
	}
}

// plantTSC sets a breakpoint on each rdtsc site of a newly mapped image.
// It reports false if the image's sites are not known or one could not be
// planted: the run must trap rdtsc instead.
func (s *Scheduler) plantTSC(p *intercept.Process, pp *pointProc, im *symbols.Image) bool {
	alt := ""
	if len(im.Mappings) > 0 {
		m := im.Mappings[0]
		alt = fmt.Sprintf("/proc/%d/map_files/%x-%x", p.Pid, m.Start, m.End)
	}
	sites, sure := s.pts.plan.TSC(im.Object, alt)
	if !sure {
		s.needTSCTrap(fmt.Sprintf("the rdtsc instructions of %s are not known", im.Path))
		return false
	}
	for _, site := range sites {
		addr := im.Addr(site.Vaddr)
		if !im.Contains(addr) {
			continue
		}
		_, named := pp.names[addr]
		_, spin := pp.spins[addr]
		if named || spin {
			s.needTSCTrap(fmt.Sprintf("rdtsc at %#x in %s is also a point", addr, im.Path))
			return false
		}
		if err := p.SetBreakpoint(addr); err != nil {
			s.needTSCTrap(fmt.Sprintf("rdtsc at %#x in %s: %v", addr, im.Path, err))
			return false
		}
		if pp.tsc == nil {
			pp.tsc = map[uint64]int{}
		}
		pp.tsc[addr] = site.Len
	}
	return true
}

// forgetTSC drops the sites of an unmapped image.
func forgetTSC(p *intercept.Process, pp *pointProc, im *symbols.Image) {
	for a := range pp.tsc {
		if im.Contains(a) {
			p.ClearBreakpoint(a)
			delete(pp.tsc, a)
		}
	}
}

// tscBreakpoint answers a breakpoint on an rdtsc site: t gets the virtual
// counter and resumes after the instruction.
func (s *Scheduler) tscBreakpoint(t *intercept.Thread, addr uint64) (intercept.Action, bool) {
	pp := s.pts.procs[t.Proc.Pid]
	if pp == nil {
		return intercept.Action{}, false
	}
	n, ok := pp.tsc[addr]
	if !ok {
		return intercept.Action{}, false
	}
	regs, err := t.Regs()
	if err != nil {
		return intercept.Continue(), true
	}
	s.virtualTSC(&regs, n)
	regs.Rip = addr + uint64(n)
	if err := t.SetRegs(&regs); err != nil {
		s.note(fmt.Sprintf("rdtsc at %#x: %v", addr, err))
	}
	return intercept.Continue(), true
}

// checkCode, at the exit of a call that made [lo, hi) executable, ends
// the run for a rerun with rdtsc trapped unless the range lies in images
// whose sites are planted.
func (s *Scheduler) checkCode(g *gthread, lo, hi uint64) {
	if s.trapsRDTSC() || s.ended {
		return
	}
	pp := s.pts.procs[g.pid]
	if pp == nil {
		return
	}
	for a := lo &^ 0xfff; a < hi; a += 0x1000 {
		if pp.objs.ImageAt(a) == nil {
			s.needTSCTrap(fmt.Sprintf("thread %d made memory at %#x executable outside any ELF image (JIT code)", g.vtid, a))
			return
		}
	}
}

// needTSCTrap ends the run as Rerun with Outcome.TrapRDTSC.
func (s *Scheduler) needTSCTrap(why string) {
	if s.trapsRDTSC() || s.ended {
		return
	}
	s.out.TrapRDTSC = true
	s.end(Rerun, why+": run again with every rdtsc trapped")
}

// madeExecutable returns the range an mmap or mprotect call that returned
// ret made executable.
func madeExecutable(c *intercept.Syscall, ret int64) (lo, n uint64, ok bool) {
	if c.Args[2]&unix.PROT_EXEC == 0 {
		return 0, 0, false
	}
	switch c.Nr {
	case unix.SYS_MMAP:
		return uint64(ret), c.Args[1], true
	case unix.SYS_MPROTECT:
		return c.Args[0], c.Args[1], true
	}
	return 0, 0, false
}
