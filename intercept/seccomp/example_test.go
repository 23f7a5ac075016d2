package seccomp_test

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept/seccomp"
)

// A filter that stops at futex(2) and clone(2) for the tracer, lets every
// other native call run, and stops, tagged, at int $0x80 and x32 calls;
// Evaluate runs it as the kernel would. (seccomp.Install applies it to the
// calling thread, which its goroutine must be locked to.)
func ExampleFilter() {
	f := seccomp.Filter{
		Syscalls: map[uint32]seccomp.Action{
			unix.SYS_FUTEX: seccomp.Trace(0),
			unix.SYS_CLONE: seccomp.Trace(0),
		},
		Default:     seccomp.Allow,
		ForeignArch: seccomp.Trace(1),
		X32:         seccomp.Trace(2),
	}
	prog, err := f.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range []seccomp.SeccompData{
		seccomp.Native(unix.SYS_FUTEX),
		seccomp.Native(unix.SYS_GETPID),
		{Nr: 20, Arch: seccomp.AuditArchI386},
	} {
		a, err := seccomp.Evaluate(prog, d)
		fmt.Println(d.Nr, a, err)
	}
	// Output:
	// 202 trace(0) <nil>
	// 39 allow <nil>
	// 20 trace(1) <nil>
}
