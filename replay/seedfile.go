package replay

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/schedfuzz/schedfuzz/sched"
)

// Magic is the first line of every seed file of this format version.
const Magic = "schedfuzz seed v1"

// Parse limits.
const (
	MaxFileSize  = 64 << 20
	MaxLineSize  = 1 << 20
	MaxDecisions = 1 << 22
	maxCPUs      = 1 << 16
)

// ErrTooLarge is wrapped by Encode's error for a run with more decisions
// (MaxDecisions) or bytes (MaxFileSize) than a seed file may hold: a run
// that long should have ended at its -max-steps.
var ErrTooLarge = errors.New("too large for a seed file")

// SeedFile is one recorded run: enough to replay it exactly.
type SeedFile struct {
	Tool   string // writer's name and version ("schedfuzz 0.2")
	Target string // the program as the user typed it (argv[0])
	SHA256 string // hex SHA-256 of the program file, lower case
	Args   []string
	Dir    string // working directory; "" if not recorded
	Env    []EnvVar

	Seed     uint64
	Run      int
	Strategy string // "random", "pct:3"...
	CPUs     int    // 0 if not recorded
	// Faults records that syscall results were decisions too (-faults);
	// MaxSteps the run's -max-steps (0: none). Both change which
	// decisions the scheduler asks for, so replay needs them.
	Faults   bool
	MaxSteps int
	// Epoch is the guest's realtime clock at the start of the run (Unix
	// seconds; 0: not recorded, sched.DefaultEpoch).
	Epoch int64
	// LoneAfter is the run's sched.Config.LoneAfter (0: not recorded,
	// every point stopped): it decides which points stop, so replay
	// needs it.
	LoneAfter int
	// ExpectExit, Failure and Ignore are how the run was judged (see
	// verdict.go): exit statuses that mean success (nil: just 0), and
	// regular expressions its output had to match or not match ("":
	// none).
	ExpectExit      []int
	Failure, Ignore string

	Points PointSet
	// Spins are the run's spin sites (sched/spin.go): replay plants them
	// from the start.
	Spins []sched.SpinSite

	// Hermetic is "yes" if the run had a sandbox of its own (package
	// intercept/sandbox), "no" if not, "" if not recorded (seed files
	// written before schedfuzz 0.3: no sandbox). Net is "host" for a
	// sandboxed run that kept the host's network (-net host), else "".
	Hermetic string
	Net      string
	// Stdin is the file the guest read as standard input ("": /dev/null)
	// and StdinSHA256 its hex SHA-256 when recorded.
	Stdin       string
	StdinSHA256 string
	// Behavior is what the program did, compactly (syscalls and result
	// keys), and Outside the files it changed outside its sandbox.
	Behavior Behavior
	Outside  []Change

	Outcome   string // how the run ended ("exit 1", "deadlock")
	Signature string
	Digest    string // Digest(Decisions) when written; "" if not recorded

	Decisions []sched.Decision
}

// EnvVar is one environment variable of the recorded run, in environ
// order. A redacted variable has no recorded value: replay takes it from
// its own environment.
type EnvVar struct {
	Name, Value string
	Redacted    bool
}

// Encode returns f in the seed file format. It fails only on values the
// format cannot hold (a newline in an unquoted value, an empty point
// spec...), which Parse never produces.
func (f *SeedFile) Encode() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(Magic + "\n")
	kv := func(key, val string) {
		b.WriteString(key)
		b.WriteString(": ")
		b.WriteString(val)
		b.WriteByte('\n')
	}
	for _, v := range []struct{ key, val string }{
		{"tool", f.Tool}, {"strategy", f.Strategy}, {"outcome", f.Outcome},
		{"signature", f.Signature}, {"points", f.Points.Name},
	} {
		if err := checkText(v.val); err != nil {
			return nil, fmt.Errorf("encode seed file: %s: %v", v.key, err)
		}
	}
	if f.Target == "" {
		return nil, errors.New("encode seed file: empty target")
	}
	if f.Run < 0 || f.CPUs < 0 || f.CPUs > maxCPUs {
		return nil, fmt.Errorf("encode seed file: bad run %d or cpus %d", f.Run, f.CPUs)
	}
	if !isHex256(f.SHA256) {
		return nil, fmt.Errorf("encode seed file: sha256 %q is not 64 hex digits", f.SHA256)
	}
	if f.Digest != "" && !isHex256(f.Digest) {
		return nil, fmt.Errorf("encode seed file: digest %q is not 64 hex digits", f.Digest)
	}
	kv("tool", f.Tool)
	kv("target", strconv.Quote(f.Target))
	kv("sha256", f.SHA256)
	for _, a := range f.Args {
		kv("arg", strconv.Quote(a))
	}
	kv("seed", fmt.Sprintf("%#016x", f.Seed))
	kv("run", strconv.Itoa(f.Run))
	kv("strategy", f.Strategy)
	if f.CPUs != 0 {
		kv("cpus", strconv.Itoa(f.CPUs))
	}
	if f.Faults {
		kv("faults", "on")
	}
	if f.MaxSteps < 0 {
		return nil, fmt.Errorf("encode seed file: bad max-steps %d", f.MaxSteps)
	}
	if f.MaxSteps > 0 {
		kv("max-steps", strconv.Itoa(f.MaxSteps))
	}
	if f.Epoch < 0 {
		return nil, fmt.Errorf("encode seed file: bad epoch %d", f.Epoch)
	}
	if f.Epoch > 0 {
		kv("epoch", strconv.FormatInt(f.Epoch, 10))
	}
	if f.LoneAfter < 0 {
		return nil, fmt.Errorf("encode seed file: bad lone-after %d", f.LoneAfter)
	}
	if f.LoneAfter > 0 {
		kv("lone-after", strconv.Itoa(f.LoneAfter))
	}
	if err := f.encodeWorld(kv); err != nil {
		return nil, err
	}
	if err := f.encodeVerdict(kv); err != nil {
		return nil, err
	}
	kv("outcome", f.Outcome)
	if f.Signature != "" {
		kv("signature", f.Signature)
	}
	if f.Digest != "" {
		kv("digest", f.Digest)
	}
	if f.Points.Name != "" {
		kv("points", f.Points.Name)
	}
	for _, p := range f.Points.Points {
		s, err := p.encode()
		if err != nil {
			return nil, fmt.Errorf("encode seed file: %v", err)
		}
		kv("point", s)
	}
	for _, sp := range f.Spins {
		if sp.Path == "" {
			return nil, errors.New("encode seed file: spin site with an empty path")
		}
		kv("spin", strconv.Quote(sp.Path)+" "+fmt.Sprintf("%#x", sp.Vaddr))
	}
	if f.Dir != "" {
		kv("dir", strconv.Quote(f.Dir))
	}
	for _, e := range f.Env {
		if e.Redacted {
			if !validEnvName(e.Name) {
				return nil, fmt.Errorf("encode seed file: bad redacted variable name %q", e.Name)
			}
			kv("env-redacted", e.Name)
			continue
		}
		if e.Name == "" || strings.Contains(e.Name, "=") {
			return nil, fmt.Errorf("encode seed file: bad variable name %q", e.Name)
		}
		kv("env", strconv.Quote(e.Name+"="+e.Value))
	}
	if len(f.Decisions) > MaxDecisions {
		return nil, fmt.Errorf("encode seed file: %d decisions, more than %d: %w", len(f.Decisions), MaxDecisions, ErrTooLarge)
	}
	if err := f.encodeBehavior(kv); err != nil {
		return nil, err
	}
	kv("decisions", strconv.Itoa(len(f.Decisions)))
	for i, d := range f.Decisions {
		if err := checkDecision(d); err != nil {
			return nil, fmt.Errorf("encode seed file: decision %d: %v", i, err)
		}
		b.WriteString(FormatDecision(d))
		b.WriteByte('\n')
	}
	b.WriteString("end\n")
	if b.Len() > MaxFileSize {
		return nil, fmt.Errorf("encode seed file: %d bytes, more than %d: %w", b.Len(), MaxFileSize, ErrTooLarge)
	}
	return b.Bytes(), nil
}

// FormatDecision writes d as a decision line: "pick 2 of 0,2,3 @t1:futex".
func FormatDecision(d sched.Decision) string {
	var b strings.Builder
	b.WriteString(d.Kind.String())
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(d.Choice))
	b.WriteString(" of ")
	for i, o := range d.Options {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(o))
	}
	b.WriteString(" @")
	b.WriteString(d.At)
	return b.String()
}

// Digest is the hex SHA-256 of the decision lines of ds, each as
// FormatDecision writes it followed by "\n": it identifies the executed
// sequence of scheduling points, options and choices.
func Digest(ds []sched.Decision) string {
	h := sha256.New()
	for _, d := range ds {
		io.WriteString(h, FormatDecision(d))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkDecision reports what keeps d from being written and read back.
func checkDecision(d sched.Decision) error {
	if k, ok := sched.ParseKind(d.Kind.String()); !ok || k != d.Kind {
		return fmt.Errorf("kind %d has no name of its own", d.Kind)
	}
	if len(d.Options) == 0 {
		return errors.New("no options")
	}
	found := false
	for i, o := range d.Options {
		idle := i == 0 && o == sched.IdleOption && d.Kind == sched.KindPick
		if (o < 0 && !idle) || (i > 0 && o <= d.Options[i-1]) {
			return fmt.Errorf("options %v are not increasing non-negative numbers (or -1 first, for a pick)", d.Options)
		}
		found = found || o == d.Choice
	}
	if !found {
		return fmt.Errorf("choice %d is not among the options %v", d.Choice, d.Options)
	}
	if d.At == "" {
		return errors.New("empty scheduling point")
	}
	if err := checkText(d.At); err != nil {
		return fmt.Errorf("scheduling point: %v", err)
	}
	return nil
}

// checkText accepts values that survive a line of the file unquoted.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not UTF-8")
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return fmt.Errorf("control character %q", r)
		}
	}
	return nil
}

func isHex256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// validEnvName accepts names env-redacted can carry: non-empty, no "=",
// no spaces or control characters.
func validEnvName(s string) bool {
	if s == "" || strings.ContainsAny(s, "= \t") {
		return false
	}
	return checkText(s) == nil
}

// ParseError is a problem at one line of a seed file.
type ParseError struct {
	Line int // 1-based; 0 for the file as a whole
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return "seed file: " + e.Msg
	}
	return fmt.Sprintf("seed file line %d: %s", e.Line, e.Msg)
}

// parser reads a seed file line by line.
type parser struct {
	r     *bufio.Reader
	line  int
	size  int
	kinds map[string]sched.Kind
}

var errEOF = errors.New("end of file")

func (p *parser) errf(format string, args ...any) error {
	return &ParseError{Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// next returns the next line without its "\n" or "\r\n".
func (p *parser) next() (string, error) {
	var buf []byte
	for {
		chunk, err := p.r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxLineSize+2 {
			return "", &ParseError{Line: p.line + 1, Msg: fmt.Sprintf("line longer than %d bytes", MaxLineSize)}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		p.size += len(buf)
		if p.size > MaxFileSize {
			return "", &ParseError{Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize)}
		}
		if err == io.EOF {
			if len(buf) == 0 {
				return "", errEOF
			}
		} else if err != nil {
			return "", &ParseError{Line: p.line + 1, Msg: "read: " + err.Error()}
		}
		p.line++
		s := string(buf)
		s = strings.TrimSuffix(s, "\n")
		s = strings.TrimSuffix(s, "\r")
		return s, nil
	}
}

// Parse reads a seed file. Every error is a one-line *ParseError (or a
// read error wrapped in one).
func Parse(r io.Reader) (*SeedFile, error) {
	p := &parser{r: bufio.NewReaderSize(r, 64<<10)}
	first, err := p.next()
	if err == errEOF {
		return nil, &ParseError{Msg: "empty file"}
	}
	if err != nil {
		return nil, err
	}
	if first != Magic {
		if v, ok := strings.CutPrefix(first, "schedfuzz seed "); ok {
			return nil, p.errf("unsupported seed file version %q (this schedfuzz reads v1)", trunc(v))
		}
		return nil, p.errf("not a schedfuzz seed file (first line %q)", trunc(first))
	}
	f := &SeedFile{}
	seen := map[string]bool{}
	for {
		l, err := p.next()
		if err == errEOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if isSkipped(l) {
			continue
		}
		key, val, ok := cutKey(l)
		if !ok {
			return nil, p.errf("expected \"key: value\", got %q", trunc(l))
		}
		switch key {
		case "arg", "env", "env-redacted", "point", "spin", "syscalls", "result", "outside":
		default:
			if seen[key] && known(key) {
				return nil, p.errf("duplicate key %q", key)
			}
		}
		seen[key] = true
		if err := p.field(f, key, val); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"target", "sha256", "seed", "decisions"} {
		if !seen[k] {
			return nil, &ParseError{Msg: fmt.Sprintf("missing %q", k)}
		}
	}
	return f, nil
}

func isSkipped(l string) bool {
	return strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#")
}

func known(key string) bool {
	switch key {
	case "tool", "target", "sha256", "seed", "run", "strategy", "cpus", "outcome",
		"signature", "digest", "points", "dir", "decisions", "faults", "max-steps", "epoch", "lone-after",
		"hermetic", "net", "stdin", "stdin-sha256":
		return true
	}
	return verdictKey(key)
}

// cutKey splits "key: value" (or "key:" with an empty value). Keys are
// lower-case letters, digits and "-", starting with a letter.
func cutKey(l string) (key, val string, ok bool) {
	key, rest, ok := strings.Cut(l, ":")
	if !ok || key == "" || !(key[0] >= 'a' && key[0] <= 'z') {
		return "", "", false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "", "", false
		}
	}
	if rest != "" && rest[0] != ' ' {
		return "", "", false
	}
	return key, strings.TrimPrefix(rest, " "), true
}

func (p *parser) field(f *SeedFile, key, val string) error {
	switch key {
	case "syscalls", "result", "outside", "behavior":
		return p.behaviorField(f, key, val)
	}
	if !known(key) && key != "arg" && key != "env" && key != "env-redacted" && key != "point" && key != "spin" {
		return nil // a key from a newer writer: ignored
	}
	if err := checkText(val); err != nil {
		return p.errf("%s: %v", key, err)
	}
	var err error
	switch key {
	case "tool":
		f.Tool = val
	case "target":
		if f.Target, err = p.quoted(key, val); err == nil && f.Target == "" {
			err = p.errf("empty target")
		}
	case "sha256":
		if !isHex256(strings.ToLower(val)) {
			return p.errf("bad sha256 %q: want 64 hex digits", trunc(val))
		}
		f.SHA256 = strings.ToLower(val)
	case "digest":
		if !isHex256(strings.ToLower(val)) {
			return p.errf("bad digest %q: want 64 hex digits", trunc(val))
		}
		f.Digest = strings.ToLower(val)
	case "arg":
		var a string
		a, err = p.quoted(key, val)
		f.Args = append(f.Args, a)
	case "dir":
		f.Dir, err = p.quoted(key, val)
	case "env":
		var e string
		if e, err = p.quoted(key, val); err == nil {
			name, value, ok := strings.Cut(e, "=")
			if !ok || name == "" {
				return p.errf("bad env %q: want \"NAME=value\"", trunc(val))
			}
			f.Env = append(f.Env, EnvVar{Name: name, Value: value})
		}
	case "env-redacted":
		if !validEnvName(val) {
			return p.errf("bad env-redacted %q: want a variable name", trunc(val))
		}
		f.Env = append(f.Env, EnvVar{Name: val, Redacted: true})
	case "seed":
		if f.Seed, err = strconv.ParseUint(val, 0, 64); err != nil {
			return p.errf("bad seed %q", trunc(val))
		}
	case "run":
		if f.Run, err = strconv.Atoi(val); err != nil || f.Run < 0 {
			return p.errf("bad run %q", trunc(val))
		}
	case "cpus":
		if f.CPUs, err = strconv.Atoi(val); err != nil || f.CPUs < 1 || f.CPUs > maxCPUs {
			return p.errf("bad cpus %q: want 1..%d", trunc(val), maxCPUs)
		}
	case "faults":
		switch val {
		case "on":
			f.Faults = true
		case "off":
		default:
			return p.errf("bad faults %q: want on or off", trunc(val))
		}
	case "max-steps":
		if f.MaxSteps, err = strconv.Atoi(val); err != nil || f.MaxSteps < 0 {
			return p.errf("bad max-steps %q", trunc(val))
		}
	case "epoch":
		if f.Epoch, err = strconv.ParseInt(val, 10, 64); err != nil || f.Epoch < 0 {
			return p.errf("bad epoch %q", trunc(val))
		}
	case "lone-after":
		if f.LoneAfter, err = strconv.Atoi(val); err != nil || f.LoneAfter < 0 {
			return p.errf("bad lone-after %q", trunc(val))
		}
	case "hermetic", "net", "stdin", "stdin-sha256":
		return p.worldField(f, key, val)
	case "strategy":
		f.Strategy = val
	case "outcome":
		f.Outcome = val
	case "signature":
		f.Signature = val
	case "points":
		f.Points.Name = val
	case "point":
		pt, perr := parsePoint(val)
		if perr != nil {
			return p.errf("bad point %q: %v", trunc(val), perr)
		}
		f.Points.Points = append(f.Points.Points, pt)
	case "spin":
		sp, perr := parseSpin(val)
		if perr != nil {
			return p.errf("bad spin %q: %v", trunc(val), perr)
		}
		f.Spins = append(f.Spins, sp)
	case "decisions":
		return p.decisions(f, val)
	case "expect-exit", "failure", "ignore":
		return p.parseVerdict(f, key, val)
	}
	return err
}

// parseSpin parses a spin line's value: the Go-quoted file path and the
// site's link-time address ("\"/usr/bin/prog\" 0x1193").
func parseSpin(val string) (sched.SpinSite, error) {
	q, err := strconv.QuotedPrefix(val)
	if err != nil {
		return sched.SpinSite{}, errors.New(`want "\"PATH\" ADDR"`)
	}
	path, _ := strconv.Unquote(q)
	v, err := strconv.ParseUint(strings.TrimSpace(val[len(q):]), 0, 64)
	if path == "" || err != nil {
		return sched.SpinSite{}, errors.New(`want "\"PATH\" ADDR"`)
	}
	return sched.SpinSite{Path: path, Vaddr: v}, nil
}

func (p *parser) quoted(key, val string) (string, error) {
	s, err := strconv.Unquote(val)
	if err != nil || !strings.HasPrefix(val, `"`) {
		return "", p.errf("bad %s %s: want a Go-quoted string", key, trunc(val))
	}
	return s, nil
}

func (p *parser) decisions(f *SeedFile, val string) error {
	n, err := strconv.Atoi(val)
	if err != nil || n < 0 || n > MaxDecisions {
		return p.errf("bad decision count %q: want 0..%d", trunc(val), MaxDecisions)
	}
	f.Decisions = make([]sched.Decision, 0, min(n, 1<<12))
	for len(f.Decisions) < n {
		l, err := p.next()
		if err == errEOF {
			return p.errf("truncated: expected %d decisions, got %d", n, len(f.Decisions))
		}
		if err != nil {
			return err
		}
		if isSkipped(l) {
			continue
		}
		d, err := p.decision(l)
		if err != nil {
			return p.errf("decision %d: %v", len(f.Decisions), err)
		}
		f.Decisions = append(f.Decisions, d)
	}
	for {
		l, err := p.next()
		if err == errEOF {
			return p.errf("truncated: no \"end\" after %d decisions", n)
		}
		if err != nil {
			return err
		}
		if isSkipped(l) {
			continue
		}
		if strings.TrimSpace(l) != "end" {
			return p.errf("expected \"end\" after %d decisions, got %q", n, trunc(l))
		}
		return nil
	}
}

// ParseDecision parses a decision line ("pick 2 of 0,2,3 @t1:futex").
func ParseDecision(l string) (sched.Decision, error) {
	p := parser{}
	return p.decision(l)
}

func (p *parser) decision(l string) (sched.Decision, error) {
	var d sched.Decision
	bad := func(why string) (sched.Decision, error) {
		return sched.Decision{}, fmt.Errorf("bad decision %q: %s", trunc(l), why)
	}
	rest := l
	var fields [4]string
	for i := range fields {
		rest = strings.TrimLeft(rest, " \t")
		j := strings.IndexAny(rest, " \t")
		if j < 0 {
			return bad("want \"KIND CHOICE of OPTIONS @POINT\"")
		}
		fields[i], rest = rest[:j], rest[j:]
	}
	rest = strings.TrimLeft(rest, " \t")
	if fields[2] != "of" || !strings.HasPrefix(rest, "@") {
		return bad("want \"KIND CHOICE of OPTIONS @POINT\"")
	}
	kind, ok := p.kinds[fields[0]]
	if !ok {
		if kind, ok = sched.ParseKind(fields[0]); !ok {
			return bad(fmt.Sprintf("unknown decision kind %q", fields[0]))
		}
		if p.kinds == nil {
			p.kinds = map[string]sched.Kind{}
		}
		p.kinds[fields[0]] = kind
	}
	d.Kind = kind
	c, err := strconv.Atoi(fields[1])
	if err != nil {
		return bad("choice is not a number")
	}
	d.Choice = c
	opts := fields[3]
	d.Options = make([]int, 0, strings.Count(opts, ",")+1)
	for o := range strings.SplitSeq(opts, ",") {
		v, err := strconv.Atoi(o)
		if err != nil {
			return bad("options are not numbers")
		}
		d.Options = append(d.Options, v)
	}
	d.At = rest[1:]
	if err := checkDecision(d); err != nil {
		return bad(err.Error())
	}
	return d, nil
}

// trunc shortens s for an error message.
func trunc(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
