package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/schedfuzz/schedfuzz/explore"
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
// and is not already the process Reexec started.
func needUserNS() bool { return !sandbox.Privileged() && !sandbox.InOwnUserNS() }

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

// openSandbox makes the sandbox of a session or replay. If namespaces are
// unavailable it says so once on stderr and returns nil: the runs go on
// without, and their seed files say hermetic: no.
func openSandbox(cfg sandbox.Config, stderr io.Writer) (*sandbox.Pool, error) {
	p, err := sandbox.New(cfg)
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

// hermeticKey is a seed file's hermetic value for a run with pool p.
func hermeticKey(p *sandbox.Pool) string {
	if p == nil {
		return "no"
	}
	return "yes"
}

// netKey is a seed file's net value: "host" for a sandboxed run that kept
// the host's network.
func netKey(p *sandbox.Pool, net string) string {
	if p != nil && net == "host" {
		return "host"
	}
	return ""
}

// recordedStdin gives a replay the recorded standard input. It returns why
// the seed cannot be replayed ("" if it can); a file that changed since is
// a note.
func recordedStdin(sf *replay.SeedFile, cfg *explore.Config, res *replayed) string {
	if sf.Stdin == "" {
		return ""
	}
	sum, err := replay.FileSHA256(sf.Stdin)
	if err != nil {
		return fmt.Sprintf("the recorded standard input %s cannot be read: %v", sf.Stdin, unwrapPathErr(err))
	}
	if sf.StdinSHA256 != "" && sum != sf.StdinSHA256 {
		res.notes = append(res.notes, fmt.Sprintf("the standard input %s changed since the seed was recorded (sha256 %.12s, recorded %.12s)", sf.Stdin, sum, sf.StdinSHA256))
	}
	cfg.StdinFile = sf.Stdin
	return ""
}

// replaySandbox makes the sandbox a seed recorded in one replays in (nil,
// with a note, where namespaces are unavailable).
func replaySandbox(sf *replay.SeedFile, path, dir string, res *replayed) (*sandbox.Pool, error) {
	p, err := sandbox.New(sandbox.Config{Dir: dir, Prog: path, CPUs: sf.CPUs, HostNet: sf.Net == "host"})
	var ue *sandbox.UnavailableError
	if errors.As(err, &ue) {
		res.notes = append(res.notes, fmt.Sprintf("the run was recorded in a sandbox, but %v: replaying without one", ue))
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	res.notes = append(res.notes, p.Notes()...)
	return p, nil
}

// behaviorOf is the behaviour a run recorded (none if it was not).
func behaviorOf(r *explore.Result) replay.Behavior {
	if r.Behavior == nil {
		return replay.Behavior{}
	}
	return *r.Behavior
}

// explainDivergence says where the program first behaved differently
// from the recorded run instead of the decision that diverged (the
// program's terms, not the scheduler's: the decision only follows from
// it), if the seed recorded its behaviour and the replay shows a
// difference before the divergence.
func explainDivergence(sf *replay.SeedFile, r *explore.Result, why string) string {
	if r.Behavior == nil {
		return why
	}
	d := replay.FirstDifference(&sf.Behavior, r.Behavior)
	if d == nil {
		return why
	}
	return d.Describe(r.Calls) + "; then replay diverged"
}
