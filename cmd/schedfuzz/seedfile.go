package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/schedfuzz/schedfuzz/sched"
)

// seedFile is a failing run: enough to replay it exactly. Text, one
// key per line, first line "schedfuzz seed v1", then "decisions: N" and N
// decision lines ("pick 2 of 0,2,3 @t1:futex").
type seedFile struct {
	Tool, Target, SHA256, Strategy, Outcome string
	Args                                    []string
	Seed                                    uint64
	Run                                     int
	CPUs                                    int
	Decisions                               []sched.Decision
}

const seedMagic = "schedfuzz seed v1"

func (f *seedFile) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintln(&b, seedMagic)
	fmt.Fprintf(&b, "tool: %s\n", f.Tool)
	fmt.Fprintf(&b, "target: %s\n", strconv.Quote(f.Target))
	fmt.Fprintf(&b, "sha256: %s\n", f.SHA256)
	for _, a := range f.Args {
		fmt.Fprintf(&b, "arg: %s\n", strconv.Quote(a))
	}
	fmt.Fprintf(&b, "seed: %#016x\n", f.Seed)
	fmt.Fprintf(&b, "run: %d\n", f.Run)
	fmt.Fprintf(&b, "strategy: %s\n", f.Strategy)
	fmt.Fprintf(&b, "cpus: %d\n", f.CPUs)
	fmt.Fprintf(&b, "outcome: %s\n", f.Outcome)
	fmt.Fprintf(&b, "decisions: %d\n", len(f.Decisions))
	for _, d := range f.Decisions {
		opts := make([]string, len(d.Options))
		for i, o := range d.Options {
			opts[i] = strconv.Itoa(o)
		}
		fmt.Fprintf(&b, "%s %d of %s @%s\n", d.Kind, d.Choice, strings.Join(opts, ","), d.At)
	}
	b.WriteString("end\n")
	return b.Bytes()
}

// write saves f in dir under a name derived from its content.
func (f *seedFile) write(dir string) (string, error) {
	data := f.encode()
	sum := sha256.Sum256(data)
	slug := strings.NewReplacer(" ", "-", "/", "-").Replace(f.Outcome)
	name := fmt.Sprintf("%s-%s-%s.seed", filepath.Base(f.Target), slug, hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// parseSeedFile reads a seed file; errors are one line.
func parseSeedFile(r io.Reader) (*seedFile, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		line++
		return sc.Text(), true
	}
	first, ok := next()
	if !ok {
		return nil, fmt.Errorf("empty seed file")
	}
	if first != seedMagic {
		if strings.HasPrefix(first, "schedfuzz seed ") {
			return nil, fmt.Errorf("unsupported seed file version %q", strings.TrimPrefix(first, "schedfuzz seed "))
		}
		return nil, fmt.Errorf("not a schedfuzz seed file (first line %q)", first)
	}
	f := &seedFile{}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("seed file line %d: %s", line, fmt.Sprintf(format, args...))
	}
	for {
		l, ok := next()
		if !ok {
			return nil, bad("missing decisions")
		}
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		key, val, ok := strings.Cut(l, ": ")
		if !ok {
			return nil, bad("expected \"key: value\", got %q", l)
		}
		var err error
		switch key {
		case "tool":
			f.Tool = val
		case "target":
			f.Target, err = strconv.Unquote(val)
		case "sha256":
			f.SHA256 = val
		case "arg":
			var a string
			a, err = strconv.Unquote(val)
			f.Args = append(f.Args, a)
		case "seed":
			f.Seed, err = strconv.ParseUint(val, 0, 64)
		case "run":
			f.Run, err = strconv.Atoi(val)
		case "strategy":
			f.Strategy = val
		case "cpus":
			f.CPUs, err = strconv.Atoi(val)
		case "outcome":
			f.Outcome = val
		case "decisions":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > 10_000_000 {
				return nil, bad("bad decision count %q", val)
			}
			return f, parseDecisions(f, n, next, bad)
		default:
			// Unknown keys are ignored: newer writers may add some.
		}
		if err != nil {
			return nil, bad("bad %s %q: %v", key, val, err)
		}
	}
}

func parseDecisions(f *seedFile, n int, next func() (string, bool), bad func(string, ...any) error) error {
	f.Decisions = make([]sched.Decision, 0, min(n, 1<<16))
	for range n {
		l, ok := next()
		if !ok {
			return bad("truncated: expected %d decisions, got %d", n, len(f.Decisions))
		}
		var d sched.Decision
		fields := strings.Fields(l)
		if len(fields) != 5 || fields[2] != "of" || !strings.HasPrefix(fields[4], "@") {
			return bad("bad decision %q", l)
		}
		switch fields[0] {
		case "pick":
			d.Kind = sched.KindPick
		case "wake":
			d.Kind = sched.KindWake
		default:
			return bad("bad decision kind %q", fields[0])
		}
		c, err := strconv.Atoi(fields[1])
		if err != nil {
			return bad("bad decision %q", l)
		}
		d.Choice = c
		for _, o := range strings.Split(fields[3], ",") {
			v, err := strconv.Atoi(o)
			if err != nil {
				return bad("bad decision %q", l)
			}
			d.Options = append(d.Options, v)
		}
		d.At = fields[4][1:]
		f.Decisions = append(f.Decisions, d)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
