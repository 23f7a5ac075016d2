package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMessage is the longest error message schedfuzz prints, in runes
// after "schedfuzz: ".
const maxMessage = 240

// oneLine makes s fit one line of a terminal's worth of text: control
// characters (a newline, an escape sequence from a file name or the
// guest) are shown escaped, invalid UTF-8 as \x bytes, and a message
// longer than maxMessage runes is cut in the middle, where a long path or
// list usually is, keeping its beginning and its end.
func oneLine(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	out := []rune(b.String())
	if len(out) <= maxMessage {
		return string(out)
	}
	head := maxMessage * 2 / 3
	tail := maxMessage - head - 5
	return string(out[:head]) + " ... " + string(out[len(out)-tail:])
}

// parseFlags parses args into fs. A bad flag or value is one line
// (exit 2), not the flag list; -h prints usage (exit 0). ok is false when
// the caller must return code.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer, usage func(io.Writer)) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		usage(stderr)
		return exitOK, false
	}
	fmt.Fprintf(stderr, "schedfuzz: %s (%s -h lists the flags)\n", oneLine(err.Error()), fs.Name())
	return exitUsage, false
}

// printDefaults prints fs's flags to w.
func printDefaults(fs *flag.FlagSet, w io.Writer) {
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
