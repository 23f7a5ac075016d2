package replay

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; its errors are one line; whatever it
// accepts, Encode writes, and the encoding parses back to the same
// SeedFile and encodes to the same bytes (Encode is canonical).
//
//	go test -fuzz=FuzzParse ./replay
//
// Seed inputs: testdata/fuzz/FuzzParse, plus the test files below.
func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte(strings.ReplaceAll(full, "\n", "\r\n")))
	f.Add([]byte("schedfuzz seed v1\ntarget: \"/x\"\nsha256: " + sha + "\nseed: 1\ndecisions: 0\nend\n"))
	f.Add([]byte("schedfuzz seed v1\ntarget: \"/x\"\nsha256: " + sha + "\nseed: 1\nexpect-exit: 0, 3\nfailure: \"a(b|c)\"\nignore: \"\\\\d+\"\ndecisions: 0\nend\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := Parse(bytes.NewReader(data))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			return
		}
		enc, err := sf.Encode()
		if err != nil {
			t.Fatalf("Encode of a parsed file: %v", err)
		}
		back, err := Parse(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("Parse of Encode: %v\n%s", err, enc)
		}
		if !reflect.DeepEqual(back, sf) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", back, sf)
		}
		enc2, err := back.Encode()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("Encode not canonical (%v):\n%s\n%s", err, enc, enc2)
		}
	})
}

// TestFuzzCorpus: the checked-in fuzz inputs are what their names say:
// valid-* files parse, corrupt-* files do not.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		head, lit, _ := strings.Cut(string(raw), "\n")
		lit = strings.TrimSpace(lit)
		if head != "go test fuzz v1" || !strings.HasPrefix(lit, "[]byte(") || !strings.HasSuffix(lit, ")") {
			t.Fatalf("%s: not a go test fuzz v1 file", e.Name())
		}
		data, err := strconv.Unquote(lit[len("[]byte(") : len(lit)-1])
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		_, err = Parse(strings.NewReader(data))
		switch {
		case strings.HasPrefix(e.Name(), "valid-") && err != nil:
			t.Errorf("%s: %v", e.Name(), err)
		case strings.HasPrefix(e.Name(), "corrupt-") && err == nil:
			t.Errorf("%s parses", e.Name())
		}
		n++
	}
	if n < 6 {
		t.Fatalf("only %d fuzz corpus files", n)
	}
}
