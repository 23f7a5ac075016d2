package realworld

import (
	"testing"
)

// fullRuns is how many runs each case makes under each strategy (issue
// 9: "each must pass 20 runs under every strategy"); shortRuns with
// -short.
const (
	fullRuns  = 20
	shortRuns = 5
)

// realCase is a correct program: every schedule must end as the native
// run does.
type realCase struct {
	name string
	argv func(t testing.TB) []string
	// runs per strategy, if fewer than fullRuns (a slow start-up: the JVM,
	// a gcc build); 0 means fullRuns.
	runs int
	// ignoreStderr: stderr is not compared (only stdout and the status).
	ignoreStderr bool
}

// shc is `sh -c SCRIPT`, skipping the test unless the tools it runs exist.
func shc(script string, needs ...string) func(t testing.TB) []string {
	return func(t testing.TB) []string {
		tools(t, needs...)
		return []string{tool(t, "sh"), "-c", script}
	}
}

// realCases are the correct programs, in the order of issue 9's list,
// then what a user would also try.
var realCases = []realCase{
	// Shells: background jobs and wait (SIGCHLD wakes sigsuspend/wait4).
	{name: "sh_background_wait", argv: shc("sleep 0.01 & wait", "sleep")},
	{name: "sh_jobs", argv: func(t testing.TB) []string {
		tools(t, "sleep", "seq", "tr", "wc", "cat", "mktemp", "rm")
		return []string{tool(t, "sh"), src("sh", "jobs.sh")}
	}},
	{name: "bash_jobs", argv: func(t testing.TB) []string {
		tools(t, "sleep", "seq", "tr", "wc", "cat", "mktemp", "rm")
		return []string{tool(t, "bash"), src("sh", "jobs.sh")}
	}},
	{name: "bash_job_control", argv: func(t testing.TB) []string {
		tools(t, "sleep", "seq", "tr", "wc", "timeout", "paste", "bc", "awk", "cat")
		return []string{tool(t, "bash"), src("sh", "jobs.bash")}
	}},
	// coreutils timeout: a child, SIGCHLD, a timer_create/alarm deadline.
	{name: "timeout_true", argv: func(t testing.TB) []string { return []string{tool(t, "timeout"), "5", "true"} }},
	{name: "timeout_sleep", argv: func(t testing.TB) []string {
		tools(t, "sleep")
		return []string{tool(t, "timeout"), "1", "sleep", "10"}
	}},
	// Pipelines moving more than a pipe buffer.
	{name: "head_zero_wc", argv: shc("head -c 1000000 /dev/zero | wc -c", "head", "wc")},
	{name: "cat_wc", argv: func(t testing.TB) []string {
		return shc("cat "+bigFile(t)+" | wc -c", "cat", "wc")(t)
	}},
	{name: "cat_sha256sum", argv: func(t testing.TB) []string {
		return shc("cat "+bigFile(t)+" | sha256sum", "cat", "sha256sum")(t)
	}},
	{name: "gzip_sha256sum", argv: func(t testing.TB) []string {
		return shc("gzip -c "+bigFile(t)+" | sha256sum", "gzip", "sha256sum")(t)
	}},
	{name: "c_big_writes", argv: func(t testing.TB) []string { return []string{cGuest(t, "big_writes")} }},
	// Go: timers and the netpoller (epoll_pwait with a timeout), net/http.
	{name: "go_timers_http", argv: func(t testing.TB) []string { return []string{goGuest(t, "timers")} }},
	// C: timer signals, SIGCHLD, timed waits.
	{name: "c_alarm_pause", argv: func(t testing.TB) []string { return []string{cGuest(t, "alarm_pause")} }},
	{name: "c_sigchld", argv: func(t testing.TB) []string { return []string{cGuest(t, "sigchld")} }},
	{name: "c_poll_timeouts", argv: func(t testing.TB) []string { return []string{cGuest(t, "poll_timeouts")} }},
	{name: "c_kernel_waits", argv: func(t testing.TB) []string { return []string{cGuest(t, "kernel_waits")} }},
	{name: "c_yield_spin", argv: func(t testing.TB) []string { return []string{cGuest(t, "yield_spin")} }},
	// make -j4 on a small tree: shell recipes, and a gcc build (slower:
	// fewer runs).
	{name: "make_j4", argv: func(t testing.TB) []string {
		tools(t, "make", "tr", "mv", "sort", "uniq", "cat", "mkdir", "mktemp", "rm")
		return shc(`o=$(mktemp -d) && make -s -j4 -C `+src("make", "shell")+` O="$o"; s=$?; cat "$o/result"; rm -rf "$o"; exit $s`)(t)
	}},
	{name: "make_j4_gcc", runs: 3, argv: func(t testing.TB) []string {
		tools(t, "make", "gcc", "mkdir", "mktemp", "rm")
		return shc(`o=$(mktemp -d) && make -s -j4 -C `+src("make", "cc")+` O="$o"; s=$?; rm -rf "$o"; exit $s`)(t)
	}},
	// Interpreters and other languages' thread libraries.
	{name: "python_threads", argv: func(t testing.TB) []string { return []string{python(t), src("py", "threads.py")} }},
	{name: "python_http", argv: func(t testing.TB) []string { return []string{python(t), src("py", "http_loopback.py")} }},
	{name: "cpp_threads", argv: func(t testing.TB) []string { return []string{cppGuest(t, "threads")} }},
	{name: "rust_threads", argv: func(t testing.TB) []string { return []string{rustGuest(t, "threads")} }},
	{name: "rust_spin", argv: func(t testing.TB) []string { return []string{rustGuest(t, "spin")} }},
	{name: "node_workers", argv: func(t testing.TB) []string { return []string{tool(t, "node"), src("node", "workers.js")} }},
	{name: "java_pool", runs: 2, argv: func(t testing.TB) []string {
		return []string{tool(t, "java"), "-cp", javaClasses(t, "Pool"), "Pool"}
	}},
	{name: "sqlite3", argv: func(t testing.TB) []string {
		tools(t, "sqlite3", "mktemp", "rm")
		return shc(`d=$(mktemp -d) && sqlite3 "$d/t.db" < ` + src("sqlite", "script.sql") + `; s=$?; rm -rf "$d"; exit $s`)(t)
	}},
}

// TestRealPrograms runs each correct program natively (twice: it must be
// deterministic), then 20 times under each strategy (5 with -short; fewer
// for the JVM and the gcc build), and checks that every run ends with the
// native exit status and output: no deadlock, livelock, hang or signal.
func TestRealPrograms(t *testing.T) {
	for _, c := range realCases {
		t.Run(c.name, func(t *testing.T) {
			runs := fullRuns
			if c.runs > 0 {
				runs = c.runs
			}
			if testing.Short() {
				runs = min(runs, shortRuns)
			}
			checkSchedules(t, c.name, c.argv(t), runs, !c.ignoreStderr)
		})
	}
}
