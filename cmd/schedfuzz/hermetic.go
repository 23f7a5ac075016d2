package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/schedfuzz/schedfuzz/intercept/sandbox"
	"github.com/schedfuzz/schedfuzz/replay"
)

// worldFlags are -hermetic, -net and -stdin: the world a run sees.
type worldFlags struct {
	hermetic bool
	net      string
	stdin    string

	stdinPath string // -stdin, absolute
	stdinSum  string // its SHA-256
}

func (w *worldFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&w.hermetic, "hermetic", true, "run each run in namespaces of its own: fresh /tmp, /var/tmp and /dev/shm, a copy-on-write working directory, pid 2, host name schedfuzz, loopback-only network")
	fs.StringVar(&w.net, "net", "private", "the runs' network with -hermetic: private (loopback only) or host")
	fs.StringVar(&w.stdin, "stdin", "", "a file the guest reads as standard input (default /dev/null); its SHA-256 is recorded")
}

// parse checks the flags; errors are usage errors.
func (w *worldFlags) parse() error {
	switch w.net {
	case "private", "host":
	default:
		return usageErr("-net %q: want private or host", w.net)
	}
	if w.stdin == "" {
		return nil
	}
	p, err := filepath.Abs(w.stdin)
	if err != nil {
		return usageErr("-stdin: %v", err)
	}
	if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
		return usageErr("-stdin %s: not a readable file", w.stdin)
	}
	if w.stdinSum, err = replay.FileSHA256(p); err != nil {
		return usageErr("-stdin: %v", err)
	}
	w.stdinPath = p
	return nil
}

// needUserNS reports whether sandboxes need this process to run again in
// a user namespace of its own (sandbox.Reexec): it lacks the privilege,
// and is not already the process Reexec started. It probes (a throwaway
// thread tries unshare), which costs as much as checking a session's
// flags: a session asks only if it lacks CAP_SYS_ADMIN (lacksPrivilege)
// or its sandbox could not be made.
func needUserNS() bool { return !sandbox.InOwnUserNS() && !sandbox.Privileged() }

// lacksPrivilege reports, without a probe, that sandboxes certainly need
// this process to run again in a user namespace of its own.
func lacksPrivilege() bool { return !sandbox.InOwnUserNS() && sandbox.Unprivileged() }

// reexec runs the whole command again in a user namespace of our own. ok
// is false if the kernel refuses (then runs are not sandboxed, and the
// sandbox's error says so).
func reexec() (code int, ok bool) {
	code, err := sandbox.Reexec()
	if err != nil {
		return 0, false
	}
	return code, true
}

// sandboxReady takes what sandbox.New returned for a session or replay. If
// namespaces are unavailable it says so once on stderr and returns nil:
// the runs go on without, and their seed files say hermetic: no.
func sandboxReady(p *sandbox.Pool, err error, stderr io.Writer) (*sandbox.Pool, error) {
	var ue *sandbox.UnavailableError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "schedfuzz: hermetic runs unavailable (%v): runs share this machine's /tmp, network and pids (-hermetic=false says you know)\n", ue.Err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, n := range p.Notes() {
		fmt.Fprintf(stderr, "schedfuzz: note: %s\n", n)
	}
	return p, nil
}
