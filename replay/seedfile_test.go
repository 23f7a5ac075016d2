package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/schedfuzz/schedfuzz/sched"
)

const sha = "1525cae857b8e28a91f830e67c3f7f1892da4d86ba2e6f740bbeba2437bac27d"

// full is a seed file using every key.
var full = `schedfuzz seed v1
tool: schedfuzz 0.2
target: "./lost update"
sha256: ` + sha + `
arg: "-n"
arg: "two words\n"
seed: 0xbeeb8da1658eec67
run: 17
strategy: pct:3
cpus: 2
faults: on
max-steps: 50000
epoch: 1765238400
lone-after: 64
outcome: exit 1
signature: exit 1 @t1:write
digest: 0eaa0f32e3c01cf8b18b70753668d704747926a7b3396714b987fc668ec55602
points: libc-sync
point: pthread_mutex_lock 0x7ffff7e0a0f0,0x401136
point: "weird spec" unresolved
spin: "/usr/bin/spin prog" 0x1193
dir: "/src/app"
env: "HOME=/root"
env: "EQ=a=b"
env-redacted: GITHUB_TOKEN
decisions: 3
pick 0 of 0,1 @t0:clone3
wake 1 of 0,1 @futex:2
pick 2 of 0,2,3 @t1:futex
end
`

var fullWant = &SeedFile{
	Tool: "schedfuzz 0.2", Target: "./lost update", SHA256: sha, Args: []string{"-n", "two words\n"},
	Dir:  "/src/app",
	Env:  []EnvVar{{Name: "HOME", Value: "/root"}, {Name: "EQ", Value: "a=b"}, {Name: "GITHUB_TOKEN", Redacted: true}},
	Seed: 0xbeeb8da1658eec67, Run: 17, Strategy: "pct:3", CPUs: 2, Faults: true, MaxSteps: 50000, Epoch: 1765238400, LoneAfter: 64,
	Points: PointSet{Name: "libc-sync", Points: []Point{
		{Spec: "pthread_mutex_lock", Addrs: []uint64{0x7ffff7e0a0f0, 0x401136}},
		{Spec: "weird spec"},
	}},
	Spins:   []sched.SpinSite{{Path: "/usr/bin/spin prog", Vaddr: 0x1193}},
	Outcome: "exit 1", Signature: "exit 1 @t1:write",
	Digest: "0eaa0f32e3c01cf8b18b70753668d704747926a7b3396714b987fc668ec55602",
	Decisions: []sched.Decision{
		{Kind: sched.KindPick, Choice: 0, Options: []int{0, 1}, At: "t0:clone3"},
		{Kind: sched.KindWake, Choice: 1, Options: []int{0, 1}, At: "futex:2"},
		{Kind: sched.KindPick, Choice: 2, Options: []int{0, 2, 3}, At: "t1:futex"},
	},
}

func parse(t *testing.T, s string) *SeedFile {
	t.Helper()
	f, err := Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, s)
	}
	return f
}

func TestParseFull(t *testing.T) {
	if got := parse(t, full); !reflect.DeepEqual(got, fullWant) {
		t.Fatalf("Parse:\n got %+v\nwant %+v", got, fullWant)
	}
	// Encode writes exactly this text back: the format is canonical.
	enc, err := fullWant.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(enc) != full {
		t.Fatalf("Encode:\n%s\nwant\n%s", enc, full)
	}
}

// TestParseV01: files written by schedfuzz 0.1 (the README's example: no
// env, dir, signature, digest or points) still parse.
func TestParseV01(t *testing.T) {
	f := parse(t, "schedfuzz seed v1\ntool: schedfuzz 0.1\ntarget: \"/tmp/lost_update\"\nsha256: "+sha+
		"\nseed: 0xbeeb8da1658eec67\nrun: 1\nstrategy: random\ncpus: 4\noutcome: exit 1\ndecisions: 2\n"+
		"pick 0 of 0,1 @t0:clone3\nwake 1 of 0,1 @futex:2\nend\n")
	if f.Target != "/tmp/lost_update" || f.Env != nil || f.Digest != "" || len(f.Decisions) != 2 || f.Decisions[1].Kind != sched.KindWake {
		t.Fatalf("v0.1 file: %+v", f)
	}
}

func TestParseTolerant(t *testing.T) {
	// Unknown keys (also repeated, also after "end"), comments, blank
	// lines, CRLF line ends, "key:" with nothing after the colon, extra
	// spaces in decision lines, comments inside the decision block, no
	// final newline.
	in := "schedfuzz seed v1\r\n# a comment\r\nfuture-key: 1\r\nfuture-key: 2\r\n\r\ntarget: \"/bin/x\"\r\n" +
		"tool:\r\nsha256: " + strings.ToUpper(sha) + "\r\nseed: 42\r\ndecisions: 2\r\n" +
		"pick  1   of 0,1   @t0:write\r\n# between\r\n\r\npick 0 of 0,1 @t1:read\r\n  end  \r\n" +
		"outcome: deadlock\r\nanother-future-key: x"
	f := parse(t, in)
	want := &SeedFile{Target: "/bin/x", SHA256: sha, Seed: 42, Outcome: "deadlock", Decisions: []sched.Decision{
		{Kind: sched.KindPick, Choice: 1, Options: []int{0, 1}, At: "t0:write"},
		{Kind: sched.KindPick, Choice: 0, Options: []int{0, 1}, At: "t1:read"},
	}}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got %+v\nwant %+v", f, want)
	}
	// CRLF gives the same as LF.
	if lf := parse(t, strings.ReplaceAll(full, "\n", "\r\n")); !reflect.DeepEqual(lf, fullWant) {
		t.Fatalf("CRLF file: %+v", lf)
	}
}

func TestParseErrors(t *testing.T) {
	head := "schedfuzz seed v1\ntarget: \"/bin/x\"\nsha256: " + sha + "\nseed: 1\n" // lines 1-4
	tail := "decisions: 1\npick 0 of 0,1 @t0:write\nend\n"
	long := strings.Repeat("x", MaxLineSize+10)
	cases := []struct {
		name, in string
		line     int // 0: not a line's fault
		msg      string
	}{
		{"empty", "", 0, "empty file"},
		{"magic", "hello\n", 1, "not a schedfuzz seed file"},
		{"version", "schedfuzz seed v2\n", 1, `unsupported seed file version "v2"`},
		{"magic with spaces", "schedfuzz seed v1 \n", 1, `unsupported seed file version "v1 "`},
		{"not key value", head + "just words\n" + tail, 5, `expected "key: value"`},
		{"no space after colon", head + "outcome:exit 1\n" + tail, 5, `expected "key: value"`},
		{"upper-case key", head + "Seed: 1\n" + tail, 5, `expected "key: value"`},
		{"duplicate", head + "seed: 2\n" + tail, 5, `duplicate key "seed"`},
		{"bad sha", "schedfuzz seed v1\nsha256: 1234\n", 2, "bad sha256"},
		{"bad digest", head + "digest: zz\n" + tail, 5, "bad digest"},
		{"bad seed", "schedfuzz seed v1\nseed: 0xzz\n", 2, `bad seed "0xzz"`},
		{"seed overflow", "schedfuzz seed v1\nseed: 18446744073709551616\n", 2, "bad seed"},
		{"negative run", head + "run: -1\n" + tail, 5, "bad run"},
		{"zero cpus", head + "cpus: 0\n" + tail, 5, "bad cpus"},
		{"huge cpus", head + "cpus: 99999999999\n" + tail, 5, "bad cpus"},
		{"bad faults", head + "faults: maybe\n" + tail, 5, "bad faults"},
		{"negative max-steps", head + "max-steps: -3\n" + tail, 5, "bad max-steps"},
		{"negative lone-after", head + "lone-after: -1\n" + tail, 5, "bad lone-after"},
		{"unquoted target", "schedfuzz seed v1\ntarget: /bin/x\n", 2, "want a Go-quoted string"},
		{"backquoted target", "schedfuzz seed v1\ntarget: `/bin/x`\n", 2, "want a Go-quoted string"},
		{"empty target", "schedfuzz seed v1\ntarget: \"\"\n", 2, "empty target"},
		{"unterminated arg", head + "arg: \"abc\n" + tail, 5, "bad arg"},
		{"env without =", head + "env: \"HOME\"\n" + tail, 5, "bad env"},
		{"env empty name", head + "env: \"=x\"\n" + tail, 5, "bad env"},
		{"env-redacted with =", head + "env-redacted: A=B\n" + tail, 5, "bad env-redacted"},
		{"point no addrs", head + "point: foo\n" + tail, 5, "bad point"},
		{"point bad addr", head + "point: foo 0x12,zz\n" + tail, 5, `bad address "zz"`},
		{"point empty list", head + "point: foo \n" + tail, 5, "no addresses"},
		{"control char", head + "outcome: exit\x011\n" + tail, 5, "control character"},
		{"not utf8", head + "outcome: \xff\n" + tail, 5, "not UTF-8"},
		{"count not a number", head + "decisions: many\n", 5, "bad decision count"},
		{"count negative", head + "decisions: -1\n", 5, "bad decision count"},
		{"count huge", head + "decisions: 99999999999999999999\n", 5, "bad decision count"},
		{"count over max", head + fmt.Sprintf("decisions: %d\n", MaxDecisions+1), 5, "bad decision count"},
		{"truncated", head + "decisions: 3\npick 0 of 0,1 @t0:write\n", 6, "truncated: expected 3 decisions, got 1"},
		{"truncated huge count", head + fmt.Sprintf("decisions: %d\n", MaxDecisions), 5, "truncated"},
		{"no end", head + "decisions: 1\npick 0 of 0,1 @t0:write\n", 6, `no "end"`},
		{"junk instead of end", head + "decisions: 1\npick 0 of 0,1 @t0:write\npick 0 of 0,1 @t0:write\n", 7, `expected "end"`},
		{"early end", head + "decisions: 2\npick 0 of 0,1 @t0:write\nend\n", 7, "decision 1: bad decision"},
		{"unknown kind", head + "decisions: 1\ntimer 0 of 0,1 @t0:write\nend\n", 6, `unknown decision kind "timer"`},
		{"no of", head + "decisions: 1\npick 0 in 0,1 @t0:write\nend\n", 6, "KIND CHOICE of OPTIONS @POINT"},
		{"no at", head + "decisions: 1\npick 0 of 0,1 t0:write\nend\n", 6, "KIND CHOICE of OPTIONS @POINT"},
		{"few fields", head + "decisions: 1\npick 0 of\nend\n", 6, "KIND CHOICE of OPTIONS @POINT"},
		{"empty point", head + "decisions: 1\npick 0 of 0,1 @\nend\n", 6, "empty scheduling point"},
		{"choice not a number", head + "decisions: 1\npick x of 0,1 @t0:a\nend\n", 6, "choice is not a number"},
		{"option not a number", head + "decisions: 1\npick 0 of 0,,1 @t0:a\nend\n", 6, "options are not numbers"},
		{"choice not an option", head + "decisions: 1\npick 2 of 0,1 @t0:a\nend\n", 6, "choice 2 is not among the options"},
		{"options unsorted", head + "decisions: 1\npick 0 of 1,0 @t0:a\nend\n", 6, "not increasing"},
		{"options repeated", head + "decisions: 1\npick 0 of 0,0 @t0:a\nend\n", 6, "not increasing"},
		{"negative option", head + "decisions: 1\npick -2 of -2,0 @t0:a\nend\n", 6, "not increasing non-negative"},
		{"idle wake", head + "decisions: 1\nwake -1 of -1,0 @futex:2\nend\n", 6, "not increasing non-negative"},
		{"duplicate decisions", head + tail + tail, 8, `duplicate key "decisions"`},
		{"missing target", "schedfuzz seed v1\nsha256: " + sha + "\nseed: 1\n" + tail, 0, `missing "target"`},
		{"missing sha256", "schedfuzz seed v1\ntarget: \"/x\"\nseed: 1\n" + tail, 0, `missing "sha256"`},
		{"missing seed", "schedfuzz seed v1\ntarget: \"/x\"\nsha256: " + sha + "\n" + tail, 0, `missing "seed"`},
		{"missing decisions", head, 0, `missing "decisions"`},
		{"long line", head + "outcome: " + long + "\n" + tail, 5, "line longer than"},
		{"long first line", long, 1, "line longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(strings.NewReader(c.in))
			if err == nil {
				t.Fatalf("parsed: %+v", f)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || len(msg) > 300 {
				t.Errorf("error is not one short line: %q", msg)
			}
			if !strings.Contains(msg, c.msg) {
				t.Errorf("error %q lacks %q", msg, c.msg)
			}
			pe, ok := err.(*ParseError)
			if !ok {
				t.Fatalf("error %T, want *ParseError", err)
			}
			if pe.Line != c.line {
				t.Errorf("error at line %d, want %d (%q)", pe.Line, c.line, msg)
			}
		})
	}
}

// repeat reads chunk over and over, n bytes in all.
type repeat struct {
	chunk  string
	off, n int
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	c := copy(p[:min(len(p), r.n)], r.chunk[r.off:])
	r.off = (r.off + c) % len(r.chunk)
	r.n -= c
	return c, nil
}

func TestParseTooLarge(t *testing.T) {
	r := io.MultiReader(strings.NewReader("schedfuzz seed v1\n"), &repeat{chunk: "# padding padding padding padding\n", n: MaxFileSize})
	_, err := Parse(r)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Parse of a %d-byte file: %v", MaxFileSize, err)
	}
}

func TestRoundTrip(t *testing.T) {
	odd := &SeedFile{
		Tool: "t\tab", Target: "/path with \"quotes\"/ünï\x00", SHA256: sha,
		Args: []string{"", "line\nbreak", `back\slash`, "\xff"},
		Dir:  "rel/dir",
		Env:  []EnvVar{{Name: "A", Value: ""}, {Name: "B", Value: "x=y\nz"}, {Name: "S_KEY", Redacted: true}, {Name: "A", Value: "again"}},
		Seed: 1<<64 - 1, Run: 1 << 40, Strategy: "", CPUs: 1,
		Points:  PointSet{Points: []Point{{Spec: `q"uote`, Addrs: []uint64{0, 1<<64 - 1}}, {Spec: "tab\there"}}},
		Spins:   []sched.SpinSite{{Path: "/a \"b\"\n", Vaddr: 1<<64 - 1}, {Path: "x", Vaddr: 0}},
		Outcome: "signal SIGSEGV", Signature: "signal SIGSEGV @t3:preempt",
		Decisions: []sched.Decision{{Kind: sched.KindWake, Choice: 7, Options: []int{3, 7, 100000}, At: "futex:3 with space"}},
	}
	enc, err := odd.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back := parse(t, string(enc))
	if !reflect.DeepEqual(back, odd) {
		t.Fatalf("round trip:\n got %+v\nwant %+v\n%s", back, odd, enc)
	}
	enc2, _ := back.Encode()
	if !bytes.Equal(enc, enc2) {
		t.Fatalf("Encode is not stable:\n%s\n%s", enc, enc2)
	}
}

func TestEncodeRejects(t *testing.T) {
	ok := func() *SeedFile {
		return &SeedFile{Target: "/x", SHA256: sha, Decisions: []sched.Decision{{Choice: 1, Options: []int{0, 1}, At: "t0:a"}}}
	}
	if _, err := ok().Encode(); err != nil {
		t.Fatalf("valid file: %v", err)
	}
	for name, edit := range map[string]func(*SeedFile){
		"newline in outcome":  func(f *SeedFile) { f.Outcome = "a\nb" },
		"newline in tool":     func(f *SeedFile) { f.Tool = "a\nb" },
		"empty target":        func(f *SeedFile) { f.Target = "" },
		"bad sha":             func(f *SeedFile) { f.SHA256 = "abc" },
		"bad digest":          func(f *SeedFile) { f.Digest = "abc" },
		"negative run":        func(f *SeedFile) { f.Run = -1 },
		"choice not option":   func(f *SeedFile) { f.Decisions[0].Choice = 5 },
		"no options":          func(f *SeedFile) { f.Decisions[0].Options = nil },
		"empty point":         func(f *SeedFile) { f.Decisions[0].At = "" },
		"newline in point":    func(f *SeedFile) { f.Decisions[0].At = "a\nb" },
		"nameless kind":       func(f *SeedFile) { f.Decisions[0].Kind = 200 },
		"env name with =":     func(f *SeedFile) { f.Env = []EnvVar{{Name: "A=B", Value: "c"}} },
		"redacted with space": func(f *SeedFile) { f.Env = []EnvVar{{Name: "A B", Redacted: true}} },
		"empty point spec":    func(f *SeedFile) { f.Points.Points = []Point{{}} },
	} {
		f := ok()
		edit(f)
		if enc, err := f.Encode(); err == nil {
			t.Errorf("%s: encoded:\n%s", name, enc)
		}
	}
}

// TestDigest: Digest is the SHA-256 of the decision block's lines as
// written, as the package doc promises.
func TestDigest(t *testing.T) {
	enc, err := fullWant.Encode()
	if err != nil {
		t.Fatal(err)
	}
	s := string(enc)
	block := s[strings.Index(s, "decisions: 3\n")+len("decisions: 3\n") : strings.LastIndex(s, "end\n")]
	sum := sha256.Sum256([]byte(block))
	if got := Digest(fullWant.Decisions); got != hex.EncodeToString(sum[:]) || got != fullWant.Digest {
		t.Fatalf("Digest %s, sha256 of the block %x", got, sum)
	}
	other := append([]sched.Decision(nil), fullWant.Decisions...)
	other[2].Choice = 3
	other[2].Options = []int{0, 2, 3}
	if Digest(other) == Digest(fullWant.Decisions) {
		t.Fatal("Digest ignores the choice")
	}
	if Digest(nil) != hex.EncodeToString(sha256.New().Sum(nil)) {
		t.Fatal("Digest of no decisions is not the empty hash")
	}
}

// TestKindsByName: decision kinds are read through sched.ParseKind, the
// inverse of sched.Kind.String.
func TestKindsByName(t *testing.T) {
	for _, k := range []sched.Kind{sched.KindPick, sched.KindWake} {
		got, ok := sched.ParseKind(k.String())
		if !ok || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, ok)
		}
		d, err := ParseDecision(k.String() + " 1 of 0,1 @t0:x")
		if err != nil || d.Kind != k {
			t.Errorf("ParseDecision of a %s: %+v, %v", k, d, err)
		}
	}
	if _, ok := sched.ParseKind("timer"); ok {
		t.Error("ParseKind accepts an unknown kind")
	}
}

func TestFormatDecision(t *testing.T) {
	d := sched.Decision{Kind: sched.KindPick, Choice: 2, Options: []int{0, 2, 3}, At: "t1:futex"}
	if got := FormatDecision(d); got != "pick 2 of 0,2,3 @t1:futex" {
		t.Fatalf("FormatDecision = %q", got)
	}
	back, err := ParseDecision(FormatDecision(d))
	if err != nil || !reflect.DeepEqual(back, d) {
		t.Fatalf("ParseDecision: %+v, %v", back, err)
	}
}

// TestEveryDecisionValue: every decision the strategies and the scheduler
// can make survives Encode and Parse: a pick that lets time pass
// (sched.IdleOption, chaos), futex wakes, and every fault code.
func TestEveryDecisionValue(t *testing.T) {
	ds := []sched.Decision{
		{Kind: sched.KindPick, Choice: sched.IdleOption, Options: []int{sched.IdleOption, 0, 1}, At: "t0:nanosleep"},
		{Kind: sched.KindPick, Choice: 1, Options: []int{sched.IdleOption, 1}, At: "t1:wait4"},
		{Kind: sched.KindPick, Choice: 0, Options: []int{0, 1, 2}, At: "t2:preempt"},
		{Kind: sched.KindWake, Choice: 0, Options: []int{0, 1}, At: "futex:2"},
	}
	for _, f := range []int{sched.FaultNone, sched.FaultShort, sched.FaultEINTR, sched.FaultEAGAIN, sched.FaultSpurious} {
		ds = append(ds, sched.Decision{Kind: sched.KindFault, Choice: f,
			Options: []int{sched.FaultNone, sched.FaultShort, sched.FaultEINTR, sched.FaultEAGAIN, sched.FaultSpurious}, At: "t1:read"})
	}
	sf := &SeedFile{Target: "/x", SHA256: sha, Strategy: "chaos", Decisions: ds, Digest: Digest(ds)}
	enc, err := sf.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back := parse(t, string(enc))
	if !reflect.DeepEqual(back, sf) {
		t.Fatalf("round trip:\n got %+v\nwant %+v\n%s", back, sf, enc)
	}
	if !strings.Contains(string(enc), "\npick -1 of -1,0,1 @t0:nanosleep\n") {
		t.Fatalf("the idle pick is not written as documented:\n%s", enc)
	}
	for _, bad := range []sched.Decision{
		{Kind: sched.KindWake, Choice: 0, Options: []int{-1, 0}, At: "futex:2"},   // only a pick lets time pass
		{Kind: sched.KindFault, Choice: 0, Options: []int{-1, 0}, At: "t0:read"},  // nor a fault
		{Kind: sched.KindPick, Choice: 0, Options: []int{0, -1}, At: "t0:x"},      // -1 comes first
		{Kind: sched.KindPick, Choice: 0, Options: []int{-2, 0}, At: "t0:x"},      // no other negative
		{Kind: sched.KindPick, Choice: -1, Options: []int{-1, -1, 0}, At: "t0:x"}, // increasing
	} {
		f := &SeedFile{Target: "/x", SHA256: sha, Decisions: []sched.Decision{bad}}
		if enc, err := f.Encode(); err == nil {
			t.Errorf("encoded %s:\n%s", FormatDecision(bad), enc)
		}
		if _, err := ParseDecision(FormatDecision(bad)); err == nil {
			t.Errorf("parsed %s", FormatDecision(bad))
		}
	}
}
