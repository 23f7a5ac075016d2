package sched

import "container/heap"

// Virtual time. The clock advances by a fixed quantum at every scheduling
// point (a deadline it passes wakes its sleeper at that point) and jumps to
// the next deadline when no thread can run, so a run's time is a function
// of its schedule, and sleeping costs no wall time.
const (
	// monoBase is CLOCK_MONOTONIC at the start of a run.
	monoBase = 1_000 * 1e9
	// DefaultEpoch is CLOCK_REALTIME at the start of a run (Unix
	// seconds) unless Config.Epoch says otherwise: 2025-01-01.
	DefaultEpoch = 1_735_689_600
)

// timer wakes a blocked thread at a virtual deadline (monotonic ns), or
// expires a timer of the guest's (gt, timers.go).
type timer struct {
	when  int64
	seq   uint64 // creation order: ties fire in creation order
	g     *gthread
	gt    *guestTimer
	index int
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when != h[j].when {
		return h[i].when < h[j].when
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// addTimer arms a deadline for g.
func (s *Scheduler) addTimer(g *gthread, when int64) {
	s.timerSeq++
	t := &timer{when: when, seq: s.timerSeq, g: g}
	heap.Push(&s.timers, t)
	g.timer = t
}

// cancelTimer disarms g's timer, if any.
func (s *Scheduler) cancelTimer(g *gthread) {
	if g.timer != nil && g.timer.index >= 0 {
		heap.Remove(&s.timers, g.timer.index)
	}
	g.timer = nil
}

// expireTimers wakes every thread whose deadline the clock has reached
// while others ran: time passes at every scheduling point, so a sleeper
// does not wait for the whole guest to block before it wakes.
func (s *Scheduler) expireTimers() {
	waker := s.waker
	defer func() { s.waker = waker }()
	s.waker = nil
	for len(s.timers) > 0 && s.timers[0].when <= s.now {
		t := heap.Pop(&s.timers).(*timer)
		if t.gt != nil {
			s.fireGuest(t.gt, t.when)
			s.epoch++ // a timerfd may be readable: pollers retry
			continue
		}
		t.g.timer = nil
		s.timeout(t.g)
	}
}

// fireTimers advances the clock to the earliest deadline and wakes every
// thread whose deadline has come. It reports false if there is none.
func (s *Scheduler) fireTimers() bool {
	if len(s.timers) == 0 {
		return false
	}
	if s.timers[0].when > s.now {
		s.now = s.timers[0].when
	}
	s.expireTimers()
	return true
}
