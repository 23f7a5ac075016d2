package explore

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/sched"
)

func TestSignature(t *testing.T) {
	pick := func(at string) sched.Decision {
		return sched.Decision{Kind: sched.KindPick, Choice: 0, Options: []int{0, 1}, At: at}
	}
	wake := sched.Decision{Kind: sched.KindWake, Choice: 0, Options: []int{0, 1}, At: "futex:2"}
	exit1 := unix.WaitStatus(1 << 8)
	cases := []struct {
		name string
		r    *Result
		want string
	}{
		{"exit_group thread", &Result{Status: exit1, Decisions: []sched.Decision{
			pick("t0:clone3"), pick("t1:write"), pick("t2:write"), pick("t1:exit_group"), pick("t2:exit"), wake,
		}}, "exit 1 @t1:write"},
		{"last thread when nobody exit_groups in the trace", &Result{Status: exit1, Decisions: []sched.Decision{
			pick("t1:write"), pick("t2:read"), wake,
		}}, "exit 1 @t2:read"},
		{"only waker decisions", &Result{Status: exit1, Decisions: []sched.Decision{wake}}, "exit 1"},
		{"no decisions", &Result{Status: exit1}, "exit 1"},
		{"deadlock from the report", &Result{
			Outcome: sched.Outcome{Kind: sched.Deadlock, Report: "deadlock: no thread can run and no timer is pending\n" +
				"  thread 2 (tid 12034, pid 12032) at t2:futex: waits on futex 0x5555555580e0\n" +
				"  thread 0 (tid 12032, pid 12032) at t0:futex: waits on futex 0x7ffff7dd2990\n" +
				"  thread 1 (tid 12033, pid 12032) at t1:write: waits for fd 4"},
			Decisions: []sched.Decision{pick("t1:write"), pick("t2:exit")},
		}, "deadlock @t0:futex,t1:write,t2:futex"},
		{"deadlock without a report", &Result{Outcome: sched.Outcome{Kind: sched.Deadlock},
			Decisions: []sched.Decision{pick("t1:futex")}}, "deadlock @t1:futex"},
		{"hang", &Result{Hang: true, Decisions: []sched.Decision{pick("t3:read")}}, "hang @t3:read"},
	}
	for _, c := range cases {
		if got := Signature(c.r); got != c.want {
			t.Errorf("%s: Signature = %q, want %q", c.name, got, c.want)
		}
	}
}
