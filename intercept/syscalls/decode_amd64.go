package syscalls

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Decoders of the x86-64 ABI: argument kinds, struct layouts.

var le = binary.LittleEndian

const (
	maxArrayItems = 32  // pollfds, iovecs, argv entries, epoll events shown
	maxSockaddr   = 128 // sizeof(struct sockaddr_storage)
	maxSigset     = 128 // bytes of a sigset read
	maxCPUSet     = 1024
	maxEnvCount   = 65536
)

// long returns an argument as a C long of the call's ABI.
func (e *Event) long(v uint64) int64 {
	if e.Arch == I386 {
		return int64(int32(v))
	}
	return int64(v)
}

func (e *Event) ulong(v uint64) uint64 {
	if e.Arch == I386 {
		return uint64(uint32(v))
	}
	return v
}

// hasExitPhase reports whether a kind is (also) decoded at the exit.
func hasExitPhase(k Kind) bool {
	switch k {
	case OutBuf, OutString, IovOut, SockaddrOut, SockLenInOut, FDPair, SigsetOut, SigactionOut,
		WaitStatusOut, TimespecOut, EpollEventsOut, RlimitOut, StatOut, StatxOut, UnameOut,
		CPUSetOut, Int32PtrOut, CloneArgs:
		return true
	}
	return false
}

// extendsAtExit reports whether the exit text of a kind is its entry text
// plus more (rather than a replacement).
func extendsAtExit(k Kind) bool { return k == CloneArgs || k == SockLenInOut }

// formatIn appends the entry text of argument position i.
func (e *Event) formatIn(i int, a *Arg) {
	v := e.Args[a.reg(i)]
	b := e.buf
	switch a.Kind {
	case Hex:
		b = appendHex(b, e.ulong(v))
	case Ptr:
		b = appendPtr(b, e.ulong(v))
	case Int:
		b = appendInt(b, e.long(v))
	case Int32, FD:
		b = appendInt(b, int64(int32(v)))
	case Uint:
		b = appendUint(b, e.ulong(v))
	case Uint32:
		b = appendUint(b, uint64(uint32(v)))
	case Octal, Mode:
		b = appendOctal(b, uint64(uint32(v)))
	case DirFD:
		if int32(v) == unix.AT_FDCWD {
			b = append(b, "AT_FDCWD"...)
		} else {
			b = appendInt(b, int64(int32(v)))
		}
	case Path:
		e.appendStr(v, pathMax)
		return
	case String:
		e.appendStr(v, e.limit)
		return
	case InBuf:
		e.appendBuf(v, e.ulong(e.Args[a.aux(i)]))
		return
	case IovIn:
		e.appendIovecs(v, e.Args[a.aux(i)], -1)
		return
	case OpenFlags:
		b = appendEnum(b, v&3, openAccmode, true)
		if rest := uint64(uint32(v)) &^ 3; rest != 0 {
			b = appendFlags(append(b, '|'), rest, openFlags, "")
		}
	case MmapProt:
		b = appendFlags(b, uint64(uint32(v)), protFlags, "PROT_NONE")
	case MmapFlags:
		b = appendMmapFlags(b, uint64(uint32(v)))
	case CloneFlags:
		b = appendFlags(b, v&^0xff, cloneFlags, "")
		if sig := v & 0xff; sig != 0 {
			if v&^0xff != 0 {
				b = append(b, '|')
			} else {
				b = b[:len(b)-1] // drop the "0" of empty flags
			}
			b = appendSignal(b, sig)
		}
	case NSFlags:
		b = appendFlags(b, v, clone3Flags, "")
	case CloneArgs:
		e.appendCloneArgs(i, v, e.Args[a.aux(i)])
		return
	case FutexOp:
		b = appendFutexOp(b, v)
	case FutexVal3:
		if uint32(v) == 0xffffffff {
			b = append(b, "FUTEX_BITSET_MATCH_ANY"...)
		} else {
			b = appendHex(b, uint64(uint32(v)))
		}
	case FutexWakeOp:
		b = appendFutexWakeOp(b, uint32(v))
	case Futex2Flags:
		b = append(b, futex2Sizes[v&3]...)
		if rest := v &^ 3; rest != 0 {
			b = appendFlags(append(b, '|'), rest, futex2Flags, "")
		}
	case Timespec, TimespecOut:
		if a.Kind == TimespecOut {
			b = appendPtr(b, v)
			break
		}
		e.appendTimespec(v)
		return
	case ClockID:
		b = appendEnum(b, uint64(uint32(v)), clockIDs, false)
	case TimerFlags:
		b = appendFlags(b, uint64(uint32(v)), timerFlags, "")
	case SockDomain:
		b = appendEnum(b, uint64(uint32(v)), sockDomains, false)
	case SockType:
		b = appendSockType(b, uint64(uint32(v)))
	case SockProto:
		b = appendSockProto(b, uint64(uint32(e.Args[0])), uint64(uint32(v)))
	case Sockaddr:
		e.appendSockaddr(v, e.Args[a.aux(i)])
		return
	case SockLenInOut:
		if n, ok := e.readU32(v); ok {
			e.saved[i] = uint64(n)
			b = appendUint(append(b, '['), uint64(n))
			b = append(b, ']')
		} else {
			b = appendPtr(b, v)
		}
	case MsgFlags:
		b = appendFlags(b, uint64(uint32(v)), msgFlags, "")
	case ShutdownHow:
		b = appendEnum(b, uint64(uint32(v)), shutdownHows, false)
	case SockLevel:
		b = appendEnum(b, uint64(uint32(v)), sockLevels, false)
	case SockOpt:
		if uint32(e.Args[1]) == unix.SOL_SOCKET {
			b = appendEnum(b, uint64(uint32(v)), sockOpts, false)
		} else {
			b = appendInt(b, int64(int32(v)))
		}
	case Signal:
		b = appendSignal(b, uint64(uint32(v)))
	case Sigset:
		e.appendSigset(v, e.ulong(e.Args[a.aux(i)]))
		return
	case SigHow:
		b = appendEnum(b, uint64(uint32(v)), sigHows, false)
	case Sigaction:
		e.appendSigaction(v, e.Args[a.aux(i)])
		return
	case WaitOptions:
		b = appendFlags(b, uint64(uint32(v)), waitOptions, "")
	case IDType:
		b = appendEnum(b, uint64(uint32(v)), idTypes, false)
	case PollFds:
		e.appendPollfds(v, e.Args[a.aux(i)], false, 0)
		return
	case AtFlags:
		b = appendFlags(b, uint64(uint32(v)), atFlags, "")
	case AccessAtFlags:
		b = appendFlags(b, uint64(uint32(v)), accessAtFlags, "")
	case AccessMode:
		b = appendFlags(b, uint64(uint32(v)), accessModes, "F_OK")
	case Whence:
		b = appendEnum(b, uint64(uint32(v)), whences, false)
	case PrctlOption:
		b = appendEnum(b, uint64(uint32(v)), prctlOptions, false)
	case ArchPrctlCode:
		b = appendEnum(b, uint64(uint32(v)), archPrctlCodes, true)
	case IoctlReq:
		b = appendEnum(b, uint64(uint32(v)), ioctlReqs, true)
	case FcntlCmd:
		b = appendEnum(b, uint64(uint32(v)), fcntlCmds, false)
	case FDFlags:
		b = appendFlags(b, v, fdFlags, "")
	case Advice:
		b = appendEnum(b, uint64(uint32(v)), madvAdvice, false)
	case EpollCtlOp:
		b = appendEnum(b, uint64(uint32(v)), epollCtlOps, false)
	case EpollEvent:
		e.appendEpollEvents(v, 1, false)
		return
	case Rlimit:
		b = appendEnum(b, uint64(uint32(v)), rlimits, false)
	case RlimitIn:
		e.appendRlimit(v)
		return
	case CPUSet:
		e.appendCPUSet(v, e.ulong(e.Args[a.aux(i)]))
		return
	case Argv:
		e.appendArgv(v)
		return
	case Envp:
		e.appendEnvp(v)
		return
	case GrndFlags:
		b = appendFlags(b, uint64(uint32(v)), grndFlags, "")
	case MemfdFlags:
		b = appendFlags(b, uint64(uint32(v)), memfdFlags, "")
	case EfdFlags:
		b = appendFlags(b, uint64(uint32(v)), efdFlags, "")
	case EpollFlags:
		b = appendFlags(b, uint64(uint32(v)), epollFlags, "")
	case CloseRangeFlags:
		b = appendFlags(b, uint64(uint32(v)), closeRangeFlags, "")
	case RenameFlags:
		b = appendFlags(b, uint64(uint32(v)), renameFlags, "")
	case MremapFlags:
		b = appendFlags(b, uint64(uint32(v)), mremapFlags, "")
	case MsyncFlags:
		b = appendFlags(b, uint64(uint32(v)), msyncFlags, "")
	case FileFlags:
		b = appendFlags(b, uint64(uint32(v)), openFlags, "")
	case OpenHow:
		e.appendOpenHow(v, e.Args[a.aux(i)])
		return
	case Int32Ptr:
		e.appendInt32Ptr(v)
		return
	default: // out kinds: the address until the exit
		b = appendPtr(b, e.ulong(v))
	}
	e.buf = b
}

// formatOut appends the exit text of argument position i and reports
// whether it replaces the entry text old.
func (e *Event) formatOut(i int, a *Arg, old segment) bool {
	v := e.ulong(e.Args[a.reg(i)])
	if e.failed() || v == 0 {
		return false
	}
	ret := e.Ret
	switch a.Kind {
	case OutBuf:
		e.appendBuf(v, uint64(ret))
	case OutString:
		n := ret
		if e.Nr == unix.SYS_GETCWD && e.Arch == X86_64 && n > 0 {
			n-- // the result counts the NUL
		}
		s, ok := e.read(v, int(min(n, pathMax)))
		if !ok {
			return false
		}
		e.buf = appendQuoted(e.buf, s, n > pathMax)
	case IovOut:
		e.appendIovecs(v, e.Args[a.aux(i)], ret)
	case SockaddrOut:
		n, ok := e.readU32(e.Args[a.aux(i)])
		if !ok {
			return false
		}
		e.appendSockaddr(v, uint64(n))
	case SockLenInOut:
		n, ok := e.readU32(v)
		if !ok || uint64(n) == e.saved[i] {
			return false
		}
		e.buf = append(e.buf, e.buf[old.s:old.e-1]...)
		e.buf = append(e.buf, " => "...)
		e.buf = appendUint(e.buf, uint64(n))
		e.buf = append(e.buf, ']')
	case FDPair:
		p, ok := e.read(v, 8)
		if !ok {
			return false
		}
		e.buf = append(e.buf, '[')
		e.buf = appendInt(e.buf, int64(int32(le.Uint32(p))))
		e.buf = append(e.buf, ", "...)
		e.buf = appendInt(e.buf, int64(int32(le.Uint32(p[4:]))))
		e.buf = append(e.buf, ']')
	case SigsetOut:
		e.appendSigset(v, e.ulong(e.Args[a.aux(i)]))
	case SigactionOut:
		e.appendSigaction(v, e.Args[a.aux(i)])
	case WaitStatusOut:
		if ret == 0 {
			return false // WNOHANG and nothing to report: not written
		}
		st, ok := e.readU32(v)
		if !ok {
			return false
		}
		e.buf = appendWaitStatus(e.buf, st)
	case TimespecOut:
		e.appendTimespec(v)
	case EpollEventsOut:
		e.appendEpollEvents(v, uint64(ret), true)
	case RlimitOut:
		e.appendRlimit(v)
	case StatOut:
		e.appendStat(v)
	case StatxOut:
		e.appendStatx(v)
	case UnameOut:
		e.appendUname(v)
	case CPUSetOut:
		e.appendCPUSet(v, uint64(ret))
	case Int32PtrOut:
		e.appendInt32Ptr(v)
	case CloneArgs:
		ptid := e.saved[i]
		if ret <= 0 || ptid == 0 {
			return false
		}
		tid, ok := e.readU32(ptid)
		if !ok {
			return false
		}
		e.buf = append(e.buf, e.buf[old.s:old.e]...)
		e.buf = append(e.buf, " => {parent_tid=["...)
		e.buf = appendUint(e.buf, uint64(tid))
		e.buf = append(e.buf, "]}"...)
	default:
		return false
	}
	return true
}

// formatSuffix appends what strace shows after a result: poll's revents.
func (e *Event) formatSuffix() {
	if e.failed() {
		return
	}
	for i := range e.sig {
		if e.sig[i].Kind != PollFds || e.seg[i].s < 0 {
			continue
		}
		if e.Ret == 0 {
			e.buf = append(e.buf, " (Timeout)"...)
			return
		}
		e.buf = append(e.buf, " ("...)
		e.appendPollfds(e.Args[e.sig[i].reg(i)], e.Args[e.sig[i].aux(i)], true, int(e.Ret))
		e.buf = append(e.buf, ')')
		return
	}
}

func (e *Event) readU32(addr uint64) (uint32, bool) {
	b, ok := e.read(addr, 4)
	if !ok {
		return 0, false
	}
	return le.Uint32(b), true
}

func appendSignal(b []byte, sig uint64) []byte {
	switch {
	case sig > 0 && sig < 32:
		return append(append(b, "SIG"...), signalNames[sig]...)
	case sig == 32:
		return append(b, "SIGRTMIN"...)
	case sig > 32 && sig <= 64:
		return appendUint(append(b, "SIGRT_"...), sig-32)
	}
	return appendInt(b, int64(int32(sig)))
}

func appendSigName(b []byte, sig int) []byte {
	switch {
	case sig < 33:
		return append(b, signalNames[sig]...)
	}
	return appendUint(append(b, "RT_"...), uint64(sig-32))
}

func appendMmapFlags(b []byte, v uint64) []byte {
	b = appendEnum(b, v&0xf, mapTypes, true)
	rest := v &^ 0xf
	huge := rest >> 26 & 0x3f
	if rest&unix.MAP_HUGETLB != 0 && huge >= 10 && huge < 60 {
		rest &^= 0x3f << 26
	} else {
		huge = 0
	}
	if rest != 0 {
		b = appendFlags(append(b, '|'), rest, mapFlags, "")
	}
	if huge != 0 {
		b = append(b, "|"...)
		b = appendUint(append(b, "MAP_HUGE_"...), 1<<(huge%10)) // 2^shift bytes
		b = append(b, "KMGTPE"[huge/10-1])
		b = append(b, 'B')
	}
	return b
}

func appendFutexOp(b []byte, v uint64) []byte {
	cmd := v & futexCmdMask & 0xffffffff
	if cmd < uint64(len(futexCmds)) {
		b = append(b, futexCmds[cmd]...)
		if v&futexPrivate != 0 {
			b = append(b, "_PRIVATE"...)
		}
	} else {
		b = appendHex(b, cmd)
		if v&futexPrivate != 0 {
			b = append(b, "|FUTEX_PRIVATE_FLAG"...)
		}
	}
	if v&futexRealtime != 0 {
		b = append(b, "|FUTEX_CLOCK_REALTIME"...)
	}
	return b
}

// appendFutexWakeOp shows FUTEX_OP(op, oparg, cmp, cmparg) as strace does:
// FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1.
func appendFutexWakeOp(b []byte, v uint32) []byte {
	op, cmp := v>>28&7, v>>24&15
	if v>>28&8 != 0 {
		b = append(b, "FUTEX_OP_OPARG_SHIFT<<28|"...)
	}
	if int(op) < len(futexWakeOps) {
		b = append(b, futexWakeOps[op]...)
	} else {
		b = appendUint(b, uint64(op))
	}
	b = append(b, "<<28|"...)
	b = appendHex(b, uint64(v>>12&0xfff))
	b = append(b, "<<12|"...)
	if int(cmp) < len(futexWakeCmps) {
		b = append(b, futexWakeCmps[cmp]...)
	} else {
		b = appendUint(b, uint64(cmp))
	}
	b = append(b, "<<24|"...)
	return appendHex(b, uint64(v&0xfff))
}

func appendSockType(b []byte, v uint64) []byte {
	typ, fl := v&0xf, v&^0xf
	if typ != 0 || fl == 0 {
		b = appendEnum(b, typ, sockTypes, false)
		if fl == 0 {
			return b
		}
		b = append(b, '|')
	}
	return appendFlags(b, fl, sockTypeFlags, "")
}

func appendSockProto(b []byte, domain, v uint64) []byte {
	switch domain {
	case unix.AF_INET, unix.AF_INET6:
		return appendEnum(b, v, ipProtos, false)
	case unix.AF_NETLINK:
		return appendEnum(b, v, netlinkProtos, false)
	}
	return appendInt(b, int64(int32(v)))
}

func (e *Event) appendTimespec(addr uint64) {
	p, ok := e.read(addr, 16)
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	e.buf = append(e.buf, "{tv_sec="...)
	e.buf = appendInt(e.buf, int64(le.Uint64(p)))
	e.buf = append(e.buf, ", tv_nsec="...)
	e.buf = appendInt(e.buf, int64(le.Uint64(p[8:])))
	e.buf = append(e.buf, '}')
}

func (e *Event) appendSockaddr(addr, n uint64) {
	if addr == 0 {
		e.buf = append(e.buf, "NULL"...)
		return
	}
	if n < 2 || n > maxSockaddr {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	p, ok := e.read(addr, int(n))
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	fam := uint64(le.Uint16(p))
	b := append(e.buf, "{sa_family="...)
	b = appendEnum(b, fam, sockDomains, false)
	switch {
	case fam == unix.AF_UNIX:
		path := p[2:]
		if len(path) > 0 {
			b = append(b, ", sun_path="...)
			if path[0] == 0 {
				b = appendQuoted(append(b, '@'), path[1:], false)
			} else {
				for j, c := range path {
					if c == 0 {
						path = path[:j]
						break
					}
				}
				b = appendQuoted(b, path, false)
			}
		}
	case fam == unix.AF_INET && n >= 8:
		b = append(b, ", sin_port=htons("...)
		b = appendUint(b, uint64(binary.BigEndian.Uint16(p[2:])))
		b = append(b, "), sin_addr=inet_addr(\""...)
		for j := 4; j < 8; j++ {
			if j > 4 {
				b = append(b, '.')
			}
			b = appendUint(b, uint64(p[j]))
		}
		b = append(b, "\")"...)
	case fam == unix.AF_INET6 && n >= 24:
		b = append(b, ", sin6_port=htons("...)
		b = appendUint(b, uint64(binary.BigEndian.Uint16(p[2:])))
		b = append(b, "), sin6_flowinfo=htonl("...)
		b = appendUint(b, uint64(binary.BigEndian.Uint32(p[4:])))
		b = append(b, "), inet_pton(AF_INET6, \""...)
		b = netip.AddrFrom16([16]byte(p[8:24])).AppendTo(b)
		b = append(b, "\", &sin6_addr)"...)
		if n >= 28 {
			b = append(b, ", sin6_scope_id="...)
			b = appendUint(b, uint64(le.Uint32(p[24:])))
		}
	case fam == unix.AF_NETLINK && n >= 12:
		b = append(b, ", nl_pid="...)
		b = appendUint(b, uint64(le.Uint32(p[4:])))
		b = append(b, ", nl_groups="...)
		b = appendHex(b, uint64(le.Uint32(p[8:])))
	default:
		if len(p) > 2 {
			b = appendQuoted(append(b, ", sa_data="...), p[2:], false)
		}
	}
	e.buf = append(b, '}')
}

// appendSigset shows a sigset like strace: [INT TERM], or ~[KILL STOP]
// when more than half of the signals are in it.
func (e *Event) appendSigset(addr, size uint64) {
	if addr == 0 {
		e.buf = append(e.buf, "NULL"...)
		return
	}
	if size == 0 || size > maxSigset {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	p, ok := e.read(addr, int(size))
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	e.buf = appendSigsetBits(e.buf, p)
}

func appendSigsetBits(b []byte, p []byte) []byte {
	nsig := len(p) * 8
	set := 0
	for _, c := range p {
		for ; c != 0; c &= c - 1 {
			set++
		}
	}
	inv := set*2 > nsig
	if inv {
		b = append(b, '~')
	}
	b = append(b, '[')
	first := true
	for sig := 1; sig <= nsig; sig++ {
		in := p[(sig-1)/8]>>((sig-1)%8)&1 != 0
		if in == inv {
			continue
		}
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = appendSigName(b, sig)
	}
	return append(b, ']')
}

// appendSigaction decodes the kernel's struct sigaction on x86-64:
// handler, flags, restorer, mask.
func (e *Event) appendSigaction(addr, sigsetsize uint64) {
	if sigsetsize == 0 || sigsetsize > maxSigset {
		sigsetsize = 8
	}
	p, ok := e.read(addr, 24+int(sigsetsize))
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	handler, flags, restorer := le.Uint64(p), le.Uint64(p[8:]), le.Uint64(p[16:])
	b := append(e.buf, "{sa_handler="...)
	switch handler {
	case 0:
		b = append(b, "SIG_DFL"...)
	case 1:
		b = append(b, "SIG_IGN"...)
	default:
		b = appendPtr(b, handler)
	}
	b = appendSigsetBits(append(b, ", sa_mask="...), p[24:])
	b = appendFlags(append(b, ", sa_flags="...), flags, saFlags, "")
	if flags&saRestorer != 0 {
		b = appendPtr(append(b, ", sa_restorer="...), restorer)
	}
	e.buf = append(b, '}')
}

// appendWaitStatus shows a wait status the guest reads, as strace does.
func appendWaitStatus(b []byte, s uint32) []byte {
	ws := unix.WaitStatus(s)
	b = append(b, "[{"...)
	switch {
	case ws.Exited():
		b = append(b, "WIFEXITED(s) && WEXITSTATUS(s) == "...)
		b = appendUint(b, uint64(ws.ExitStatus()))
	case ws.Stopped():
		b = append(b, "WIFSTOPPED(s) && WSTOPSIG(s) == "...)
		b = appendSignal(b, uint64(ws.StopSignal()))
		if ev := s >> 16; ev != 0 { // a PTRACE_EVENT_* stop
			b = append(b, " && s>>16 == "...)
			b = appendUint(b, uint64(ev))
		}
	case ws.Continued():
		b = append(b, "WIFCONTINUED(s)"...)
	default:
		b = append(b, "WIFSIGNALED(s) && WTERMSIG(s) == "...)
		b = appendSignal(b, uint64(s&0x7f))
		if s&0x80 != 0 {
			b = append(b, " && WCOREDUMP(s)"...)
		}
	}
	return append(b, "}]"...)
}

// appendPollfds shows struct pollfd[n]: events at the entry, the entries
// with revents (ready of them) after the result.
func (e *Event) appendPollfds(addr, n uint64, revents bool, ready int) {
	if addr == 0 {
		e.buf = append(e.buf, "NULL"...)
		return
	}
	n = uint64(uint32(n))
	show := min(n, maxArrayItems)
	p, ok := e.read(addr, int(show*8))
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	b := append(e.buf, '[')
	first := true
	for j := uint64(0); j < show; j++ {
		fd := int32(le.Uint32(p[j*8:]))
		ev, rev := uint64(le.Uint16(p[j*8+4:])), uint64(le.Uint16(p[j*8+6:]))
		if revents && rev == 0 {
			continue
		}
		if !first {
			b = append(b, ", "...)
		}
		first = false
		b = appendInt(append(b, "{fd="...), int64(fd))
		if revents {
			b = appendFlags(append(b, ", revents="...), rev, pollEvents, "")
		} else {
			b = appendFlags(append(b, ", events="...), ev, pollEvents, "")
		}
		b = append(b, '}')
	}
	if n > show {
		b = append(b, ", ..."...)
	}
	e.buf = append(b, ']')
}

// appendIovecs shows struct iovec[n] with the contents of each buffer;
// total < 0 shows the whole of each (writev), otherwise only the first
// total bytes (readv's result).
func (e *Event) appendIovecs(addr, n uint64, total int64) {
	if addr == 0 {
		e.buf = append(e.buf, "NULL"...)
		return
	}
	n = uint64(uint32(n))
	show := min(n, maxArrayItems)
	if cap(e.tmp2) < int(show*16) {
		e.tmp2 = make([]byte, show*16)
	}
	p, ok := e.read(addr, int(show*16))
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	iov := append(e.tmp2[:0], p...) // e.tmp is reused for the contents
	e.buf = append(e.buf, '[')
	for j := uint64(0); j < show; j++ {
		base, l := le.Uint64(iov[j*16:]), le.Uint64(iov[j*16+8:])
		if j > 0 {
			e.buf = append(e.buf, ", "...)
		}
		e.buf = append(e.buf, "{iov_base="...)
		want := l
		if total >= 0 {
			want = min(l, uint64(total))
			total -= int64(want)
		}
		e.appendBuf(base, want)
		e.buf = append(e.buf, ", iov_len="...)
		e.buf = appendUint(e.buf, l)
		e.buf = append(e.buf, '}')
	}
	if n > show {
		e.buf = append(e.buf, ", ..."...)
	}
	e.buf = append(e.buf, ']')
}

// appendEpollEvents shows n packed struct epoll_event (12 bytes on x86-64).
func (e *Event) appendEpollEvents(addr, n uint64, array bool) {
	if addr == 0 {
		e.buf = append(e.buf, "NULL"...)
		return
	}
	show := min(n, maxArrayItems)
	p, ok := e.read(addr, int(show*12))
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	b := e.buf
	if array {
		b = append(b, '[')
	}
	for j := uint64(0); j < show; j++ {
		if j > 0 {
			b = append(b, ", "...)
		}
		ev, data := uint64(le.Uint32(p[j*12:])), le.Uint64(p[j*12+4:])
		b = appendFlags(append(b, "{events="...), ev, epollEvents, "")
		b = appendUint(append(b, ", data={u32="...), uint64(uint32(data)))
		b = appendUint(append(b, ", u64="...), data)
		b = append(b, "}}"...)
	}
	if array {
		if n > show {
			b = append(b, ", ..."...)
		}
		b = append(b, ']')
	}
	e.buf = b
}

func appendRlim(b []byte, v uint64) []byte {
	switch {
	case v == ^uint64(0):
		return append(b, "RLIM64_INFINITY"...)
	case v > 1024 && v%1024 == 0: // as strace: 1024, 2*1024
		return append(appendUint(b, v/1024), "*1024"...)
	}
	return appendUint(b, v)
}

func (e *Event) appendRlimit(addr uint64) {
	p, ok := e.read(addr, 16)
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	b := appendRlim(append(e.buf, "{rlim_cur="...), le.Uint64(p))
	b = appendRlim(append(b, ", rlim_max="...), le.Uint64(p[8:]))
	e.buf = append(b, '}')
}

func appendFileMode(b []byte, mode uint64) []byte {
	if name, ok := lookupFlag(mode&unix.S_IFMT, fileTypes); ok {
		b = append(append(b, name...), '|')
	}
	return appendOctal(b, mode&^unix.S_IFMT)
}

// appendStat shows struct stat (x86-64 layout) as strace does by default:
// {st_mode=S_IFREG|0644, st_size=1221, ...}.
func (e *Event) appendStat(addr uint64) {
	p, ok := e.read(addr, 64)
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	mode := uint64(le.Uint32(p[24:]))
	b := appendFileMode(append(e.buf, "{st_mode="...), mode)
	if t := mode & unix.S_IFMT; t == unix.S_IFCHR || t == unix.S_IFBLK {
		rdev := le.Uint64(p[40:])
		b = appendHex(append(b, ", st_rdev=makedev("...), uint64(unix.Major(rdev)))
		b = appendHex(append(b, ", "...), uint64(unix.Minor(rdev)))
		b = append(b, ')')
	} else {
		b = appendInt(append(b, ", st_size="...), int64(le.Uint64(p[48:])))
	}
	e.buf = append(b, ", ...}"...)
}

// appendStatx shows the start of struct statx.
func (e *Event) appendStatx(addr uint64) {
	p, ok := e.read(addr, 48)
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	b := appendHex(append(e.buf, "{stx_mask="...), uint64(le.Uint32(p)))
	b = appendHex(append(b, ", stx_attributes="...), le.Uint64(p[8:]))
	b = appendFileMode(append(b, ", stx_mode="...), uint64(le.Uint16(p[28:])))
	b = appendUint(append(b, ", stx_size="...), le.Uint64(p[40:]))
	e.buf = append(b, ", ...}"...)
}

func (e *Event) appendUname(addr uint64) {
	p, ok := e.read(addr, 2*65)
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	field := func(b, f []byte) []byte {
		for j, c := range f {
			if c == 0 {
				f = f[:j]
				break
			}
		}
		return appendQuoted(b, f, false)
	}
	b := field(append(e.buf, "{sysname="...), p[:65])
	b = field(append(b, ", nodename="...), p[65:130])
	e.buf = append(b, ", ...}"...)
}

// appendCPUSet lists the CPUs in a cpu_set_t: [0 1].
func (e *Event) appendCPUSet(addr, size uint64) {
	if size == 0 || size > maxCPUSet {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	p, ok := e.read(addr, int(size))
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	b := append(e.buf, '[')
	first := true
	for j, c := range p {
		for bit := 0; bit < 8; bit++ {
			if c>>bit&1 == 0 {
				continue
			}
			if !first {
				b = append(b, ' ')
			}
			first = false
			b = appendUint(b, uint64(j*8+bit))
		}
	}
	e.buf = append(b, ']')
}

// readPtrs reads the NULL-terminated pointer array at addr, at most max
// entries, in page-bounded chunks. It returns the entries before the NULL
// (or the first max, or those before an unreadable page) and whether the
// first read succeeded. The slice is e.ptrs, valid until the next call.
func (e *Event) readPtrs(addr uint64, max int) ([]uint64, bool) {
	e.ptrs = e.ptrs[:0]
	for len(e.ptrs) < max {
		n := min((4096-int(addr%4096))/8, 64, max-len(e.ptrs))
		if n == 0 { // a misaligned pointer straddling a page
			n = 1
		}
		p, ok := e.read(addr, n*8)
		if !ok && len(p) < 8 {
			return e.ptrs, len(e.ptrs) > 0
		}
		for j := 0; j+8 <= len(p); j += 8 {
			v := le.Uint64(p[j:])
			if v == 0 {
				return e.ptrs, true
			}
			e.ptrs = append(e.ptrs, v)
		}
		if !ok {
			break
		}
		addr += uint64(n * 8)
	}
	return e.ptrs, true
}

// appendArgv shows a NULL-terminated array of strings: ["ls", "-l"].
func (e *Event) appendArgv(addr uint64) {
	if addr == 0 {
		e.buf = append(e.buf, "NULL"...)
		return
	}
	ptrs, ok := e.readPtrs(addr, maxArrayItems+1)
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	e.buf = append(e.buf, '[')
	for j, ptr := range ptrs {
		if j > 0 {
			e.buf = append(e.buf, ", "...)
		}
		if j == maxArrayItems {
			e.buf = append(e.buf, "..."...)
			break
		}
		e.appendStr(ptr, e.limit)
	}
	e.buf = append(e.buf, ']')
}

// appendEnvp shows an environment array as strace does: 0x... /* 3 vars */.
func (e *Event) appendEnvp(addr uint64) {
	e.buf = appendPtr(e.buf, addr)
	if addr == 0 {
		return
	}
	ptrs, ok := e.readPtrs(addr, maxEnvCount)
	if !ok {
		return
	}
	e.buf = appendInt(append(e.buf, " /* "...), int64(len(ptrs)))
	if len(ptrs) == 1 {
		e.buf = append(e.buf, " var */"...)
	} else {
		e.buf = append(e.buf, " vars */"...)
	}
}

// appendCloneArgs shows struct clone_args (clone3) with the fields strace
// shows, and remembers where the parent's tid goes.
func (e *Event) appendCloneArgs(i int, addr, size uint64) {
	e.saved[i] = 0
	if size < 64 || size > 4096 {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	p, ok := e.read(addr, int(min(size, 88)))
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	f := func(j int) uint64 {
		if (j+1)*8 > len(p) {
			return 0
		}
		return le.Uint64(p[j*8:])
	}
	flags := f(0)
	b := appendFlags(append(e.buf, "{flags="...), flags, clone3Flags, "")
	if flags&unix.CLONE_PIDFD != 0 {
		b = appendPtr(append(b, ", pidfd="...), f(1))
	}
	if flags&(unix.CLONE_CHILD_SETTID|unix.CLONE_CHILD_CLEARTID) != 0 {
		b = appendPtr(append(b, ", child_tid="...), f(2))
	}
	if flags&unix.CLONE_PARENT_SETTID != 0 {
		b = appendPtr(append(b, ", parent_tid="...), f(3))
		e.saved[i] = f(3)
	}
	b = append(b, ", exit_signal="...)
	if sig := f(4); sig != 0 {
		b = appendSignal(b, sig)
	} else {
		b = append(b, '0')
	}
	b = appendPtr(append(b, ", stack="...), f(5))
	b = appendHex(append(b, ", stack_size="...), f(6))
	if flags&unix.CLONE_SETTLS != 0 {
		b = appendPtr(append(b, ", tls="...), f(7))
	}
	if n := f(9); n != 0 {
		b = appendPtr(append(b, ", set_tid="...), f(8))
		b = appendUint(append(b, ", set_tid_size="...), n)
	}
	if flags&unix.CLONE_INTO_CGROUP != 0 {
		b = appendUint(append(b, ", cgroup="...), f(10))
	}
	e.buf = append(b, '}')
}

// appendOpenHow shows struct open_how (openat2).
func (e *Event) appendOpenHow(addr, size uint64) {
	if size < 24 {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	p, ok := e.read(addr, 24)
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	flags, mode, resolve := le.Uint64(p), le.Uint64(p[8:]), le.Uint64(p[16:])
	b := append(e.buf, "{flags="...)
	b = appendEnum(b, flags&3, openAccmode, true)
	if rest := flags &^ 3; rest != 0 {
		b = appendFlags(append(b, '|'), rest, openFlags, "")
	}
	if flags&(unix.O_CREAT|unix.O_TMPFILE) != 0 || mode != 0 {
		b = appendOctal(append(b, ", mode="...), mode)
	}
	if resolve != 0 {
		b = appendFlags(append(b, ", resolve="...), resolve, resolveFlags, "")
	}
	e.buf = append(b, '}')
}

func (e *Event) appendInt32Ptr(addr uint64) {
	if addr == 0 {
		e.buf = append(e.buf, "NULL"...)
		return
	}
	v, ok := e.readU32(addr)
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	e.buf = appendInt(append(e.buf, '['), int64(int32(v)))
	e.buf = append(e.buf, ']')
}
