#!/usr/bin/env bash
# Builds the C baseline tracer and guest and measures, side by side:
#   - native syscall cost (guest alone),
#   - cost per seccomp->ptrace stop under ctracer: pinned (tracer and guest
#     on one CPU), unpinned (scheduler's choice), and cross (tracer on CPU,
#     guest on CPU2), with and without PTRACE_GET_SYSCALL_INFO (-x),
#   - cost of an unsubscribed syscall under ctracer's filter vs native.
#
# Env: N (calls per run, default 200000), REPS (default 5), CPU (pin target,
# default 0), CPU2 (the guest's CPU in the cross config, default 1; the cross
# config is skipped on a single-CPU machine), OUT (build dir, default bench/ctracer/out), CC (default gcc).
# Each config prints the median of REPS runs; the last lines ("result ...")
# are machine-readable.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
N=${N:-200000}
REPS=${REPS:-5}
CPU=${CPU:-0}
CPU2=${CPU2:-1}
OUT=${OUT:-$here/out}
CC=${CC:-gcc}
# Keep in sync with BuildTools in build.go.
CFLAGS=(-O2 -Wall -Wextra -std=gnu11)

mkdir -p "$OUT"
"$CC" "${CFLAGS[@]}" -o "$OUT/ctracer" "$here/csrc/ctracer.c"
"$CC" "${CFLAGS[@]}" -o "$OUT/guest" "$here/csrc/guest.c"
T=$OUT/ctracer
G=$OUT/guest

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "NaN"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | tail -n1; }

declare -A RES_GUEST RES_STOP
# run NAME CMD...: REPS runs; records median guest ns_per_call and, if the
# command is ctracer, median ctracer ns_per_stop.
run() {
	local name=$1
	shift
	local gs=() ts=() out
	for ((i = 0; i < REPS; i++)); do
		if ! out=$("$@" 2>&1); then
			echo "run.sh: $name failed:" >&2
			echo "$out" >&2
			exit 1
		fi
		gs+=("$(field ns_per_call <<<"$out")")
		ts+=("$(field ns_per_stop <<<"$out")")
	done
	RES_GUEST[$name]=$(printf '%s\n' "${gs[@]}" | median)
	local stops=""
	if [[ -n ${ts[0]} ]]; then
		RES_STOP[$name]=$(printf '%s\n' "${ts[@]}" | median)
		stops=" ctracer_ns_per_stop=${RES_STOP[$name]}"
	fi
	printf '%-22s guest_ns_per_call=%-9s%s   (guest runs: %s)\n' \
		"$name" "${RES_GUEST[$name]}" "$stops" "${gs[*]}"
}

echo "# N=$N REPS=$REPS CPU=$CPU CPU2=$CPU2 kernel=$(uname -r) nproc=$(nproc)"
run native_getppid "$G" "$N"
run native_getppid_pin taskset -c "$CPU" "$G" "$N"
run native_getpid "$G" "$N" unsub
run native_getpid_pin taskset -c "$CPU" "$G" "$N" unsub
run ctracer_pin "$T" -p "$CPU" -- "$G" "$N"
run ctracer_unpin "$T" -- "$G" "$N"
if (($(nproc) > 1)); then
	run ctracer_cross taskset -c "$CPU" "$T" -- taskset -c "$CPU2" "$G" "$N"
fi
run ctracer_x_pin "$T" -x -p "$CPU" -- "$G" "$N"
run ctracer_x_unpin "$T" -x -- "$G" "$N"
run unsub_filter "$T" -- "$G" "$N" unsub
run unsub_filter_pin "$T" -p "$CPU" -- "$G" "$N" unsub

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
echo
echo "result ctracer_pinned_ns_per_stop=${RES_GUEST[ctracer_pin]} ctracer_unpinned_ns_per_stop=${RES_GUEST[ctracer_unpin]}"
echo "result ctracer_cross_ns_per_stop=${RES_GUEST[ctracer_cross]:-NaN}"
echo "result ctracer_x_pinned_ns_per_stop=${RES_GUEST[ctracer_x_pin]} ctracer_x_unpinned_ns_per_stop=${RES_GUEST[ctracer_x_unpin]}"
echo "result native_getppid_ns_per_call=${RES_GUEST[native_getppid]} native_getpid_ns_per_call=${RES_GUEST[native_getpid]}"
echo "result unsub_filter_ns_per_call=${RES_GUEST[unsub_filter]} unsub_ratio=$(ratio "${RES_GUEST[unsub_filter]}" "${RES_GUEST[native_getpid]}")" \
	"unsub_pin_ratio=$(ratio "${RES_GUEST[unsub_filter_pin]}" "${RES_GUEST[native_getpid_pin]}")"
