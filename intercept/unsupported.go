package intercept

// UnsupportedError ends a run whose guest did something the tracer cannot
// follow: it is a property of the program, not a failure of the tracer
// (Run has killed and reaped the guest, as after any error).
type UnsupportedError struct {
	What string // "i386 program /opt/old/tool"
}

func (e *UnsupportedError) Error() string { return "unsupported: " + e.What }
