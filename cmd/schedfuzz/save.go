package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/schedfuzz/schedfuzz/explore"
)

// reportUnsaved ends the report of a failure whose seed file could not be
// written (the corpus filled up or became read-only during the session):
// why, the run's seed, and the command that makes the same runs again.
// The session goes on and exits 1: the failure was found.
func (s *session) reportUnsaved(rep *explore.RunReport) {
	fmt.Fprintf(s.stderr, "schedfuzz: %s\n", oneLine("the seed file was not saved: "+s.unsaved.Error()))
	fmt.Fprintf(s.stderr, "schedfuzz: the failure is run %d (seed %#016x, strategy %s) of session seed %s; to run it again:\n",
		rep.Index, rep.Seed, rep.Strategy, s.sessionSeed())
	fmt.Fprintf(s.stderr, "rerun: %s\n", s.rerunCommand(rep.Index+1))
}

// sessionSeed is the session's seed as printed at the start.
func (s *session) sessionSeed() string { return fmt.Sprintf("%#016x", s.base) }

// rerunCommand is a command line that makes this session's runs 0..n-1
// again: the same flags, with -seed fixed and -runs n instead of -runs and
// -time (runs are a function of the session seed and their index).
func (s *session) rerunCommand(n int) string {
	args := []string{"schedfuzz", "-seed", s.sessionSeed(), "-runs", fmt.Sprint(n)}
	s.flags.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "seed", "runs", "time":
			return
		}
		args = append(args, "-"+fl.Name+"="+fl.Value.String())
	})
	args = append(args, "--")
	args = append(args, s.args...)
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return strings.Join(args, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
