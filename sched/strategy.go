package sched

import (
	"hash/fnv"
	"strconv"
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
	// KindFault chooses a syscall's result (Config.Faults): options and
	// the choice are Fault values, FaultNone first.
	KindFault
)

var kindNames = [...]string{KindPick: "pick", KindWake: "wake", KindFault: "fault"}

// Fault values: the options of a KindFault decision.
const (
	FaultNone     = 0 // the call runs as the guest made it
	FaultShort    = 1 // a short read or write (half the count)
	FaultEINTR    = 2 // interrupted: -EINTR, nothing transferred
	FaultEAGAIN   = 3 // -EAGAIN on a non-blocking fd
	FaultSpurious = 4 // a futex wait returns 0 without a wake-up
)

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind" + strconv.Itoa(int(k))
}

// ParseKind is the inverse of Kind.String for the known kinds.
func ParseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s {
			return Kind(k), true
		}
	}
	return 0, false
}

// Request is one choice the scheduler needs made. It is valid only during
// the Choose call that receives it.
type Request struct {
	Kind Kind
	// Options is sorted and has at least two elements.
	Options []int
	// At describes the scheduling point that led to the decision
	// ("t1:futex", "futex:2"); replay checks it.
	At string
	// Thread is the thread whose scheduling point this decision belongs
	// to (the one that yielded, or that issued the wake or the syscall;
	// -1 if none) and Count how many points it has reached, so that
	// (Thread, Count) names the point "thread T, its k-th point"
	// independently of what the other threads did.
	Thread, Count int
	// Yield reports, for a pick, that Thread gave up the CPU at this
	// point: it called sched_yield, or the watchdog preempted it in a
	// spin loop. Strategies treat a yield as a priority drop (as CHESS
	// and Fray do): the yielding thread runs again only when no other
	// thread can, so a spin-wait cannot livelock a correct program.
	Yield bool
	// Step counts the run's scheduling points so far; Now is the virtual
	// time (ns since the start of the run).
	Step int
	Now  int64
	// Pending returns the pending event of a thread; see Event.
	Pending func(vtid int) Event
}

// Event describes what a thread will do when it runs next: its pending
// scheduling point.
type Event struct {
	Thread int
	// Count says which of the thread's points this is (the k-th).
	Count int
	Point PointKind
	// Name is the syscall or function name ("futex", "pthread_mutex_lock").
	Name string
	// Obj identifies the object the event touches (a futex word, an fd,
	// a path, a lock, a watched variable), 0 if none is known. Two events
	// with the same non-zero Obj may conflict: their order can matter.
	Obj uint64
}

// Yields reports whether the event gives up the CPU: a sched_yield, a
// counted hit of a spin site (spin.go), or a preemption of a spin loop by
// the watchdog. A thread whose pending event yields is waiting for
// another thread, not making progress.
func (e Event) Yields() bool {
	return e.Point == PointPreempt || e.Point == PointSpin || (e.Point == PointSyscall && e.Name == "sched_yield")
}

// Event returns the pending event of thread vtid (one of Options, for a
// KindPick request). It is computed on demand: strategies that do not ask
// cost nothing.
func (r *Request) Event(vtid int) Event {
	if r.Pending == nil {
		return Event{Thread: vtid}
	}
	return r.Pending(vtid)
}

// Decider makes every nondeterministic choice of a run. Explorers wrap a
// Strategy and record the choices; replay returns recorded choices and
// reports a divergence as an error.
type Decider interface {
	Choose(r *Request) (int, error)
}

// Strategy is an exploration policy: it picks one of r.Options.
type Strategy interface {
	Choose(r *Request) int
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
func (r *Recording) Choose(req *Request) (int, error) {
	c := r.Strategy.Choose(req)
	r.Add(req, c)
	return c, nil
}

// Add records that req was answered with choice (by whatever Decider).
func (r *Recording) Add(req *Request, choice int) {
	r.Decisions = append(r.Decisions, Decision{Kind: req.Kind, Choice: choice, Options: append([]int(nil), req.Options...), At: req.At})
}

// objKey hashes an object's identity into an Event.Obj value.
func objKey(kind string, parts ...uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(kind))
	var b [8]byte
	for _, p := range parts {
		for i := range b {
			b[i] = byte(p >> (8 * i))
		}
		h.Write(b[:])
	}
	if v := h.Sum64(); v != 0 {
		return v
	}
	return 1
}

func objKeyString(kind, s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(s))
	if v := h.Sum64(); v != 0 {
		return v
	}
	return 1
}
