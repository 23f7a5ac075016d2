//go:build !amd64

package syscalls

// On other architectures there are no tables: every call is syscall_N
// with hex arguments.

func table(Arch) []Info { return nil }

func hasExitPhase(Kind) bool   { return false }
func extendsAtExit(Kind) bool  { return false }
func (e *Event) formatSuffix() {}

func (e *Event) formatIn(i int, a *Arg) { e.buf = appendHex(e.buf, e.Args[a.reg(i)]) }

func (e *Event) formatOut(int, *Arg, segment) bool { return false }
