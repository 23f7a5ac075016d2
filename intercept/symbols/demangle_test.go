package symbols

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// nmAddr returns the address nm gives the mangled symbol whose name
// contains all of parts.
func nmAddr(t *testing.T, path string, parts ...string) uint64 {
	t.Helper()
	out, err := exec.Command("nm", path).Output()
	if err != nil {
		t.Fatalf("nm %s: %v", path, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && containsAll(f[2], parts) {
			v, err := strconv.ParseUint(f[0], 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("nm %s: no symbol with %q", path, parts)
	return 0
}

func TestDemangledNames(t *testing.T) {
	cpp := build(t, "names_cpp", testdata(t, "."), nil, "g++", "-O1", "-pthread", "-o", "$OUT", "names.cpp")
	set := nmAddr(t, cpp, "7Account", "3set")
	cases := []struct {
		path, name string
		want       uint64
	}{
		{cpp, "bank::Account<long>::set", set},
		{cpp, "bank::Account::set", set},
		{cpp, "Account::set", set}, // a suffix at "::", as gdb matches
		{cpp, "bank::Teller::deposit", nmAddr(t, cpp, "6Teller", "7deposit")},
		{cpp, "bank::Account::get", nmAddr(t, cpp, "7Account", "3get")}, // a const method
		{cpp, "ccount::set", 0},                                         // not at a "::"
		{cpp, "bank::Account::sett", 0},
	}
	if _, err := exec.LookPath("rustc"); err == nil {
		rs := build(t, "names_rs", testdata(t, "."), nil, "rustc", "-O", "-o", "$OUT", "names.rs")
		cases = append(cases,
			struct {
				path, name string
				want       uint64
			}{rs, "names::bank::store", nmAddr(t, rs, "5names", "4bank", "5store")},
			struct {
				path, name string
				want       uint64
			}{rs, "bank::load", nmAddr(t, rs, "5names", "4bank", "4load")})
	} else {
		t.Log("rustc not installed: Rust names not checked")
	}
	for _, c := range cases {
		o, err := Open(c.path)
		if err != nil {
			t.Fatal(err)
		}
		got := o.Funcs(c.name)
		switch {
		case c.want == 0 && len(got) != 0:
			t.Errorf("%s in %s: %#x, want nothing", c.name, c.path, got)
		case c.want != 0 && (len(got) != 1 || got[0] != c.want):
			t.Errorf("%s in %s: %#x, want [%#x] (nm)", c.name, c.path, got, c.want)
		}
	}
	o, err := Open(cpp)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.SimilarFuncs("set", 3); len(got) != 1 || got[0] != "bank::Account<long>::set" {
		t.Errorf(`SimilarFuncs("set") = %q`, got)
	}
	if got := Demangle("_ZN4bank7AccountIlE3setEl"); got != "bank::Account<long>::set" {
		t.Errorf("Demangle = %q", got)
	}
	if got := Demangle("pthread_mutex_lock"); got != "pthread_mutex_lock" {
		t.Errorf("Demangle of a C name = %q", got)
	}
}

// TestExecutable: programs (PIE, non-PIE, static, stripped) are told from
// shared libraries, libc.so.6 (which has an interpreter too) among them.
func TestExecutable(t *testing.T) {
	for _, c := range []struct {
		path string
		want bool
	}{
		{addrsPIE(t), true}, {addrsNoPIE(t), true}, {addrsStatic(t), true}, {addrsStripped(t), true},
		{plugSO(t), false}, {libcPath(t), false},
	} {
		o, err := Open(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if o.Executable != c.want {
			t.Errorf("%s: Executable = %v, want %v", c.path, o.Executable, c.want)
		}
	}
}
