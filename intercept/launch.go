package intercept

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept/bpf"
	"github.com/schedfuzz/schedfuzz/intercept/seccomp"
)

const addrNoRandomize = 0x0040000 // ADDR_NO_RANDOMIZE, personality(2)

// Filter tags carried in SECCOMP_RET_TRACE's data (PTRACE_GETEVENTMSG).
const (
	tagNative  = 0
	tagForeign = 1 // int $0x80 from a 64-bit process
	tagX32     = 2
)

// buildFilter compiles the tool's subscription into a seccomp program.
// Foreign-ABI calls always stop: they must neither escape tracing nor be
// killed.
func buildFilter(sub Subscription) ([]bpf.Instruction, error) {
	f := seccomp.Filter{
		Syscalls:    map[uint32]seccomp.Action{},
		Default:     seccomp.Allow,
		ForeignArch: seccomp.Trace(tagForeign),
		X32:         seccomp.Trace(tagX32),
	}
	if sub.all {
		f.Default = seccomp.Trace(tagNative)
	} else {
		for nr := range sub.nums {
			if nr >= 0 && nr < x32SyscallBit {
				f.Syscalls[uint32(nr)] = seccomp.Trace(tagNative)
			}
		}
	}
	return f.Build()
}

// launch starts cmd stopped, installs the seccomp filter in it, and
// returns its first thread seized (PTRACE_SEIZE semantics, so group-stops
// and PTRACE_INTERRUPT work) and stopped before its first instruction.
//
// Go cannot run code in the child between fork and exec, so the child is
// started with PTRACE_TRACEME. At its post-exec SIGTRAP the tracer edits
// the auxv and converts the attachment into a seizure: detach with
// SIGSTOP, seize the stopped process, SIGCONT it. At the SIGCONT stop it
// injects prctl(PR_SET_NO_NEW_PRIVS), prctl(PR_SET_TSC) and
// seccomp(SECCOMP_SET_MODE_FILTER) in one go, by single-stepping a
// `syscall` instruction of the vDSO (or one patched at the entry point if
// there is no vDSO). The guest has run no
// instruction of its own by then. (Its first exec therefore runs without
// no_new_privs; under ptrace a set-user-ID program gains no privileges
// anyway unless the tracer has CAP_SYS_PTRACE.)
//
// The order matters for speed: a guest that traps rdtsc (PR_TSC_SIGSEGV)
// makes every context switch between it and the tracer rewrite CR4, which
// costs ~5 µs per switch on this kind of VM (bench/RESULTS.md), so the
// stops of the re-seizure come before it. And the filter comes last: once
// installed, an injected call would stop.
func (tr *Tracer) launch(cmd *Command) (*Thread, error) {
	prog, err := buildFilter(tr.sub)
	if err != nil {
		return nil, fmt.Errorf("build seccomp filter: %w", err)
	}
	pid, err := tr.forkGuest(cmd)
	if err != nil {
		return nil, err
	}
	mem, err := tr.prepareGuest(pid, prog)
	if err != nil {
		unix.Kill(pid, unix.SIGKILL)
		reap(pid)
		tr.live.remove(pid)
		if ue := (*UnsupportedError)(nil); errors.As(err, &ue) {
			return nil, err
		}
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{Pid: pid, Mem: mem, bps: newBreakpoints()}
	// stepped: the injection single-stepped it (its last step report
	// is the stop it is in).
	t := &Thread{Tid: pid, Proc: p, tr: tr, stop: stopSignal, stepped: true}
	tr.root = p
	tr.result.Pid = pid
	tr.procs[pid] = p
	tr.addThread(t)
	return t, nil
}

// forkGuest forks and execs cmd's program under PTRACE_TRACEME, with its
// files, environment, directory and sandbox, and returns its pid, in the
// live set. The personality (ASLR off) is only needed for the fork, and
// no_new_privs (permanent on a thread) is injected into the guest instead
// (prepareGuest), so that the thread can serve later runs.
func (tr *Tracer) forkGuest(cmd *Command) (int, error) {
	if tr.opts.Pin {
		// The guest inherits the mask (pin_linux.go).
		if err := tr.pin(); err != nil {
			return 0, fmt.Errorf("start %s: pin to CPU %d: %w", cmd.Path, tr.opts.CPU, err)
		}
	}
	oldPersonality := ^uintptr(0)
	if tr.opts.DisableASLR {
		old, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
		if e == 0 {
			_, _, e = unix.RawSyscall(unix.SYS_PERSONALITY, old|addrNoRandomize, 0, 0)
		}
		if e != 0 {
			return 0, fmt.Errorf("personality: %w", e)
		}
		oldPersonality = old
	}
	pid, err := tr.forkExec(cmd)
	var perr error
	if oldPersonality != ^uintptr(0) {
		if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, oldPersonality, 0, 0); e != 0 {
			perr = fmt.Errorf("restore personality: %w", e)
		}
	}
	if err != nil {
		return 0, err
	}
	tr.live.add(pid)
	if tr.pinner != nil {
		tr.pinner.watch()
	}
	if perr != nil {
		unix.Kill(pid, unix.SIGKILL)
		reap(pid)
		tr.live.remove(pid)
		return 0, fmt.Errorf("start %s: %w", cmd.Path, perr)
	}
	return pid, nil
}

// forkExec is forkGuest's fork and exec, inside the sandbox if any.
func (tr *Tracer) forkExec(cmd *Command) (int, error) {
	files := []uintptr{0, 1, 2}
	if cmd.Stdin == nil {
		null, err := os.Open(os.DevNull)
		if err != nil {
			return 0, err
		}
		defer null.Close()
		files[0] = null.Fd()
	} else {
		files[0] = cmd.Stdin.Fd()
	}
	if cmd.Stdout != nil {
		files[1] = cmd.Stdout.Fd()
	}
	if cmd.Stderr != nil {
		files[2] = cmd.Stderr.Fd()
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	dir := cmd.Dir
	pdeath := syscall.SIGKILL
	if sb := tr.opts.Sandbox; sb != nil {
		// In a pid namespace of its own the child's getppid() is 0, which
		// Go's fork takes for a dead parent when Pdeathsig is set: it
		// would kill itself. The sandbox's init dies with this thread
		// instead, and takes every process of the namespace with it.
		pdeath = 0
		tr.sandboxed = true
		d, keeper, err := sb.Enter(dir)
		if keeper > 0 {
			tr.live.add(keeper)
		}
		if err != nil {
			return 0, fmt.Errorf("start %s: sandbox: %w", cmd.Path, err)
		}
		dir = d
	}
	pid, err := syscall.ForkExec(cmd.Path, cmd.Args, &syscall.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: files,
		Sys: &syscall.SysProcAttr{
			Ptrace:    true,
			Setpgid:   !cmd.KeepProcessGroup,
			Pdeathsig: pdeath,
		},
	})
	if sb := tr.opts.Sandbox; sb != nil {
		if lerr := sb.Leave(); lerr != nil && err == nil {
			tr.live.add(pid)
			unix.Kill(pid, unix.SIGKILL)
			reap(pid)
			tr.live.remove(pid)
			return 0, fmt.Errorf("start %s: sandbox: %w", cmd.Path, lerr)
		}
	}
	if err != nil {
		return 0, &StartError{Path: cmd.Path, Err: err}
	}
	return pid, nil
}

// prepareGuest takes the guest pid from its exec stop to its entry point
// seized (reseize), its auxv edited, and no_new_privs, the rdtsc trap and
// the filter prog injected. It returns the guest's memory; on an error
// the caller kills the guest.
func (tr *Tracer) prepareGuest(pid int, prog []bpf.Instruction) (*Memory, error) {
	var ws unix.WaitStatus
	if _, err := wait4(pid, &ws, 0); err != nil {
		return nil, err
	}
	if st := decodeStatus(ws); !st.stopped || st.sig != unix.SIGTRAP {
		return nil, fmt.Errorf("unexpected first status %#x", ws)
	}
	mem := newMemory(pid)
	fail := func(err error) (*Memory, error) {
		mem.Close()
		return nil, err
	}
	if err := reseize(pid); err != nil {
		return fail(err)
	}
	var regs unix.PtraceRegs
	if err := ptraceGetRegs(pid, &regs); err != nil {
		return fail(fmt.Errorf("get regs: %w", err))
	}
	if err := check64(pid, &regs); err != nil {
		return fail(err)
	}
	// Read the auxv even without options to edit, for the vDSO's address
	// (see syscallGadget); only an edit that fails is an error.
	vdso, err := editAuxv(mem, sp(&regs), tr.opts.DisableVDSO, tr.opts.AtRandom)
	if err != nil && (tr.opts.DisableVDSO || tr.opts.AtRandom != nil) {
		return fail(err)
	}
	// no_new_privs lets the guest install a filter without
	// CAP_SYS_ADMIN and is inherited by everything it runs.
	calls := []injection{{nr: unix.SYS_PRCTL, args: [6]uint64{unix.PR_SET_NO_NEW_PRIVS, 1}}}
	if tr.opts.TrapRDTSC {
		calls = append(calls, injection{nr: unix.SYS_PRCTL, args: [6]uint64{unix.PR_SET_TSC, unix.PR_TSC_SIGSEGV}})
	}
	filter, err := stageFilter(mem, sp(&regs), prog)
	if err != nil {
		return fail(err)
	}
	calls = append(calls, filter)
	if err := injectAtStop(pid, mem, &regs, calls, syscallGadget(mem, vdso)); err != nil {
		return fail(err)
	}
	return mem, nil
}

// reap waits until a killed tracee is gone. SIGKILL does not end its exit
// stop (PTRACE_EVENT_EXIT), only resuming does; and the stop it is in may
// already have been reported (a start-up step that failed on it), so it
// is resumed first and at every stop.
func reap(pid int) {
	ptraceCont(pid, 0)
	var ws unix.WaitStatus
	for {
		if _, err := wait4(pid, &ws, 0); err != nil || ws.Exited() || ws.Signaled() {
			return
		}
		ptraceCont(pid, 0)
	}
}

// StartError reports that the guest could not be executed.
type StartError struct {
	Path string
	Err  error
}

func (e *StartError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *StartError) Unwrap() error { return e.Err }

// stageFilter writes prog and its struct sock_fprog below the red zone
// of the initial stack (sp), which the kernel maps generously at exec, and
// returns the seccomp(2) call that installs it.
func stageFilter(mem *Memory, sp uint64, prog []bpf.Instruction) (injection, error) {
	code := bpf.Encode(prog)
	progAddr := (sp - 128 - uint64(len(code))) &^ 15
	fprogAddr := progAddr - 16
	var fprog [16]byte
	*(*uint16)(unsafe.Pointer(&fprog[0])) = uint16(len(prog))
	*(*uint64)(unsafe.Pointer(&fprog[8])) = progAddr
	if _, err := mem.WriteAt(code, int64(progAddr)); err != nil {
		return injection{}, fmt.Errorf("write filter: %w", err)
	}
	if _, err := mem.WriteAt(fprog[:], int64(fprogAddr)); err != nil {
		return injection{}, fmt.Errorf("write filter: %w", err)
	}
	return injection{nr: unix.SYS_SECCOMP, args: [6]uint64{1 /* SECCOMP_SET_MODE_FILTER */, 0, fprogAddr}}, nil
}

// injection is one syscall to run in a stopped guest thread; it must
// succeed (a result in [-4095, -1] is an error).
type injection struct {
	nr   int
	args [6]uint64
}

// syscallGadget returns the address of the bytes of a `syscall`
// instruction (0f 05) in the vDSO at vdso, or 0 if there is none. The
// bytes may sit inside another instruction: executed from their address
// they are a syscall all the same. The vDSO has a few (its fallback
// paths), and using one spares injectAtStop writing to the guest's text,
// which costs more than the rest of the injection here (opening
// /proc/PID/mem and breaking copy-on-write of a text page: 25-40 µs).
func syscallGadget(mem *Memory, vdso uint64) uint64 {
	if vdso == 0 || vdso%4096 != 0 {
		return 0
	}
	var page [4096]byte
	for off := uint64(0); off < 2*4096; off += 4096 {
		n, _ := mem.ReadAt(page[:], int64(vdso+off))
		if i := bytes.Index(page[:n], syscallInsn[:]); i >= 0 {
			return vdso + off + uint64(i)
		}
		if n < len(page) {
			break
		}
	}
	return 0
}

// injectAtStop runs calls, in order, in a thread stopped outside any
// syscall (at its entry point: an exec stop or a signal-delivery-stop) by
// single-stepping a `syscall` instruction once per call: the one at gadget
// if gadget != 0, else one written at the thread's pc (once for all calls,
// through /proc/PID/mem since text is read-only to process_vm_writev, and
// restored afterwards). The registers are restored afterwards.
func injectAtStop(tid int, mem *Memory, saved *unix.PtraceRegs, calls []injection, gadget uint64) error {
	at := *saved
	var orig [syscallInsnLen]byte
	if gadget != 0 {
		at.SetPC(gadget)
	} else {
		if _, err := mem.ReadAt(orig[:], int64(saved.PC())); err != nil {
			return fmt.Errorf("read text: %w", err)
		}
		insn := syscallInsn
		if _, err := mem.writeForce(insn[:], int64(saved.PC())); err != nil {
			return fmt.Errorf("patch text: %w", err)
		}
	}
	var err error
	for _, c := range calls {
		var ret int64
		if ret, err = stepSyscall(tid, &at, c); err == nil && ret < 0 && ret > -4096 {
			err = unix.Errno(-ret)
		}
		if err != nil {
			err = fmt.Errorf("inject syscall %d: %w", c.nr, err)
			break
		}
	}
	if gadget == 0 {
		if _, werr := mem.writeForce(orig[:], int64(saved.PC())); werr != nil && err == nil {
			err = fmt.Errorf("restore text: %w", werr)
		}
	}
	if serr := ptraceSetRegs(tid, saved); serr != nil && err == nil {
		err = fmt.Errorf("restore registers: %w", serr)
	}
	return err
}

// stepSyscall executes c at saved.PC() (a `syscall` instruction) by
// single-stepping, and returns its result.
func stepSyscall(tid int, saved *unix.PtraceRegs, c injection) (int64, error) {
	regs := *saved
	setSyscallRegs(&regs, c.nr, c.args)
	setNoSyscall(&regs) // not in a syscall
	if err := ptraceSetRegs(tid, &regs); err != nil {
		return 0, err
	}
	var ws unix.WaitStatus
	for {
		if err := ptraceSingleStep(tid); err != nil {
			return 0, err
		}
		if _, err := wait4(tid, &ws, 0); err != nil {
			return 0, err
		}
		// A SIGSTOP the guest cannot have sent (it has not run yet), say
		// a late one of this process's watchdogs for a former owner of
		// the pid, stops it before the instruction: suppress it.
		if !decodeStatus(ws).signalStop(unix.SIGSTOP) {
			break
		}
	}
	if !decodeStatus(ws).signalStop(unix.SIGTRAP) {
		return 0, fmt.Errorf("unexpected status %#x while injecting", ws)
	}
	if err := ptraceGetRegs(tid, &regs); err != nil {
		return 0, err
	}
	return int64(ret(&regs)), nil
}

// reseize turns a PTRACE_TRACEME attachment of a stopped process into a
// PTRACE_SEIZE one with our options, leaving the process stopped in a
// signal-delivery-stop that the main loop resumes with no signal.
func reseize(pid int) error {
	if err := ptraceDetach(pid, unix.SIGSTOP); err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	var ws unix.WaitStatus
	if _, err := wait4(pid, &ws, unix.WUNTRACED); err != nil {
		return fmt.Errorf("wait for stop: %w", err)
	}
	if !ws.Stopped() {
		return fmt.Errorf("guest did not stop: status %#x", ws)
	}
	if err := ptraceSeize(pid, traceOptions); err != nil {
		return fmt.Errorf("seize: %w", err)
	}
	if err := unix.Kill(pid, unix.SIGCONT); err != nil {
		return fmt.Errorf("continue: %w", err)
	}
	// Expect the group-stop trap and a notification that it ended, then
	// the SIGCONT itself; stop there.
	for range 8 {
		if _, err := wait4(pid, &ws, 0); err != nil {
			return fmt.Errorf("wait after seize: %w", err)
		}
		if !ws.Stopped() {
			return fmt.Errorf("guest gone while starting: status %#x", ws)
		}
		if decodeStatus(ws).signalStop(unix.SIGCONT) {
			return nil
		}
		if err := ptraceCont(pid, 0); err != nil {
			return fmt.Errorf("resume after seize: %w", err)
		}
	}
	return fmt.Errorf("guest did not reach SIGCONT after seize (last status %#x)", ws)
}

// Auxiliary vector tags (elf.h).
const (
	atNull        = 0
	atIgnore      = 1
	atRandom      = 25
	atSysinfoEHdr = 33
)

// fixAuxv applies DisableVDSO and AtRandom to a process stopped at its
// entry point.
func (tr *Tracer) fixAuxv(tid int, mem *Memory) error {
	if !tr.opts.DisableVDSO && tr.opts.AtRandom == nil {
		return nil
	}
	var regs unix.PtraceRegs
	if err := ptraceGetRegs(tid, &regs); err != nil {
		return err
	}
	if err := check64(tid, &regs); err != nil {
		return err
	}
	_, err := editAuxv(mem, sp(&regs), tr.opts.DisableVDSO, tr.opts.AtRandom)
	return err
}

// auxvMemory is what editAuxv needs of a Memory (tests use a fake).
type auxvMemory interface {
	io.ReaderAt
	io.WriterAt
}

// stackWords reads the words of the initial stack a page at a time: one
// process_vm_readv for the page of sp and one per further page the
// tables reach, instead of one per word (argv, envp and auxv hold a few
// dozen words; word by word they cost ~100 µs per exec here). A read
// never crosses the end of the page holding the word asked for, so it
// cannot fault past the top of the stack.
type stackWords struct {
	mem  io.ReaderAt
	base uint64 // guest address of buf[0]
	buf  []byte
	page [4096]byte
}

func (s *stackWords) word(addr uint64) (uint64, error) {
	if addr < s.base || addr+8 > s.base+uint64(len(s.buf)) {
		end := (addr + 8 + 4095) &^ 4095 // the page of the word's last byte
		n, err := s.mem.ReadAt(s.page[:end-addr], int64(addr))
		if n < 8 {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		s.base, s.buf = addr, s.page[:n]
	}
	return binary.LittleEndian.Uint64(s.buf[addr-s.base:]), nil
}

// editAuxv edits the auxiliary vector of a process stopped at its entry
// point: AT_SYSINFO_EHDR becomes AT_IGNORE (hideVDSO) and the AT_RANDOM
// bytes are replaced (random != nil). sp is the stack pointer there,
// which points at argc, followed by argv, envp and auxv. It returns the
// address of the vDSO (0 if there is none), hidden or not: it stays
// mapped.
func editAuxv(mem auxvMemory, sp uint64, hideVDSO bool, random *[16]byte) (vdso uint64, err error) {
	st := &stackWords{mem: mem}
	argc, err := st.word(sp)
	if err != nil {
		return 0, fmt.Errorf("read argc: %w", err)
	}
	if argc > 1<<24 {
		return 0, fmt.Errorf("argc %d at %#x: not an initial stack", argc, sp)
	}
	p := sp + 8 + 8*(argc+1)
	for i := 0; ; i++ { // skip envp
		v, err := st.word(p)
		if err != nil {
			return 0, fmt.Errorf("read envp: %w", err)
		}
		p += 8
		if v == 0 {
			break
		}
		if i > 1<<24 {
			return 0, fmt.Errorf("unterminated envp")
		}
	}
	for i := 0; i < 1024; i++ {
		tag, err := st.word(p)
		if err != nil {
			return 0, fmt.Errorf("read auxv: %w", err)
		}
		switch tag {
		case atNull:
			return vdso, nil
		case atSysinfoEHdr:
			if vdso, err = st.word(p + 8); err != nil {
				return 0, fmt.Errorf("read auxv: %w", err)
			}
			if hideVDSO {
				var b [8]byte
				binary.LittleEndian.PutUint64(b[:], atIgnore)
				if _, err := mem.WriteAt(b[:], int64(p)); err != nil {
					return 0, fmt.Errorf("hide vDSO: %w", err)
				}
			}
		case atRandom:
			if random != nil {
				addr, err := st.word(p + 8)
				if err == nil {
					_, err = mem.WriteAt(random[:], int64(addr))
				}
				if err != nil {
					return 0, fmt.Errorf("AT_RANDOM: %w", err)
				}
			}
		}
		p += 16
	}
	return 0, fmt.Errorf("unterminated auxv")
}
