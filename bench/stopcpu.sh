#!/usr/bin/env bash
# Splits the cost of one pinned seccomp stop into on-CPU time of the tracer
# thread, of the tracer process's other threads, and of the guest, read from
# /proc/*/schedstat over a window of a long run, for:
#   ctracer      ctracer -p CPU -- guest          (waitpid + PTRACE_CONT)
#   ctracer-x    ctracer -x -p CPU -- guest       (+ PTRACE_GET_SYSCALL_INFO)
#   intercept    stopbench, intercept.Run(guest, Options{CPU})
#   intercept+nocldstop  the same with stopbench -nocldstop (only if the
#                stopbench still has the flag: intercept now sets SA_NOCLDSTOP)
#   ctracer-t    ctracer -t -p CPU -- points (static): the guest's rdtsc traps
#   sched        schedbench run -cpu CPU -- guest (one explore.Run, as schedfuzz
#                makes it but pinned to CPU): every getppid a scheduling point
# Stops are counted as the guest's voluntary context switches (one per stop:
# tracer and guest share the CPU). Pinned only: that is the stable number.
#
# Usage (from anywhere): bench/stopcpu.sh     Env: CPU (0), SECS (3), REPS (3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CPU=${CPU:-0}
SECS=${SECS:-3}
REPS=${REPS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -Wextra -std=gnu11 -o "$tmp/ctracer" bench/ctracer/csrc/ctracer.c
gcc -O2 -Wall -Wextra -std=gnu11 -o "$tmp/guest" bench/ctracer/csrc/guest.c
go build -o "$tmp/stopbench" ./bench/cmd/stopbench
go build -o "$tmp/schedbench" ./bench/cmd/schedbench
mkdir -p "$tmp/t" # a static getppid loop named guest (no rdtsc in it: ctracer -t does not emulate it)
gcc -O2 -static -pthread -o "$tmp/t/guest" bench/csrc/points.c
N=1000000000 # long enough; the run is killed after the window

ns() { awk '{print $1}' "$1"; } # schedstat field 1: ns on CPU
# measure NAME CMD...: start CMD, wait for the guest, sample a window.
measure() {
	local name=$1
	shift
	"$@" >/dev/null 2>&1 &
	local bg=$! g="" t
	for _ in $(seq 50); do
		g=$(pgrep -x guest -P "$bg" || true)
		[[ -n $g ]] && break
		sleep 0.1
	done
	[[ -n $g ]] || { echo "$name: no guest" >&2; kill -KILL "$bg"; return 1; }
	sleep 1 # past startup
	t=$(awk '/^TracerPid:/{print $2}' "/proc/$g/status") # the tracer thread
	snap() {
		echo "$(ns "/proc/$bg/task/$t/schedstat") $(ns "/proc/$g/schedstat")" \
			"$(awk '/^voluntary_ctxt_switches/{print $2}' "/proc/$g/status")" \
			"$(cat /proc/"$bg"/task/*/schedstat | awk '{s += $1} END {printf "%.0f", s}')"
	}
	local a b
	a=($(snap))
	sleep "$SECS"
	b=($(snap))
	kill -KILL "$bg"
	wait "$bg" 2>/dev/null || true
	awk -v name="$name" -v secs="$SECS" -v t="$((b[0] - a[0]))" -v g="$((b[1] - a[1]))" \
		-v s="$((b[2] - a[2]))" -v all="$((b[3] - a[3]))" 'BEGIN {
		printf "%-20s stops=%-7d wall/stop=%6.0f  tracer thread=%5.0f  other tracer threads=%4.0f  guest=%5.0f  (ns)\n",
			name, s, secs * 1e9 / s, t / s, (all - t) / s, g / s }'
}

echo "# bench/stopcpu.sh CPU=$CPU SECS=$SECS REPS=$REPS, $(uname -r), $(date -u +%FT%TZ)"
for ((r = 1; r <= REPS; r++)); do
	measure ctracer "$tmp/ctracer" -p "$CPU" -- "$tmp/guest" "$N"
	measure ctracer-x "$tmp/ctracer" -x -p "$CPU" -- "$tmp/guest" "$N"
	measure intercept "$tmp/stopbench" -dir "$tmp/sb" -cpu "$CPU" -only '^intercept/pinned/getppid$' -reps 1 -n "$N"
	measure intercept+nocldstop "$tmp/stopbench" -dir "$tmp/sb" -cpu "$CPU" -nocldstop -only '^intercept/pinned/getppid$' -reps 1 -n "$N"
	measure ctracer-t "$tmp/ctracer" -t -p "$CPU" -- "$tmp/t/guest" "$N"
	measure sched "$tmp/schedbench" run -cpu "$CPU" "$tmp/guest" "$N"
done
