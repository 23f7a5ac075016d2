package replay

import (
	"strings"
	"testing"
)

func TestCheckPoints(t *testing.T) {
	set := PointSet{Name: "libc-sync", Points: []Point{
		{Spec: "pthread_mutex_lock", Addrs: []uint64{0x401136}},
		{Spec: "pthread_mutex_unlock"},
	}}
	clone := func() PointSet {
		c := PointSet{Name: set.Name}
		for _, p := range set.Points {
			c.Points = append(c.Points, Point{Spec: p.Spec, Addrs: append([]uint64(nil), p.Addrs...)})
		}
		return c
	}
	if err := CheckPoints(set, clone()); err != nil {
		t.Fatalf("same set: %v", err)
	}
	if err := CheckPoints(PointSet{}, PointSet{}); err != nil {
		t.Fatalf("no points: %v", err)
	}
	cases := []struct {
		name string
		cur  func() PointSet
		msg  string
	}{
		{"none now", func() PointSet { return PointSet{} }, `recorded "libc-sync" with 2 points, now no extra points`},
		{"other name", func() PointSet { c := clone(); c.Name = "go-sync"; return c }, `now "go-sync" with 2 points`},
		{"fewer", func() PointSet { c := clone(); c.Points = c.Points[:1]; return c }, `point 1 "pthread_mutex_unlock" was recorded, the current set ends after 1 points`},
		{"more", func() PointSet { c := clone(); c.Points = append(c.Points, Point{Spec: "sem_wait"}); return c }, `point 2 "sem_wait" is in the current set`},
		{"other spec", func() PointSet { c := clone(); c.Points[1].Spec = "sem_post"; return c }, `point 1: recorded "pthread_mutex_unlock", now "sem_post"`},
		{"moved", func() PointSet { c := clone(); c.Points[0].Addrs = []uint64{0x401200}; return c }, `point 0 "pthread_mutex_lock": recorded 0x401136, now 0x401200`},
		{"unresolved now", func() PointSet { c := clone(); c.Points[0].Addrs = nil; return c }, `recorded 0x401136, now unresolved`},
	}
	for _, c := range cases {
		err := CheckPoints(set, c.cur())
		if _, ok := err.(*PointSetError); !ok || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "replay diverged") {
			t.Errorf("%s: %v, want %q", c.name, err, c.msg)
		}
	}
	// A recorded set replayed by a schedfuzz with none is a divergence too.
	if err := CheckPoints(PointSet{Name: "x"}, PointSet{}); err == nil {
		t.Error("named empty set vs none: no divergence")
	}
}
