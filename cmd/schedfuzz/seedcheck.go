package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/replay"
)

// exitInterrupted is the exit code of a command stopped by SIGINT or
// SIGTERM before it had an answer (as a shell reports 128+SIGINT).
const exitInterrupted = 130

// interrupted says so and returns exitInterrupted.
func interrupted(stderr io.Writer) int {
	fmt.Fprintln(stderr, "schedfuzz: interrupted")
	return exitInterrupted
}

// loadSeed reads a seed file and checks what the parser cannot: that its
// strategy and point set are ones this schedfuzz knows. Every problem is
// a usage error naming the file and the line (exit 2).
func loadSeed(path string) (*replay.SeedFile, error) {
	sf, err := replay.Load(path)
	if err != nil {
		return nil, &cliError{exitUsage, err.Error()}
	}
	bad := func(key string, val func(string) bool, err error) error {
		line := replay.KeyLine(path, key, val)
		return &cliError{exitUsage, fmt.Sprintf("%s: %v", path, &replay.ParseError{Line: line, Msg: err.Error()})}
	}
	if _, err := recordedStrategy(sf.Strategy); err != nil {
		return nil, bad("strategy", nil, err)
	}
	if _, err := recordedPoints(sf.Points); err != nil {
		// The set's name, or one of the user's specs.
		key, match := "points", func(string) bool { return true }
		for _, pt := range sf.Points.Points {
			if strings.HasPrefix(pt.Spec, "yield-at ") || strings.HasPrefix(pt.Spec, "watch ") {
				one := replay.PointSet{Name: sf.Points.Name, Points: []replay.Point{pt}}
				if _, perr := recordedPoints(one); perr != nil {
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

// judge says whether a replayed run that followed its trace reproduced
// the recorded failure: it must fail by the recorded classification
// (expect-exit, failure, ignore) with the recorded outcome. A run that
// now fails otherwise is not the recorded failure: diverged, with why.
func judge(sf *replay.SeedFile, r *explore.Result) (verdict, string) {
	c := explore.Classifier{ExpectExit: sf.ExpectExit}
	if sf.Failure != "" {
		c.Failure = regexp.MustCompile(sf.Failure) // Parse has compiled it
	}
	if sf.Ignore != "" {
		c.Ignore = regexp.MustCompile(sf.Ignore)
	}
	if c.Classify(r) != explore.Fail {
		return fixed, ""
	}
	if sf.Outcome != "" && r.Describe() != sf.Outcome {
		return diverged, fmt.Sprintf("the replay fails otherwise: %s (recorded: %s)", r.Describe(), sf.Outcome)
	}
	return stillFailing, ""
}

// noteDropped says how much of the guest's output a replay did not keep.
func noteDropped(w io.Writer, r *explore.Result) {
	for _, d := range []struct {
		name string
		n    int64
	}{{"stdout", r.StdoutDropped}, {"stderr", r.StderrDropped}} {
		if d.n > 0 {
			fmt.Fprintf(w, "schedfuzz: note: the guest wrote %d bytes to %s; the last %d are shown\n", d.n+int64(explore.DefaultOutputLimit), d.name, explore.DefaultOutputLimit)
		}
	}
}
