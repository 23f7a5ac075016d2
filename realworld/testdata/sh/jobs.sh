# jobs.sh: a POSIX sh script with background jobs: three jobs that sleep
# and write their own files, `wait` for all, `wait PID` for one job's
# exit status, a job killed with `kill` and its status (143), and a
# pipeline run in the background. Run with sh (dash) and with bash.
# Deterministic output; exit 0.
set -u
d=$(mktemp -d)
for i in 1 2 3; do
	(sleep 0.0$i; echo "job $i done" > "$d/$i") &
done
wait
cat "$d/1" "$d/2" "$d/3"
(sleep 0.01; exit 3) &
p=$!
wait $p
echo "wait \$!: status $?"
sleep 10 &
p=$!
kill $p
wait $p
echo "killed job: status $?"
(seq 1 1000 | tr -d 0 | wc -l > "$d/count") &
wait
echo "background pipeline: $(cat "$d/count") lines"
rm -rf "$d"
