package replay

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PointSet is the set of extra scheduling points (breakpoints at chosen
// functions) a run stopped at, beyond syscalls. The zero PointSet is "no
// extra points". Hit counts are not here: they are part of the decision
// trace (the AT of each decision).
type PointSet struct {
	Name   string // the set's name as the user chose it ("libc-sync"); "" if none
	Points []Point
}

// Point is one scheduling point of a set.
type Point struct {
	Spec  string   // what was asked for ("pthread_mutex_lock", "libc.so.6:0x9a0f0")
	Addrs []uint64 // where it resolved in the guest; empty: unresolved
}

// encode writes p as the value of a point line: the spec (Go-quoted if it
// has spaces or starts with a quote), a space, then the addresses
// ("0x401136,0x401200") or "unresolved".
func (p Point) encode() (string, error) {
	if p.Spec == "" {
		return "", errors.New("point with an empty spec")
	}
	spec := p.Spec
	if strings.ContainsAny(spec, " \t\"\\") || checkText(spec) != nil {
		spec = strconv.Quote(spec)
	}
	return spec + " " + p.where(), nil
}

// where is "unresolved" or the address list.
func (p Point) where() string {
	if len(p.Addrs) == 0 {
		return "unresolved"
	}
	addrs := make([]string, len(p.Addrs))
	for i, a := range p.Addrs {
		addrs[i] = "0x" + strconv.FormatUint(a, 16)
	}
	return strings.Join(addrs, ",")
}

func parsePoint(val string) (Point, error) {
	var p Point
	var rest string
	if strings.HasPrefix(val, `"`) {
		q, err := strconv.QuotedPrefix(val)
		if err != nil {
			return p, errors.New("bad quoted spec")
		}
		p.Spec, _ = strconv.Unquote(q)
		rest = val[len(q):]
	} else {
		i := strings.IndexAny(val, " \t")
		if i < 0 {
			return p, errors.New(`want "SPEC ADDR,..." or "SPEC unresolved"`)
		}
		p.Spec, rest = val[:i], val[i:]
	}
	if p.Spec == "" {
		return p, errors.New("empty spec")
	}
	rest = strings.TrimSpace(rest)
	if rest == "unresolved" {
		return p, nil
	}
	if rest == "" {
		return p, errors.New(`no addresses: want "SPEC ADDR,..." or "SPEC unresolved"`)
	}
	for a := range strings.SplitSeq(rest, ",") {
		v, err := strconv.ParseUint(a, 0, 64)
		if err != nil {
			return p, fmt.Errorf("bad address %q", trunc(a))
		}
		p.Addrs = append(p.Addrs, v)
	}
	return p, nil
}

func (ps PointSet) describe() string {
	if ps.Name == "" && len(ps.Points) == 0 {
		return "no extra points"
	}
	name := ps.Name
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Sprintf("%q with %d points", name, len(ps.Points))
}

// PointSetError says how a replay's scheduling-point set differs from the
// recorded one. A replay with a different set cannot follow the recorded
// decisions (the points are where decisions happen): it is a divergence.
type PointSetError struct {
	Recorded, Current PointSet
	Reason            string
}

func (e *PointSetError) Error() string {
	return "replay diverged before the first decision: the scheduling-point set differs: " + e.Reason
}

// CheckPoints compares the point set a seed was recorded with against the
// one a replay would use and explains the first difference: the set's
// name, a point only one side has, or a point resolved to other
// addresses. Points are compared in order.
func CheckPoints(recorded, current PointSet) error {
	mismatch := func(format string, args ...any) error {
		return &PointSetError{Recorded: recorded, Current: current, Reason: fmt.Sprintf(format, args...)}
	}
	if recorded.Name != current.Name {
		return mismatch("recorded %s, now %s", recorded.describe(), current.describe())
	}
	for i := 0; i < max(len(recorded.Points), len(current.Points)); i++ {
		switch {
		case i >= len(current.Points):
			return mismatch("point %d %q was recorded, the current set ends after %d points", i, recorded.Points[i].Spec, len(current.Points))
		case i >= len(recorded.Points):
			return mismatch("point %d %q is in the current set, the recorded one ends after %d points", i, current.Points[i].Spec, len(recorded.Points))
		}
		r, c := recorded.Points[i], current.Points[i]
		if r.Spec != c.Spec {
			return mismatch("point %d: recorded %q, now %q", i, r.Spec, c.Spec)
		}
		if !slices.Equal(r.Addrs, c.Addrs) {
			return mismatch("point %d %q: recorded %s, now %s", i, r.Spec, r.where(), c.where())
		}
	}
	return nil
}
