// Package shared is a package of the program's own module: its code is
// the program's (memsites.ScopeProgram scans it).
package shared

import "sync/atomic"

// Hits counts calls.
var Hits int64

// Box holds a value.
type Box struct{ V int }

// Bump adds one to Hits and to b.
//
//go:noinline
func Bump(b *Box) int {
	atomic.AddInt64(&Hits, 1) // SITE(Bump)
	b.V++
	return b.V
}
