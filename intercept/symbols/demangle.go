package symbols

import (
	"sort"
	"strconv"
	"strings"

	"github.com/ianlancetaylor/demangle"
)

// C++ and Rust names. Their symbols are mangled (_ZN2ns5Klass6methodEi,
// _RNvNtCs1_5crate6module4func); users name them as the language does
// (ns::Klass::method, crate::module::func). A qualified name matches the
// mangled functions and variables that demangle to it without parameters,
// with or without template arguments (ns::Vec<int>::push is also
// ns::Vec::push), Rust's legacy hash suffix dropped; if none does, those
// whose demangled name ends with it at a "::" (Klass::method finds
// ns::Klass::method, as gdb's breakpoints do). Demangling is
// github.com/ianlancetaylor/demangle (Itanium C++, Rust legacy and v0; the
// demangler Go's pprof uses).
//
// Nothing is demangled up front: both manglings spell each identifier as
// its length and its text ("7Account"), so a lookup demangles only the
// symbols that contain every identifier of the name: a lookup in
// libstdc++ costs a scan of its names, not 6000 demanglings.

// isMangled reports whether a symbol name is an Itanium C++ or Rust v0
// mangled name.
func isMangled(name string) bool {
	return strings.HasPrefix(name, "_Z") || strings.HasPrefix(name, "_R")
}

// isQualified reports whether a name is a C++ or Rust path (a::b).
func isQualified(name string) bool { return strings.Contains(name, "::") }

// Demangle returns the demangled form of a C++ or Rust symbol name, without
// parameters ("ns::Klass::method"), or name itself if it is not mangled.
func Demangle(name string) string {
	if !isMangled(name) {
		return name
	}
	if d, err := demangle.ToString(name, demangle.NoParams); err == nil && d != "" {
		return d
	}
	return name
}

// demangledKeys returns the names a mangled symbol answers to: demangled
// without parameters, and also without template arguments.
func demangledKeys(name string) []string {
	full, err := demangle.ToString(name, demangle.NoParams)
	if err != nil || full == "" {
		return nil
	}
	keys := []string{full}
	if bare, err := demangle.ToString(name, demangle.NoParams, demangle.NoTemplateParams); err == nil && bare != full && bare != "" {
		keys = append(keys, bare)
	}
	return keys
}

// identifiers returns how a qualified name's identifiers are spelled in a
// mangled name ("bank::Account<long>::set" -> "4bank", "7Account", "3set").
func identifiers(name string) []string {
	var out []string
	for _, c := range strings.Split(name, "::") {
		if i := strings.IndexByte(c, '<'); i >= 0 {
			c = c[:i]
		}
		if c == "" || strings.ContainsAny(c, "{}() ~") {
			continue // closures, operators, destructors: no plain identifier
		}
		out = append(out, strconv.Itoa(len(c))+c)
	}
	return out
}

// demangledMatches returns the indexes of the mangled functions and
// variables whose demangled name is name, or, with suffix, ends with
// "::"+name; and the names they matched under.
func (o *Object) demangledMatches(name string, suffix bool) (idx []int, matched []string) {
	ids := identifiers(name)
	t := o.table()
	for i := range t.len() {
		if k := t.kind(i); k != KindFunc && k != KindObject {
			continue
		}
		sn := t.name(i)
		if !isMangled(sn) || !containsAll(sn, ids) {
			continue
		}
		for _, k := range demangledKeys(sn) {
			if k == name || suffix && strings.HasSuffix(k, "::"+name) {
				idx = append(idx, i)
				matched = append(matched, k)
				break
			}
		}
	}
	return idx, matched
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// qualified returns the symbols a C++ or Rust path names (see above).
func (o *Object) qualified(name string) []int {
	if idx, _ := o.demangledMatches(name, false); len(idx) > 0 {
		return idx
	}
	idx, _ := o.demangledMatches(name, true)
	return idx
}

// SimilarFuncs returns up to max function names of the object, demangled,
// whose last path component is the last component of name: what the user
// may have meant ("ns::Klass::method" for "Klass::methd"'s neighbour
// "Klass::method" is not found this way, but for "method" and for
// "other::Klass::method" it is). They are sorted, without duplicates.
func (o *Object) SimilarFuncs(name string, max int) []string {
	last := name
	if i := strings.LastIndex(name, "::"); i >= 0 {
		last = name[i+2:]
	}
	seen := map[string]bool{}
	var out []string
	idx, matched := o.demangledMatches(last, true)
	for j, i := range idx {
		if n := matched[j]; o.table().kind(i) == KindFunc && n != name && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	if len(out) > max {
		out = out[:max]
	}
	return out
}
