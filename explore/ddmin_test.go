package explore

import (
	"slices"
	"testing"
)

// ddmin finds the 1-minimal subset that makes the test hold.
func TestDdminMinimal(t *testing.T) {
	items := make([]item, 100)
	for i := range items {
		items[i] = item{k: keyAt(0, i), forced: true}
	}
	has := func(s []item, c int) bool {
		return slices.ContainsFunc(s, func(it item) bool { return int(it.k.count) == c })
	}
	calls := 0
	got := ddmin(items, func(s []item) bool { calls++; return has(s, 3) && has(s, 71) }, func() bool { return false })
	if len(got) != 2 || !has(got, 3) || !has(got, 71) {
		t.Fatalf("ddmin = %v", got)
	}
	t.Logf("%d tests", calls)
}

// ddmin's bookkeeping ends with the budget: over a million items whose
// failure needs all of them (every candidate fails to reproduce), it
// stops building candidates as soon as stop says so, instead of growing
// to a million chunks and their complements (quadratic work).
func TestDdminStops(t *testing.T) {
	items := make([]item, 1_000_000)
	for i := range items {
		items[i] = item{k: keyAt(i%2, i), forced: true}
	}
	calls, built := 0, 0
	got := ddmin(items, func(s []item) bool { calls++; built += len(s); return false }, func() bool { return calls >= 10 })
	if calls != 10 || len(got) != len(items) {
		t.Fatalf("%d tests, %d items left", calls, len(got))
	}
	if built > 10*len(items) {
		t.Fatalf("%d items in candidates for 10 tests", built)
	}
}
