package explore

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/sched"
)

func TestSignature(t *testing.T) {
	exit1 := unix.WaitStatus(1 << 8)
	th := func(vtid int, exited bool, last ...string) sched.ThreadInfo {
		return sched.ThreadInfo{Vtid: vtid, Exited: exited, Last: last, Points: len(last)}
	}
	blocked := func(ti sched.ThreadInfo) sched.ThreadInfo { ti.Waits = "waits on futex 0x1000"; return ti }
	cases := []struct {
		name string
		r    *Result
		want string
	}{
		{"the ender's last two points before its exit", &Result{Status: exit1, Outcome: sched.Outcome{Ender: 0, Threads: []sched.ThreadInfo{
			th(0, true, "futex", "write", "exit_group", "exit"), th(1, true, "write", "exit"),
		}}}, "exit 1 @ write>exit_group"},
		{"renumbered threads, same signature", &Result{Status: exit1, Outcome: sched.Outcome{Ender: 1, Threads: []sched.ThreadInfo{
			th(0, true, "write", "exit"), th(1, true, "read", "write", "exit_group", "exit"),
		}}}, "exit 1 @ write>exit_group"},
		{"a crash", &Result{Status: unix.WaitStatus(unix.SIGSEGV), Outcome: sched.Outcome{Ender: 1, Threads: []sched.ThreadInfo{
			th(0, false, "futex"), th(1, true, "mmap", "write"),
		}}}, "signal SIGSEGV @ mmap>write"},
		{"no ender", &Result{Status: exit1, Outcome: sched.Outcome{Ender: -1}}, "exit 1 @ "},
		{"a deadlock: where the live threads are stuck, sorted", &Result{Outcome: sched.Outcome{Kind: sched.Deadlock, Ender: -1, Threads: []sched.ThreadInfo{
			th(0, false, "clone3", "futex"), th(1, false, "write", "read"), th(2, true, "exit"), th(3, false, "futex"),
		}}}, "deadlock @ futex>futex>read"},
		{"hit counts left out", &Result{Status: exit1, Outcome: sched.Outcome{Ender: 0, Threads: []sched.ThreadInfo{
			th(0, true, "pthread_mutex_unlock#3", "exit_group", "exit"),
		}}}, "exit 1 @ pthread_mutex_unlock>exit_group"},
		{"a hang", &Result{Hang: true, Outcome: sched.Outcome{Ender: -1, Threads: []sched.ThreadInfo{th(0, false, "openat")}}}, "hang @ openat"},
		// One hang cut at two places: a thread blocked on a futex, and
		// one going round poll and read, cut at either.
		{"a hang cut at a poll", &Result{Hang: true, Outcome: sched.Outcome{Ender: -1, Threads: []sched.ThreadInfo{
			blocked(th(0, false, "clone3", "futex")), th(1, false, "read", "poll", "read", "poll#2"),
		}}}, "hang @ futex>poll|read"},
		{"the same hang cut at a read", &Result{Hang: true, Outcome: sched.Outcome{Ender: -1, Threads: []sched.ThreadInfo{
			blocked(th(0, false, "clone3", "futex")), th(1, false, "poll", "read", "poll", "read"),
		}}}, "hang @ futex>poll|read"},
		{"a spinner preempted once after its start-up", &Result{Hang: true, Outcome: sched.Outcome{Ender: -1, Threads: []sched.ThreadInfo{
			blocked(th(0, false, "clone3", "futex")), th(1, false, "start", "set_robust_list", "rt_sigprocmask", "preempt"),
		}}}, "hang @ futex>preempt"},
		{"the same spinner preempted many times", &Result{Hang: true, Outcome: sched.Outcome{Ender: -1, Threads: []sched.ThreadInfo{
			blocked(th(0, false, "clone3", "futex")), th(1, false, "rt_sigprocmask", "preempt", "preempt", "preempt"),
		}}}, "hang @ futex>preempt"},
		{"a livelock of two yielding spinners", &Result{Outcome: sched.Outcome{Kind: sched.Livelock, Ender: -1, Threads: []sched.ThreadInfo{
			th(0, false, "sched_yield", "sched_yield"), th(1, false, "sched_yield"),
		}}}, "livelock @ sched_yield>sched_yield"},
		{"memory points (sampled anew each run) left out", &Result{Status: exit1, Outcome: sched.Outcome{Ender: 0, Threads: []sched.ThreadInfo{
			th(0, true, "mem@a.c:3#1", "write", "watch:mem@a.c:9#1", "mem@a.c:4#2", "exit_group", "exit"),
		}}}, "exit 1 @ write>exit_group"},
		{"only memory points: they are the signature", &Result{Status: unix.WaitStatus(unix.SIGSEGV), Outcome: sched.Outcome{Ender: 0, Threads: []sched.ThreadInfo{
			th(0, true, "mem@a.c:3#1", "mem@a.c:4#2"),
		}}}, "signal SIGSEGV @ mem@a.c:3>mem@a.c:4"},
	}
	for _, c := range cases {
		if got := Signature(c.r); got != c.want {
			t.Errorf("%s: Signature = %q, want %q", c.name, got, c.want)
		}
	}
}
