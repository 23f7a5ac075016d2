package replay

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestWorldAndBehaviorKeysRoundTrip(t *testing.T) {
	f := &SeedFile{Tool: "schedfuzz 0.3", Target: "./prog", SHA256: strings.Repeat("ab", 32), Seed: 7, Strategy: "random",
		Outcome: "exit 1", Hermetic: "yes", Net: "host", Stdin: "/src/in put", StdinSHA256: strings.Repeat("cd", 32),
		Behavior: Behavior{Events: []BehaviorEvent{
			{Thread: 0, Point: 16, Value: -3}, // a hash is a bit pattern
			{Thread: 0, Point: 17, Call: "openat", Value: -17},
			{Thread: 1, Point: 16, Value: 0x7fffffffffffffff},
		}},
		Outside: []Change{{"written", "/home/me/.cache/x y"}, {"renamed", "/a -> /b"}},
	}
	b, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nhermetic: yes\n", "\nnet: host\n", "\nstdin: \"/src/in put\"\n", "\nsyscalls: t0 16 fffffffffffffffd\n",
		"\nresult: t0 17 openat -17\n", "\noutside: written \"/home/me/.cache/x y\"\n"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("encoded seed lacks %q:\n%s", want, b)
		}
	}
	g, err := Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if !reflect.DeepEqual(g.Behavior, f.Behavior) || !reflect.DeepEqual(g.Outside, f.Outside) ||
		g.Hermetic != f.Hermetic || g.Net != f.Net || g.Stdin != f.Stdin || g.StdinSHA256 != f.StdinSHA256 {
		t.Errorf("round trip:\n got %+v\nwant %+v", g, f)
	}
	for _, bad := range []string{"hermetic: maybe", "net: lan", "syscalls: t0 x 1", "result: t0 1 openat", "outside: ate \"/x\"", "stdin-sha256: 12"} {
		in := strings.Replace(string(b), "decisions: 0", bad+"\ndecisions: 0", 1)
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	// A seed file from before these keys: nothing recorded, no sandbox.
	old := strings.Join([]string{Magic, `target: "./p"`, "sha256: " + strings.Repeat("ab", 32), "seed: 1", "decisions: 0", "end", ""}, "\n")
	o, err := Parse(strings.NewReader(old))
	if err != nil || o.Hermetic != "" || len(o.Behavior.Events) != 0 {
		t.Errorf("old seed: %+v, %v", o, err)
	}
}

func TestFirstDifference(t *testing.T) {
	rec := Behavior{Events: []BehaviorEvent{
		{Thread: 0, Point: 3, Call: "openat", Value: 3},
		{Thread: 0, Point: 16, Value: 111},
		{Thread: 0, Point: 20, Call: "openat", Value: 4},
		{Thread: 0, Point: 32, Value: 222},
	}}
	same := rec
	if d := FirstDifference(&rec, &same); d != nil {
		t.Errorf("identical behaviours differ: %+v", d)
	}
	short := Behavior{Events: rec.Events[:2]}
	if d := FirstDifference(&rec, &short); d != nil {
		t.Errorf("a replay that stopped early is a difference: %+v", d)
	}
	res := Behavior{Events: append(append([]BehaviorEvent{}, rec.Events[:2]...), BehaviorEvent{Thread: 0, Point: 20, Call: "openat", Value: -17})}
	d := FirstDifference(&rec, &res)
	if d == nil || d.Index != 2 {
		t.Fatalf("result difference: %+v", d)
	}
	calls := func(th, from, to int) []string {
		return []string{`openat(AT_FDCWD, "/tmp/x", O_RDWR|O_CREAT|O_EXCL, 0600) = -1 EEXIST (File exists)`}
	}
	want := `the program's behaviour first differed at t0 point 20: openat(AT_FDCWD, "/tmp/x", O_RDWR|O_CREAT|O_EXCL, 0600) returned -EEXIST (recorded: 4)`
	if got := d.Describe(calls); got != want {
		t.Errorf("Describe:\n got %s\nwant %s", got, want)
	}
	hash := Behavior{Events: append(append([]BehaviorEvent{}, rec.Events[:3]...), BehaviorEvent{Thread: 0, Point: 32, Value: 999})}
	d = FirstDifference(&rec, &hash)
	if d == nil || d.Since != 16 || !strings.Contains(d.Describe(nil), "in thread 0's system calls between its points 16 and 32") {
		t.Errorf("checkpoint difference: %+v %s", d, d.Describe(nil))
	}
}
