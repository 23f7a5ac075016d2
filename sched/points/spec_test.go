package points

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseSet(t *testing.T) {
	for in, want := range map[string]Set{"syscalls": Syscalls, "sync": Sync, " sync ": Sync, "memory": Memory} {
		got, err := ParseSet(in)
		if err != nil || got != want {
			t.Errorf("ParseSet(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got.String() != strings.TrimSpace(in) {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	for _, in := range []string{"", "Sync", "all", "sync,syscalls"} {
		_, err := ParseSet(in)
		var se *SpecError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "want syscalls, sync, memory") {
			t.Errorf("ParseSet(%q) err = %v", in, err)
		}
	}
	if Syscalls.Funcs() != nil || len(Sync.Funcs()) != len(SyncFuncs()) || len(Memory.Funcs()) != len(SyncFuncs()) {
		t.Error("Set.Funcs")
	}
}

func TestParseYieldAt(t *testing.T) {
	valid := []struct {
		in   string
		want []Spec
	}{
		{"f", []Spec{{Func: "f"}}},
		{"f,bug.c:42", []Spec{{Func: "f"}, {File: "bug.c", Line: 42}}},
		{" f , dir/bug.c:7 ", []Spec{{Func: "f"}, {File: "dir/bug.c", Line: 7}}},
		{"/abs/path/x.c:1", []Spec{{File: "/abs/path/x.c", Line: 1}}},
		{"sync.(*Mutex).Lock,main.main.func1", []Spec{{Func: "sync.(*Mutex).Lock"}, {Func: "main.main.func1"}}},
		{"pkg.F[go.shape.int,go.shape.string],g", []Spec{{Func: "pkg.F[go.shape.int,go.shape.string]"}, {Func: "g"}}},
		{"ns::f", []Spec{{Func: "ns::f"}}},
		{"a::b::c.cc:12", []Spec{{File: "a::b::c.cc", Line: 12}}},
		{"pthread_cond_wait@GLIBC_2.3.2", []Spec{{Func: "pthread_cond_wait@GLIBC_2.3.2"}}},
		{"f,f,bug.c:1,bug.c:1", []Spec{{Func: "f"}, {File: "bug.c", Line: 1}}},
		{"main.go:0010", []Spec{{File: "main.go", Line: 10}}},
	}
	for _, c := range valid {
		got, err := ParseYieldAt(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseYieldAt(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	invalid := []struct{ in, msg string }{
		{"", "empty value"},
		{"  ", "empty value"},
		{"f,,g", "empty item 2"},
		{"f,", "empty item 2"},
		{"bug.c:", "missing line number"},
		{":12", "missing file name"},
		{"bug.c:0", "line numbers start at 1"},
		{"bug.c:-3", "bad line number"},
		{"bug.c:4x", "bad line number"},
		{"bug.c:+4", "bad line number"},
		{"my file.c:3", "white space"},
		{"f g", "white space"},
		{"-f", "starts with '-'"},
		{"f@", "missing version"},
		{"@GLIBC_2.2.5", "missing name"},
		{"pkg.F[a,b", "unbalanced"},
		{"pkg.F]", "unbalanced"},
		{"f\x01", "control characters"},
		{"bug.c:99999999999999999999", "bad line number"},
	}
	for _, c := range invalid {
		_, err := ParseYieldAt(c.in)
		var se *SpecError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "-yield-at ") {
			t.Errorf("ParseYieldAt(%q) err = %v; want a one-line -yield-at error containing %q", c.in, err, c.msg)
		}
	}
	if s := (Spec{File: "bug.c", Line: 42}).String(); s != "bug.c:42" {
		t.Errorf("String = %q", s)
	}
}

func TestParseWatch(t *testing.T) {
	valid := []struct {
		in   string
		want []Watch
	}{
		{"counter", []Watch{{Symbol: "counter"}}},
		{"counter:4", []Watch{{Symbol: "counter", Len: 4}}},
		{"a:1,b:2,c:8,main.state", []Watch{{"a", 1}, {"b", 2}, {"c", 8}, {"main.state", 0}}},
		{"ns::v:8", []Watch{{Symbol: "ns::v", Len: 8}}},
		{"x:4,x:4", []Watch{{Symbol: "x", Len: 4}}},
	}
	for _, c := range valid {
		got, err := ParseWatch(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseWatch(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	invalid := []struct{ in, msg string }{
		{"", "empty value"},
		{"counter:", "missing length"},
		{"counter:3", "1, 2, 4 or 8"},
		{"counter:16", "1, 2, 4 or 8"},
		{"counter:0", "1, 2, 4 or 8"},
		{"counter:x", "bad length"},
		{"counter:-4", "bad length"},
		{":4", "empty name"},
		{"a b:4", "white space"},
		{"a,,b", "empty item 2"},
	}
	for _, c := range invalid {
		_, err := ParseWatch(c.in)
		if err == nil || !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "-watch ") {
			t.Errorf("ParseWatch(%q) err = %v; want a one-line -watch error containing %q", c.in, err, c.msg)
		}
	}
	if s := (Watch{"counter", 4}).String(); s != "counter:4" {
		t.Errorf("String = %q", s)
	}
}

func FuzzParseYieldAt(f *testing.F) {
	for _, s := range []string{"f,bug.c:42", "pkg.F[a,b]", "a::b:3", ":", ",", "x@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		specs, err := ParseYieldAt(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(s, "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		for _, sp := range specs {
			if sp.IsLine() && sp.Line < 1 || !sp.IsLine() && sp.Func == "" {
				t.Errorf("ParseYieldAt(%q) gave %+v", s, sp)
			}
			// A spec's text parses back to itself.
			again, err := ParseYieldAt(sp.String())
			if err != nil || len(again) != 1 || again[0] != sp {
				t.Errorf("round trip of %+v: %+v, %v", sp, again, err)
			}
		}
	})
}
