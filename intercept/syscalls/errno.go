package syscalls

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// maxErrno is the largest value the kernel returns as -errno.
const maxErrno = 4095

// errnoText holds the name and message of each errno with a name, built
// once: "ENOENT", "No such file or directory".
var errnoText = func() (t [134]struct{ name, msg string }) {
	for i := range t {
		e := unix.Errno(i)
		name := unix.ErrnoName(e)
		if i == 0 || name == "" {
			continue
		}
		msg := e.Error()
		if msg != "" && msg[0] >= 'a' && msg[0] <= 'z' {
			msg = string(msg[0]-'a'+'A') + msg[1:]
		}
		t[i] = struct{ name, msg string }{name, msg}
	}
	return t
}()

// The kernel-internal restart codes a tracer sees when a signal interrupts
// a call (include/linux/errno.h).
// Entry i is errno 512+i.
var restartText = [...]struct{ name, msg string }{
	{"ERESTARTSYS", "To be restarted if SA_RESTART is set"},
	{"ERESTARTNOINTR", "To be restarted"},
	{"ERESTARTNOHAND", "To be restarted if no handler"},
	{"ENOIOCTLCMD", "No ioctl command"},
	{"ERESTART_RESTARTBLOCK", "Interrupted by signal"},
}

// IsError reports whether a raw result is a failure (-4095..-1).
func IsError(ret int64) bool { return ret < 0 && ret >= -maxErrno }

// ErrnoName returns the symbolic name of errno e ("ENOENT"), or
// "ERRNO_N" for a number without one.
func ErrnoName(e int) string {
	if e > 0 && e < len(errnoText) && errnoText[e].name != "" {
		return errnoText[e].name
	}
	if e >= 512 && e-512 < len(restartText) {
		return restartText[e-512].name
	}
	return "ERRNO_" + strconv.Itoa(e)
}

// ErrnoValue is the inverse of ErrnoName for the errnos with a name
// ("EIO" -> 5).
func ErrnoValue(name string) (int, bool) {
	for e, t := range errnoText {
		if t.name == name && name != "" {
			return e, true
		}
	}
	return 0, false
}

// appendErrno appends a failed result like strace: "-1 ENOENT (No such
// file or directory)", or "? ERESTARTSYS (To be restarted if SA_RESTART is
// set)" for the kernel's restart codes.
func appendErrno(b []byte, e int) []byte {
	if e > 0 && e < len(errnoText) && errnoText[e].name != "" {
		b = append(b, "-1 "...)
		b = append(b, errnoText[e].name...)
		b = append(b, " ("...)
		b = append(b, errnoText[e].msg...)
		return append(b, ')')
	}
	if e >= 512 && e-512 < len(restartText) {
		b = append(b, "? "...)
		b = append(b, restartText[e-512].name...)
		b = append(b, " ("...)
		b = append(b, restartText[e-512].msg...)
		return append(b, ')')
	}
	b = append(b, "-1 ERRNO_"...)
	b = appendInt(b, int64(e))
	b = append(b, " (Unknown error "...)
	b = appendInt(b, int64(e))
	return append(b, ')')
}
