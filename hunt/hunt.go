package hunt

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept/sandbox"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
)

// Program is the program a hunt runs, named as the user named it.
type Program struct {
	Name   string   // as typed: a seed file's target
	Path   string   // where it is (ResolveTarget)
	Args   []string // argv, Args[0] included
	Env    []string // its environment, recorded in seed files (redacted)
	Dir    string   // the working directory it is run in and recorded with ("": ours, not recorded)
	SHA256 string   // of the file at Path
	// RecordEnv, if non-nil, is the environment seed files record
	// instead of Env: a corpus kept in version control records only
	// what the program needs (schedtest: its child marker), and its
	// replays add the replaying environment.
	RecordEnv []string
}

// NewProgram resolves name (ResolveTarget: its errors are InputErrors)
// and hashes it (a large file's hash is kept on disk by its identity:
// programSHA256). args is argv, args[0] included; the program runs with
// env in the working directory dir ("": ours, recorded as such).
func NewProgram(name string, args, env []string, dir string) (*Program, error) {
	path, err := ResolveTarget(name)
	if err != nil {
		return nil, err
	}
	sum, err := programSHA256(path)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir, _ = os.Getwd()
	}
	return &Program{Name: name, Path: path, Args: args, Env: env, Dir: dir, SHA256: sum}, nil
}

// Target is what explore runs. The guest inherits our working directory
// when it is the program's (the CLI's case), else runs in Dir.
func (p *Program) Target() *explore.Target {
	t := &explore.Target{Path: p.Path, Args: p.Args, Env: p.Env}
	if wd, _ := os.Getwd(); wd != p.Dir {
		t.Dir = p.Dir
	}
	return t
}

// Hunt is the settings of a search for failures in one program, and the
// pipeline that turns a failing run into a saved, minimized, explained
// failure (Failure). Its fields are set before the first run and not
// changed after: runs and the pipeline read them.
type Hunt struct {
	Program *Program
	Tool    string       // the seed files' tool line ("schedfuzz 0.2")
	Store   replay.Store // where seed files go
	// Classify decides what a failing run is; seed files record it
	// (expect-exit, failure, ignore) so that replays judge alike.
	Classify explore.Classifier
	Points   *Points // parsed (Points.Parse)

	Timeout  time.Duration // a run's limit (explore.Config.Timeout)
	CPUs     int           // the CPU count the guest sees
	Faults   bool          // fuzz syscall results too
	MaxSteps int           // end a run as a livelock after this many decisions (0: no limit)
	Epoch    int64         // the guest's realtime clock at a run's start, Unix seconds (0: sched.DefaultEpoch)
	// LoneAfter lets a thread alone this many points pass its function
	// points (explore.Config.LoneAfter; 0: every point stops).
	LoneAfter int
	Symbols   *symbols.Cache

	// Sandbox, if set, runs each run in namespaces of its own; HostNet
	// says it kept the host's network. Stdin is the guest's standard
	// input file ("": /dev/null), StdinSHA256 its hash.
	Sandbox            *sandbox.Pool
	HostNet            bool
	Stdin, StdinSHA256 string

	// Minimize makes Failure minimize a failure and find its critical
	// pair (explore.Minimizer), within MinimizeTime (0: the default).
	Minimize     bool
	MinimizeTime time.Duration
	// Verbose makes Failure log its progress, not only its problems.
	Verbose bool
	Hooks   Hooks

	// tsc is what the hunt's runs learn of the program: set once one had
	// to be made again with rdtsc trapped (a JIT), later runs trap from
	// the start (explore.Config.TSCLearned).
	tsc atomic.Bool
}

// SessionEpoch is where the guests' realtime clock starts in the runs of
// a session begun at now (Hunt.Epoch): midnight (UTC) two days after
// now. A guest's clock must not be behind the times of the files it
// sees, those it makes included (the kernel stamps them with the real
// time: make warns of clock skew and rebuilds what it should not). Whole
// days keep it the same for the sessions of a day; seed files record it,
// so that replays start their clocks there too.
func SessionEpoch(now time.Time) int64 {
	const day = 24 * 60 * 60
	return (now.Unix()/day + 2) * day
}

// Config completes a run's configuration with the hunt's settings.
func (h *Hunt) Config(cfg explore.Config) explore.Config {
	cfg.Timeout, cfg.CPUs, cfg.Faults, cfg.MaxSteps, cfg.Symbols = h.Timeout, h.CPUs, h.Faults, h.MaxSteps, h.Symbols
	cfg.Epoch, cfg.LoneAfter = h.Epoch, h.LoneAfter
	cfg.Sandbox, cfg.StdinFile, cfg.Behavior = h.Sandbox, h.Stdin, true
	cfg.TSCLearned = &h.tsc
	h.Points.Apply(&cfg)
	return cfg
}

// RunConfig is the configuration of a run derived from run rep's result
// r (r is rep.Result or its minimization): the same seed, strategy, spin
// sites and points (unpinned). Callers add what they derive: a
// Replay trace, a Timeline.
func (h *Hunt) RunConfig(rep *explore.RunReport, r *explore.Result) explore.Config {
	cfg := h.Config(explore.Config{Seed: rep.Seed, Strategy: rep.Strategy, Spins: r.Spins})
	h.Points.ApplyRun(&cfg, r)
	return cfg
}

// SeedFile records run rep's result r. A hang's seed records the steps
// it was cut at as its max-steps: its replay stops there too.
func (h *Hunt) SeedFile(rep *explore.RunReport, r *explore.Result) *replay.SeedFile {
	maxSteps := h.MaxSteps
	if n := r.ReplaySteps(); n > 0 {
		maxSteps = n
	}
	p := h.Program
	sf := &replay.SeedFile{Tool: h.Tool, Target: p.Name, SHA256: p.SHA256, Args: p.Args[1:],
		Dir: p.Dir, Env: replay.RecordEnv(p.recordEnv()),
		Seed: rep.Seed, Run: rep.Index, Strategy: rep.Strategy.String(), CPUs: h.CPUs,
		Faults: h.Faults, MaxSteps: maxSteps, Epoch: h.Epoch, LoneAfter: h.LoneAfter, Points: h.Points.Record(r.Points, &r.Outcome), Spins: r.Spins,
		ExpectExit: h.recordedExpect(), Hermetic: h.hermeticKey(), Net: h.netKey(), Stdin: h.Stdin, StdinSHA256: h.StdinSHA256,
		Behavior: behaviorOf(r), Outside: r.Outside,
		Outcome: r.Describe(), Signature: explore.Signature(r), Digest: replay.Digest(r.Decisions), Decisions: r.Decisions}
	if h.Classify.Failure != nil {
		sf.Failure = h.Classify.Failure.String()
	}
	if h.Classify.Ignore != nil {
		sf.Ignore = h.Classify.Ignore.String()
	}
	return sf
}

func (p *Program) recordEnv() []string {
	if p.RecordEnv != nil {
		return p.RecordEnv
	}
	return p.Env
}

// recordedExpect is the expected exit statuses for the seed file: nil
// for the default (success is exit 0), which seed files leave out.
func (h *Hunt) recordedExpect() []int {
	if len(h.Classify.ExpectExit) == 1 && h.Classify.ExpectExit[0] == 0 {
		return nil
	}
	return h.Classify.ExpectExit
}

// hermeticKey is a seed file's hermetic value.
func (h *Hunt) hermeticKey() string {
	if h.Sandbox == nil {
		return "no"
	}
	return "yes"
}

// netKey is a seed file's net value: "host" for a sandboxed run that kept
// the host's network.
func (h *Hunt) netKey() string {
	if h.Sandbox != nil && h.HostNet {
		return "host"
	}
	return ""
}

// behaviorOf is the behaviour a run recorded (none if it was not).
func behaviorOf(r *explore.Result) replay.Behavior {
	if r.Behavior == nil {
		return replay.Behavior{}
	}
	return *r.Behavior
}

// RunError says whether a run's outcome stops a hunt: an *InputError for
// a program that does things schedfuzz does not support (a property of
// the program, not a failure of it), an error for schedfuzz's own
// failure, nil for every other outcome.
func RunError(rep *explore.RunReport) error {
	if rep.Err != nil {
		return fmt.Errorf("run %d: %w", rep.Index, rep.Err)
	}
	o := &rep.Result.Outcome
	switch o.Kind {
	case sched.Unsupported:
		return &InputError{ExitUsage, fmt.Sprintf("run %d: %s", rep.Index, o.Report)}
	case sched.Internal:
		return fmt.Errorf("run %d: %s", rep.Index, o.Report)
	}
	return nil
}
