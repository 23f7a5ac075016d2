package hunt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept/sandbox"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
)

// Verdict classifies one replayed seed.
type Verdict int

const (
	Reproduced Verdict = iota // the recorded failure reproduces
	Fixed                     // the run follows the trace and now passes
	Diverged                  // the program no longer follows the trace
)

func (v Verdict) String() string {
	switch v {
	case Reproduced:
		return "still failing"
	case Fixed:
		return "fixed"
	}
	return "diverged"
}

// Replayed is the result of replaying one seed.
type Replayed struct {
	Verdict Verdict
	Why     string          // for Diverged: what differed
	Run     *explore.Result // nil if the run was never started
	Notes   []string        // what may make the replay inexact
}

// ReplayOptions are a replay's settings beyond what its seed recorded.
type ReplayOptions struct {
	Timeout time.Duration // the run's limit (explore.Config.Timeout)
	// Points, if set (parsed), are the points the caller asks for: a
	// seed recorded with others diverges before its first decision.
	Points *Points
	// Timeline records the run's timeline (for a trace); Stacks
	// captures the threads' call stacks at their last points (for a
	// report: explore.Config.Stacks).
	Timeline, Stacks bool
	// Path, if set, is the program to run instead of the recorded
	// target (a test binary rebuilt at another path). It must hash to
	// the recorded SHA-256 for a strict replay.
	Path string
	// Env, if set, is the environment to run with instead of the
	// recorded one.
	Env []string
	// Changed says what to do when the program's SHA-256 is not the
	// recorded one: nil, a Diverged verdict without a run; else a
	// Decider the replay makes its decisions with (FollowPrefix: the
	// recorded trace while it applies).
	Changed func(recorded []sched.Decision) sched.Decider
}

// Replay replays one seed file with its recorded configuration and judges
// the run: Reproduced, Fixed or Diverged. An *InputError is a target that
// cannot be run (gone, not executable) or a guest schedfuzz does not
// support; any other error is schedfuzz's own failure. Cancelling ctx
// kills the run.
func Replay(ctx context.Context, sf *replay.SeedFile, opt ReplayOptions) (res *Replayed, err error) {
	res = &Replayed{}
	dir := sf.Dir
	path := opt.Path
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			res.Notes = append(res.Notes, fmt.Sprintf("the recorded working directory %s does not exist: replaying in the current one", dir))
			dir = ""
		}
	}
	if path == "" {
		target := sf.Target
		if dir != "" && strings.Contains(target, "/") && !filepath.IsAbs(target) {
			// A relative path as typed is relative to where it was typed.
			target = filepath.Join(dir, target)
		}
		if path, err = ResolveTarget(target); err != nil {
			return res, err
		}
	}
	sum, err := programSHA256(path)
	if err != nil {
		return res, err
	}
	var decider sched.Decider
	if sum != sf.SHA256 {
		if opt.Changed == nil {
			res.Verdict = Diverged
			res.Why = fmt.Sprintf("%s changed since the seed was recorded (the schedule may no longer apply)", filepath.Base(sf.Target)) +
				movedSites(path, sf.Points)
			return res, nil
		}
		decider = opt.Changed(sf.Decisions)
		res.Notes = append(res.Notes, fmt.Sprintf("%s changed since the seed was recorded: its schedule is followed as far as it applies", filepath.Base(sf.Target)))
	}
	pts, err := RecordedPoints(sf.Points)
	if err != nil {
		res.Verdict, res.Why = Diverged, err.Error()
		return res, nil
	}
	if opt.Points != nil && !opt.Points.Same(pts) {
		res.Verdict = Diverged
		res.Why = fmt.Sprintf("replay diverged before the first decision: the seed was recorded with %s, the replay asks for %s: the decision trace only applies to its own points", pts, opt.Points)
		return res, nil
	}
	if sf.Digest != "" && sf.Digest != replay.Digest(sf.Decisions) {
		res.Notes = append(res.Notes, "the decisions differ from the recorded digest (edited after recording?)")
	}
	env := opt.Env
	if env == nil {
		var notes []string
		env, notes = replay.ReplayEnv(sf.Env, os.LookupEnv)
		res.Notes = append(res.Notes, notes...)
		if env == nil {
			env = os.Environ()
		}
	}
	decisions := sf.Decisions
	if decisions == nil {
		decisions = []sched.Decision{}
	}
	spec, err := RecordedStrategy(sf.Strategy)
	if err != nil {
		return res, err // LoadSeed has checked it
	}
	cfg := explore.Config{Seed: sf.Seed, Timeout: opt.Timeout, CPUs: sf.CPUs, Replay: decisions,
		Strategy: spec, Faults: sf.Faults, MaxSteps: sf.MaxSteps, Epoch: sf.Epoch, LoneAfter: sf.LoneAfter, Timeline: opt.Timeline, Stacks: opt.Stacks, Spins: sf.Spins, Behavior: true}
	if decider != nil {
		cfg.Replay, cfg.Decider = nil, decider
	}
	pts.Apply(&cfg)
	if why := recordedStdin(sf, &cfg, res); why != "" {
		res.Verdict, res.Why = Diverged, why
		return res, nil
	}
	if sf.Hermetic == "yes" {
		pool, err := replaySandbox(sf, path, dir, res)
		if err != nil {
			return nil, err
		}
		if pool != nil {
			defer pool.Close()
			cfg.Sandbox = pool
		}
	}
	r, err := explore.Run(ctx, &explore.Target{Path: path, Args: append([]string{sf.Target}, sf.Args...), Env: env, Dir: dir}, cfg)
	if err != nil {
		return res, err
	}
	res.Run = r
	switch r.Outcome.Kind {
	case sched.Diverged:
		res.Verdict = Diverged
		res.Why = explainDivergence(sf, r, r.Outcome.Report)
		// Points that moved (another libc, a rebuilt library) explain
		// a divergence the program's own SHA-256 cannot.
		if err := replay.CheckPoints(sf.Points, pts.Record(r.Points, &r.Outcome)); err != nil {
			res.Why += "; " + strings.TrimPrefix(err.Error(), "replay diverged before the first decision: ")
		}
	case sched.Unsupported:
		return res, &InputError{ExitUsage, r.Outcome.Report}
	case sched.Internal:
		return res, fmt.Errorf("replay: %s", r.Outcome.Report)
	default:
		res.Verdict, res.Why = Judge(sf, r)
	}
	return res, nil
}

// RecordedStrategy parses a seed file's strategy ("pct:3", or
// "random+minimized" for a minimized schedule; "" in old seed files). It
// matters to replay only through the questions the strategy makes the
// scheduler ask (chaos lets time pass at picks).
func RecordedStrategy(s string) (explore.Spec, error) {
	s, _, _ = strings.Cut(s, "+")
	if s == "" {
		return explore.Spec{Name: "random"}, nil
	}
	spec, err := explore.ParseSpec(s)
	if err != nil {
		return spec, fmt.Errorf("recorded strategy: %v", err)
	}
	return spec, nil
}

// Judge says whether a replayed run that followed its trace reproduced
// the recorded failure: it must fail by the recorded classification
// (expect-exit, failure, ignore) with the recorded outcome. A run that
// now fails otherwise is not the recorded failure: Diverged, with why.
func Judge(sf *replay.SeedFile, r *explore.Result) (Verdict, string) {
	c := Classifier(sf)
	if c.Classify(r) != explore.Fail {
		return Fixed, ""
	}
	if sf.Outcome != "" && r.Describe() != sf.Outcome {
		return Diverged, fmt.Sprintf("the replay fails otherwise: %s (recorded: %s)", r.Describe(), sf.Outcome)
	}
	return Reproduced, ""
}

// Classifier is the classification a seed file recorded.
func Classifier(sf *replay.SeedFile) explore.Classifier {
	c := explore.Classifier{ExpectExit: sf.ExpectExit}
	if sf.Failure != "" {
		c.Failure = regexp.MustCompile(sf.Failure) // Parse has compiled it
	}
	if sf.Ignore != "" {
		c.Ignore = regexp.MustCompile(sf.Ignore)
	}
	return c
}

// LoadSeed reads a seed file and checks what the parser cannot: that its
// strategy and point set are ones this schedfuzz knows. Every problem is
// an *InputError naming the file and the line (ExitUsage).
func LoadSeed(path string) (*replay.SeedFile, error) {
	sf, err := replay.Load(path)
	if err != nil {
		return nil, &InputError{ExitUsage, err.Error()}
	}
	bad := func(key string, val func(string) bool, err error) error {
		line := replay.KeyLine(path, key, val)
		return &InputError{ExitUsage, fmt.Sprintf("%s: %v", path, &replay.ParseError{Line: line, Msg: err.Error()})}
	}
	if _, err := RecordedStrategy(sf.Strategy); err != nil {
		return nil, bad("strategy", nil, err)
	}
	if _, err := RecordedPoints(sf.Points); err != nil {
		// The set's name, or one of the user's specs.
		key, match := "points", func(string) bool { return true }
		for _, pt := range sf.Points.Points {
			if strings.HasPrefix(pt.Spec, "yield-at ") || strings.HasPrefix(pt.Spec, "watch ") {
				one := replay.PointSet{Name: sf.Points.Name, Points: []replay.Point{pt}}
				if _, perr := RecordedPoints(one); perr != nil {
					spec := pt.Spec
					key, match = "point", func(v string) bool { return strings.Contains(v, spec) }
					break
				}
			}
		}
		return nil, bad(key, match, err)
	}
	return sf, nil
}

// recordedStdin gives a replay the recorded standard input. It returns why
// the seed cannot be replayed ("" if it can); a file that changed since is
// a note.
func recordedStdin(sf *replay.SeedFile, cfg *explore.Config, res *Replayed) string {
	if sf.Stdin == "" {
		return ""
	}
	sum, err := replay.FileSHA256(sf.Stdin)
	if err != nil {
		return fmt.Sprintf("the recorded standard input %s cannot be read: %v", sf.Stdin, unwrapPathErr(err))
	}
	if sf.StdinSHA256 != "" && sum != sf.StdinSHA256 {
		res.Notes = append(res.Notes, fmt.Sprintf("the standard input %s changed since the seed was recorded (sha256 %.12s, recorded %.12s)", sf.Stdin, sum, sf.StdinSHA256))
	}
	cfg.StdinFile = sf.Stdin
	return ""
}

// replaySandbox makes the sandbox a seed recorded in one replays in (nil,
// with a note, where namespaces are unavailable).
func replaySandbox(sf *replay.SeedFile, path, dir string, res *Replayed) (*sandbox.Pool, error) {
	p, err := sandbox.New(sandbox.Config{Dir: dir, Prog: path, CPUs: sf.CPUs, HostNet: sf.Net == "host"})
	var ue *sandbox.UnavailableError
	if errors.As(err, &ue) {
		res.Notes = append(res.Notes, fmt.Sprintf("the run was recorded in a sandbox, but %v: replaying without one", ue))
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	res.Notes = append(res.Notes, p.Notes()...)
	return p, nil
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
