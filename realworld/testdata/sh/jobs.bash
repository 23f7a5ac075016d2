# jobs.bash: bash job control without a terminal: `wait -n` for a job
# still running when it is called (bash 5.2's `wait -n` waits for the
# next job to end, not for one that ended before the call: racing two
# jobs would be nondeterministic natively), `jobs -p`, a coprocess,
# process substitution, and a SIGCHLD-driven `wait` for background
# `timeout` jobs. Deterministic output; exit 0.
set -u
(sleep 1; exit 4) &
wait -n
echo "wait -n: job status $?"
echo "jobs left: $(jobs -p | wc -l)"
coproc UP { tr a-z A-Z; }
up=$UP_PID # bash unsets UP_PID when it reaps the coprocess
echo "hello coproc" >&"${UP[1]}"
exec {UP[1]}>&-
read -r line <&"${UP[0]}"
wait "$up"
echo "coproc: $line"
echo "process substitution: $(cat <(seq 1 5) <(seq 6 10) | paste -sd+ | bc 2>/dev/null || seq 1 10 | awk '{s+=$1} END {print s}')"
for t in 1 2 3; do
	timeout 5 sh -c "sleep 0.0$t" &
done
wait
echo "3 timeouts done"
