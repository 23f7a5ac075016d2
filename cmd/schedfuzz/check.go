package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/schedfuzz/schedfuzz/replay"
)

// Flag limits, checked before the first run (exit 2) so that a value
// cannot fail later, when a failure is to be saved.
const (
	minTimeout  = 100 * time.Millisecond // a run's start-up alone takes milliseconds
	maxParallel = 256
)

// validate checks every exploration flag's range.
func (f *runFlags) validate() error {
	switch {
	case f.runs < 0:
		return usageErr("-runs %d: want a positive count (or 0 with -time)", f.runs)
	case f.runs == 0 && f.budget == 0:
		return usageErr("-runs 0 needs -time (a session without a bound)")
	case f.budget < 0:
		return usageErr("-time %v: want a positive duration", f.budget)
	case f.timeout < minTimeout:
		return usageErr("-timeout %v: want at least %v (a shorter limit would call every run a hang)", f.timeout, minTimeout)
	case f.cpus < 1 || f.cpus > replay.MaxCPUs:
		return usageErr("-cpus %d: want 1..%d", f.cpus, replay.MaxCPUs)
	case f.par < 1 || f.par > maxParallel:
		return usageErr("-p %d: want 1..%d", f.par, maxParallel)
	case f.maxSteps < 0 || f.maxSteps > replay.MaxDecisions:
		return usageErr("-max-steps %d: want 0 (no limit) to %d", f.maxSteps, replay.MaxDecisions)
	case f.loneAfter < 0:
		return usageErr("-lone-after %d: want 0 (every point stops) or more", f.loneAfter)
	}
	if err := f.shardSeed(); err != nil {
		return err
	}
	if f.seed != "" {
		if _, err := parseUint(f.seed); err != nil {
			return usageErr("-seed %q: want an unsigned 64-bit number (decimal or 0x...)", f.seed)
		}
	}
	return nil
}

// checkOutputs checks, before the first run, that the session's outputs
// can be written: a failure found later must not be lost to an
// unwritable path.
func (f *runFlags) checkOutputs() error {
	if err := probeDir(f.corpus); err != nil {
		return usageErr("-corpus %s: %v", f.corpus, err)
	}
	for _, o := range []struct{ flag, path string }{{"-junit", f.junit}, {"-trace", f.trace}, {"-html", f.html}} {
		if o.path == "" {
			continue
		}
		if err := probeFile(o.path); err != nil {
			return usageErr("%s %s: %v", o.flag, o.path, err)
		}
	}
	return nil
}

// probeDir checks that files can be created in dir, or, if it does not
// exist yet, in its nearest existing ancestor (where Save will create
// it), by creating one and removing it.
func probeDir(dir string) error {
	d := filepath.Clean(dir)
	for {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is not a directory", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return unwrapPathErr(err)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return unwrapPathErr(err)
		}
		d = parent
	}
	f, err := os.CreateTemp(d, ".tmp-probe-*")
	if err != nil {
		return fmt.Errorf("cannot create files in %s: %v", d, unwrapPathErr(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// probeFile checks that path can be written: an existing file opened for
// writing (not truncated), else a file created in its directory.
func probeFile(path string) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return errors.New("is a directory")
	case err == nil:
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return unwrapPathErr(err)
		}
		return f.Close()
	case !errors.Is(err, fs.ErrNotExist):
		return unwrapPathErr(err)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("no directory %s", dir)
	}
	return probeDir(dir)
}
