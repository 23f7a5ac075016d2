package main

import (
	"strings"
	"testing"
	"unicode"
)

// TestOneLine: control characters are escaped, invalid UTF-8 shown as
// bytes, long messages cut in the middle to maxMessage runes.
func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain":               "plain",
		"two\nlines":          `two\nlines`,
		"esc \x1b[31mred":     `esc \x1b[31mred`,
		"tab\there":           "tab here",
		"bad \xff byte":       `bad \xff byte`,
		"bell\a and del \x7f": `bell\x07 and del \x7f`,
		"unicode é ✓":         "unicode é ✓",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
	long := "start " + strings.Repeat("x", 500) + " end"
	got := oneLine(long)
	if n := len([]rune(got)); n != maxMessage || !strings.HasPrefix(got, "start ") || !strings.HasSuffix(got, " end") || !strings.Contains(got, " ... ") {
		t.Errorf("long message: %d runes: %q", n, got)
	}
	for _, r := range oneLine("a\x00b\x1fc\u0085d\u2028") {
		if unicode.IsControl(r) {
			t.Errorf("control character %U left", r)
		}
	}
}
