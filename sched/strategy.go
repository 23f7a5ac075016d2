package sched

import (
	"math"
	"math/rand/v2"
)

// Kind says what a decision chooses.
type Kind uint8

const (
	// KindPick chooses which runnable thread runs next; options and the
	// choice are virtual thread ids (creation order, 0 = first thread).
	KindPick Kind = iota
	// KindWake chooses which futex waiter a wake wakes; options and the
	// choice are indices into the waiters in FIFO order.
	KindWake
)

func (k Kind) String() string {
	if k == KindWake {
		return "wake"
	}
	return "pick"
}

// ParseKind is the inverse of String: it returns the kind whose String is
// s. It asks String itself, so a kind added to String is parsed without
// further changes (seed files name kinds this way).
func ParseKind(s string) (Kind, bool) {
	for k := 0; k <= math.MaxUint8; k++ {
		if Kind(k).String() == s {
			return Kind(k), true
		}
	}
	return 0, false
}

// Decider makes every nondeterministic choice of a run. Explorers wrap a
// Strategy and record the choices; replay returns recorded choices and
// reports a divergence as an error. options is sorted and has at least two
// elements; at describes the scheduling point ("t1:futex").
type Decider interface {
	Choose(kind Kind, options []int, at string) (int, error)
}

// Strategy is an exploration policy: it picks one of options.
type Strategy interface {
	Choose(kind Kind, options []int, at string) int
}

// Random picks uniformly among the options (a random walk), from a PCG
// stream seeded by the run's seed.
type Random struct{ rng *rand.Rand }

// NewRandom returns a random walk seeded with seed.
func NewRandom(seed uint64) *Random {
	return &Random{rng: rand.New(rand.NewPCG(seed, 0x5ced_f022))}
}

// Choose implements Strategy.
func (r *Random) Choose(_ Kind, options []int, _ string) int {
	return options[r.rng.IntN(len(options))]
}

// Recording is a Decider that asks a Strategy and remembers every choice.
type Recording struct {
	Strategy  Strategy
	Decisions []Decision
}

// Decision is one recorded choice.
type Decision struct {
	Kind    Kind
	Choice  int
	Options []int
	At      string
}

// Choose implements Decider.
func (r *Recording) Choose(kind Kind, options []int, at string) (int, error) {
	c := r.Strategy.Choose(kind, options, at)
	r.Decisions = append(r.Decisions, Decision{Kind: kind, Choice: c, Options: append([]int(nil), options...), At: at})
	return c, nil
}
