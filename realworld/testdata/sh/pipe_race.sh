# pipe_race.sh (RACY): two writers share a pipe, and the reader assumes the
# foreground writer's line comes first. The background `echo` runs in a
# forked child; the foreground one in the shell itself, right after the
# fork, so natively it nearly always wins. If the child writes first: "first
# line: background", exit 1.
{ echo background & echo foreground; wait; } | {
	read -r first
	cat >/dev/null
	if [ "$first" != foreground ]; then
		echo "first line: $first"
		exit 1
	fi
	echo "first line: foreground"
}
