package syscalls

// DefaultLimit is the default number of bytes of a string or buffer shown
// (strace -s 32).
const DefaultLimit = 32

// pathMax bounds how much of a path is read (PATH_MAX).
const pathMax = 4096

// Printer formats system calls. The zero value shows DefaultLimit bytes of
// strings and buffers. A Printer is not changed by formatting and may be
// shared between goroutines.
type Printer struct {
	// Limit is how many bytes of a string or buffer are shown (strace -s);
	// zero means DefaultLimit.
	Limit int
}

func (p *Printer) limit() int {
	if p == nil || p.Limit <= 0 {
		return DefaultLimit
	}
	return p.Limit
}

// Event is one system call of one thread being formatted: its number,
// arguments and (after Exit) result, and the text of its decoded
// arguments. Reuse one Event per thread: its buffers are kept between calls.
type Event struct {
	Arch Arch
	Nr   int
	Args [6]uint64
	// Ret is the raw result (negative errno on failure), valid if Exited.
	Ret    int64
	Exited bool

	info   *Info // nil for an unnamed number
	sig    []Arg
	buf    []byte     // argument text
	seg    [6]segment // text of each shown argument in buf
	saved  [6]uint64  // values read at entry for in/out arguments
	suffix segment    // text after the result: " (Timeout)"
	mem    Memory     // during Enter and Exit only
	limit  int        // during Enter and Exit only
	tmp    []byte     // scratch for memory reads
	tmp2   []byte     // second scratch (iovec arrays)
	ptrs   []uint64   // pointer arrays (argv, envp)
	_      [0]func()  // not comparable
}

// segment is a range of Event.buf; s < 0 means the argument is hidden.
type segment struct{ s, e int32 }

// Info returns the description of the call, or nil for an unnamed number.
func (e *Event) Info() *Info { return e.info }

// Name returns the call's name, or "" for an unnamed number.
func (e *Event) Name() string {
	if e.info == nil {
		return ""
	}
	return e.info.Name
}

// Enter starts formatting call nr of arch with args at its entry stop,
// decoding its in-arguments from mem (which may be nil: pointers are then
// shown as addresses).
func (p *Printer) Enter(e *Event, mem Memory, arch Arch, nr int, args [6]uint64) {
	e.Arch, e.Nr, e.Args, e.Ret, e.Exited = arch, nr, args, 0, false
	e.buf = e.buf[:0]
	e.suffix = segment{-1, -1}
	e.info = Lookup(arch, nr)
	if arch == I386 {
		for i := range e.Args {
			e.Args[i] &= 0xffffffff
		}
	}
	if e.info != nil {
		e.sig = e.info.signature(&e.Args)
	} else {
		e.sig = hexArgs
	}
	e.mem, e.limit = mem, p.limit()
	for i := range e.sig {
		a := &e.sig[i]
		e.saved[i] = 0
		if a.When != 0 && e.Args[a.WhenArg]&a.When == 0 {
			e.seg[i] = segment{-1, -1}
			continue
		}
		s := len(e.buf)
		if a.Name != "" {
			e.buf = append(e.buf, a.Name...)
			e.buf = append(e.buf, '=')
		}
		e.formatIn(i, a)
		e.seg[i] = segment{int32(s), int32(len(e.buf))}
	}
	e.mem = nil
}

// Exit records the result ret of the call started with Enter and decodes
// its out-arguments from mem.
func (p *Printer) Exit(e *Event, mem Memory, ret int64) {
	e.Ret, e.Exited = ret, true
	e.mem, e.limit = mem, p.limit()
	for i := range e.sig {
		a := &e.sig[i]
		if e.seg[i].s < 0 || !hasExitPhase(a.Kind) {
			continue
		}
		old := e.seg[i]
		s := len(e.buf)
		if a.Name != "" && !extendsAtExit(a.Kind) {
			e.buf = append(e.buf, a.Name...)
			e.buf = append(e.buf, '=')
		}
		if e.formatOut(i, a, old) {
			e.seg[i] = segment{int32(s), int32(len(e.buf))}
		} else {
			e.buf = e.buf[:s]
		}
	}
	s := len(e.buf)
	e.formatSuffix()
	if len(e.buf) > s {
		e.suffix = segment{int32(s), int32(len(e.buf))}
	}
	e.mem = nil
}

// AppendCall appends "name(args)" to dst. Calls through a foreign ABI are
// prefixed with it ("i386:getpid()"); an unnamed number shows as
// "syscall_NNN".
func (e *Event) AppendCall(dst []byte) []byte {
	if e.Arch != X86_64 {
		dst = append(dst, e.Arch.String()...)
		dst = append(dst, ':')
	}
	if e.info != nil {
		dst = append(dst, e.info.Name...)
	} else {
		dst = append(dst, "syscall_"...)
		dst = appendInt(dst, int64(e.Nr))
	}
	dst = append(dst, '(')
	first := true
	for i := range e.sig {
		sg := e.seg[i]
		if sg.s < 0 {
			continue
		}
		if !first {
			dst = append(dst, ", "...)
		}
		first = false
		dst = append(dst, e.buf[sg.s:sg.e]...)
	}
	return append(dst, ')')
}

// AppendResult appends the result part: "3", "-1 ENOENT (No such file or
// directory)", "0x7f0000000000", "0 (Timeout)"; "?" if the call has not
// returned.
func (e *Event) AppendResult(dst []byte) []byte {
	if !e.Exited {
		return append(dst, '?')
	}
	if IsError(e.Ret) {
		return appendErrno(dst, int(-e.Ret))
	}
	ret := RetInt
	if e.info != nil {
		ret = e.info.Ret
	}
	switch ret {
	case RetHex:
		dst = appendHex(dst, uint64(e.Ret))
	case RetOctal:
		dst = appendOctal(dst, uint64(e.Ret))
	case RetNone:
		dst = append(dst, '?')
	default:
		dst = appendInt(dst, e.Ret)
	}
	if e.suffix.s >= 0 {
		dst = append(dst, e.buf[e.suffix.s:e.suffix.e]...)
	}
	return dst
}

// AppendTo appends the whole line without a newline: "name(args) = result".
func (e *Event) AppendTo(dst []byte) []byte {
	dst = e.AppendCall(dst)
	dst = append(dst, " = "...)
	return e.AppendResult(dst)
}

// String returns AppendTo's text.
func (e *Event) String() string { return string(e.AppendTo(nil)) }

// Format formats one recorded call: entry and exit decoded from the same
// memory. It is meant for tests and for events recorded elsewhere.
func (p *Printer) Format(mem Memory, arch Arch, nr int, args [6]uint64, ret int64) string {
	var e Event
	p.Enter(&e, mem, arch, nr, args)
	p.Exit(&e, mem, ret)
	return e.String()
}

// read reads n bytes at addr into the scratch buffer. It returns what was
// read and whether all of it could be.
func (e *Event) read(addr uint64, n int) ([]byte, bool) {
	if e.mem == nil || addr == 0 || n < 0 {
		return nil, false
	}
	if cap(e.tmp) < n {
		e.tmp = make([]byte, n, max(n, 256))
	}
	b := e.tmp[:n]
	got, err := e.mem.ReadAt(b, int64(addr))
	if got < 0 || got > n {
		got = 0
	}
	return b[:got], err == nil && got == n
}

// readString reads a NUL-terminated string of at most max bytes at addr
// without reading across a page it does not need. It returns the bytes
// before the NUL, whether more followed (no NUL within max bytes) and
// whether anything could be read.
func (e *Event) readString(addr uint64, max int) (s []byte, more, ok bool) {
	if e.mem == nil || addr == 0 {
		return nil, false, false
	}
	if cap(e.tmp) < max+1 {
		e.tmp = make([]byte, 0, max+1)
	}
	buf := e.tmp[:0]
	want := max + 1 // one more to know whether the string goes on
	for len(buf) < want {
		n := min(4096-int(addr%4096), want-len(buf))
		chunk := buf[len(buf) : len(buf)+n]
		got, _ := e.mem.ReadAt(chunk, int64(addr))
		if got < 0 || got > n {
			got = 0
		}
		for i := 0; i < got; i++ {
			if chunk[i] == 0 {
				return buf[:len(buf)+i], false, true
			}
		}
		buf = buf[:len(buf)+got]
		if got < n {
			return buf, false, len(buf) > 0
		}
		addr += uint64(got)
	}
	return buf[:max], true, true
}

// appendBuf appends n bytes at addr quoted, cut at the limit, or the
// address if they cannot be read.
func (e *Event) appendBuf(addr uint64, n uint64) {
	if addr == 0 {
		e.buf = append(e.buf, "NULL"...)
		return
	}
	show := n
	if show > uint64(e.limit) {
		show = uint64(e.limit)
	}
	b, ok := e.read(addr, int(show))
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	e.buf = appendQuoted(e.buf, b, n > show)
}

// appendStr appends the string at addr quoted, cut at max bytes, or the
// address if it cannot be read.
func (e *Event) appendStr(addr uint64, max int) {
	if addr == 0 {
		e.buf = append(e.buf, "NULL"...)
		return
	}
	s, more, ok := e.readString(addr, max)
	if !ok {
		e.buf = appendPtr(e.buf, addr)
		return
	}
	e.buf = appendQuoted(e.buf, s, more)
}

// failed reports whether the call failed, so out-arguments stay addresses.
func (e *Event) failed() bool { return IsError(e.Ret) }
