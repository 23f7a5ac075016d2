package points

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// SpecError is a bad -points, -yield-at or -watch value. Its message is
// one line: `-yield-at "bug.c:": missing line number after ':'`.
type SpecError struct {
	Flag string // "points", "yield-at", "watch"
	Spec string // the offending item (or the whole value)
	Msg  string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("-%s %q: %s", e.Flag, e.Spec, e.Msg)
}

// Spec is one -yield-at item: a function (Func) or a source line
// (File, Line).
type Spec struct {
	Func string
	File string
	Line int
}

// IsLine reports a file:LINE spec.
func (s Spec) IsLine() bool { return s.File != "" }

func (s Spec) String() string {
	if s.IsLine() {
		return s.File + ":" + strconv.Itoa(s.Line)
	}
	return s.Func
}

// ParseYieldAt parses a -yield-at value: comma-separated function names
// and file:LINE source positions, e.g. "worker,bug.c:42,sync.(*Pool).Get".
// Commas inside brackets or parentheses belong to the name (Go generic
// instances: "pkg.F[go.shape.int,go.shape.string]"). An item is a source
// line when it contains a ':' that is not part of "::" (C++ scopes); the
// part after the last such ':' must then be a line number >= 1. Function
// names may carry a symbol version (pthread_cond_wait@GLIBC_2.3.2).
// Duplicates are dropped; the order is kept.
func ParseYieldAt(s string) ([]Spec, error) {
	items, err := splitList("yield-at", s)
	if err != nil {
		return nil, err
	}
	var out []Spec
	seen := map[Spec]bool{}
	for _, it := range items {
		sp, err := parseYieldItem(it)
		if err != nil {
			return nil, err
		}
		if !seen[sp] {
			seen[sp] = true
			out = append(out, sp)
		}
	}
	return out, nil
}

func parseYieldItem(it string) (Spec, error) {
	bad := func(msg string) (Spec, error) {
		return Spec{}, &SpecError{Flag: "yield-at", Spec: it, Msg: msg}
	}
	if i := lastSingleColon(it); i >= 0 {
		file, num := it[:i], it[i+1:]
		if file == "" {
			return bad("missing file name before ':'")
		}
		if strings.ContainsFunc(file, unicode.IsSpace) {
			return bad("file name contains white space")
		}
		if num == "" {
			return bad("missing line number after ':'")
		}
		n, err := strconv.Atoi(num)
		if err != nil || strings.IndexFunc(num, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return bad(fmt.Sprintf("bad line number %q (want file:LINE)", num))
		}
		if n < 1 {
			return bad("line numbers start at 1")
		}
		return Spec{File: file, Line: n}, nil
	}
	if err := checkName(it); err != "" {
		return bad(err)
	}
	return Spec{Func: it}, nil
}

// lastSingleColon returns the index of the last ':' not adjacent to
// another ':', or -1.
func lastSingleColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != ':' {
			continue
		}
		if (i > 0 && s[i-1] == ':') || (i+1 < len(s) && s[i+1] == ':') {
			for i > 0 && s[i-1] == ':' { // skip the whole run
				i--
			}
			continue
		}
		return i
	}
	return -1
}

// checkName validates a symbol name; "" means fine.
func checkName(n string) string {
	switch {
	case n == "":
		return "empty name"
	case strings.ContainsFunc(n, unicode.IsSpace):
		return "name contains white space"
	case strings.HasPrefix(n, "-"):
		return "name starts with '-'"
	case strings.HasPrefix(n, "@"):
		return "missing name before '@'"
	case strings.HasSuffix(n, "@"):
		return "missing version after '@'"
	}
	if strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "name contains control characters"
	}
	return ""
}

// splitList splits at commas outside brackets and parentheses; empty
// items and unbalanced brackets are errors.
func splitList(flag, s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, &SpecError{Flag: flag, Spec: s, Msg: "empty value"}
	}
	var items []string
	depth, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			switch s[i] {
			case '[', '(':
				depth++
				continue
			case ']', ')':
				depth--
				if depth < 0 {
					return nil, &SpecError{Flag: flag, Spec: s, Msg: fmt.Sprintf("unbalanced %q at offset %d", s[i], i)}
				}
				continue
			case ',':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		} else if depth != 0 {
			return nil, &SpecError{Flag: flag, Spec: s, Msg: "unbalanced brackets"}
		}
		it := strings.TrimSpace(s[start:i])
		if it == "" {
			return nil, &SpecError{Flag: flag, Spec: s, Msg: fmt.Sprintf("empty item %d", len(items)+1)}
		}
		items = append(items, it)
		start = i + 1
	}
	return items, nil
}

// Watch is one -watch item: a global variable and how many bytes of it
// to watch (0: its size from the symbol table).
type Watch struct {
	Symbol string
	Len    int
}

func (w Watch) String() string {
	if w.Len == 0 {
		return w.Symbol
	}
	return w.Symbol + ":" + strconv.Itoa(w.Len)
}

// WatchLens are the lengths an x86-64 debug register can watch. A
// variable of another size is watched through several registers (the
// tracer's business); a given :len must be one of these.
var WatchLens = []int{1, 2, 4, 8}

// ParseWatch parses a -watch value: comma-separated SYMBOL[:len] items,
// e.g. "counter:4,main.state". len is 1, 2, 4 or 8 (the widths of a
// hardware watchpoint); without it the variable's size is used.
func ParseWatch(s string) ([]Watch, error) {
	items, err := splitList("watch", s)
	if err != nil {
		return nil, err
	}
	var out []Watch
	seen := map[Watch]bool{}
	for _, it := range items {
		bad := func(msg string) ([]Watch, error) {
			return nil, &SpecError{Flag: "watch", Spec: it, Msg: msg}
		}
		w := Watch{Symbol: it}
		if i := lastSingleColon(it); i >= 0 {
			w.Symbol = it[:i]
			num := it[i+1:]
			if num == "" {
				return bad("missing length after ':'")
			}
			n, err := strconv.Atoi(num)
			if err != nil || strings.IndexFunc(num, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
				return bad(fmt.Sprintf("bad length %q (want SYMBOL[:1|2|4|8])", num))
			}
			ok := false
			for _, l := range WatchLens {
				ok = ok || n == l
			}
			if !ok {
				return bad(fmt.Sprintf("length %d: a hardware watchpoint covers 1, 2, 4 or 8 bytes", n))
			}
			w.Len = n
		}
		if msg := checkName(w.Symbol); msg != "" {
			return bad(msg)
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out, nil
}
