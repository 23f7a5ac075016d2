#!/usr/bin/env bash
# The body of the schedfuzz GitHub action (action.yml), usable from any CI:
# replay the seed corpus (the regression suite), then explore new
# schedules with a JUnit report. Inputs come from the environment:
#
#   SF_BIN      the schedfuzz binary (default: schedfuzz on PATH)
#   SF_PROGRAM  the program to explore (required); SF_ARGS its arguments
#   SF_RUNS     runs to explore (default 200); SF_TIME a time budget instead
#   SF_SHARD    I/N: explore shard I of N (schedfuzz -shard: the session seed
#               is -seed from SF_FLAGS, else $GITHUB_RUN_ID, the same in every job)
#   SF_CORPUS   seed directory (default testdata/schedfuzz)
#   SF_JUNIT    JUnit XML path (default schedfuzz-junit.xml)
#   SF_FLAGS    more schedfuzz flags
#
# Exit status: 0 when every seed passes and nothing new was found, 1 when
# something fails (the corpus then holds the seeds to upload), else
# schedfuzz's own status (2 usage, 125 tool failure).
set -u
bin=${SF_BIN:-schedfuzz}
corpus=${SF_CORPUS:-testdata/schedfuzz}
junit=${SF_JUNIT:-schedfuzz-junit.xml}
: "${SF_PROGRAM:?SF_PROGRAM names the program to explore}"

summary() { [ -n "${GITHUB_STEP_SUMMARY:-}" ] && printf '%s\n' "$@" >>"$GITHUB_STEP_SUMMARY"; return 0; }
output() { [ -n "${GITHUB_OUTPUT:-}" ] && printf '%s\n' "$1" >>"$GITHUB_OUTPUT"; return 0; }

# The seed artifact's name: one per shard ("/" is not allowed in a name).
artifact=schedfuzz-seeds
[ -n "${SF_SHARD:-}" ] && artifact="schedfuzz-seeds-${SF_SHARD//\//-of-}"
output "artifact=$artifact"

failed=0
status=0
if [ -d "$corpus" ] && [ -n "$(find "$corpus" -name '*.seed' -print -quit)" ]; then
	echo "::group::schedfuzz replay $corpus"
	"$bin" replay "$corpus"
	rc=$?
	echo "::endgroup::"
	case $rc in
	0) summary "schedfuzz: every seed in \`$corpus\` passes." ;;
	1) failed=1; echo "::error title=schedfuzz::a seed in $corpus still fails (see the replay log)"
	   summary "schedfuzz: **a seed in \`$corpus\` still fails**." ;;
	*) status=$rc; echo "::error title=schedfuzz::replay of $corpus exited $rc" ;;
	esac
fi

flags=(-corpus "$corpus" -junit "$junit")
if [ -n "${SF_TIME:-}" ]; then
	flags+=(-time "$SF_TIME" -runs "${SF_RUNS:-0}")
else
	flags+=(-runs "${SF_RUNS:-200}")
fi
[ -n "${SF_SHARD:-}" ] && flags+=(-shard "$SF_SHARD")
# SF_FLAGS and SF_ARGS are shell-quoted strings, split as a shell would.
eval "extra=(${SF_FLAGS:-})"
eval "args=(${SF_ARGS:-})"
echo "::group::schedfuzz ${flags[*]} ${extra[*]} -- $SF_PROGRAM ${args[*]}"
"$bin" "${flags[@]}" "${extra[@]}" -- "$SF_PROGRAM" "${args[@]}"
rc=$?
echo "::endgroup::"
case $rc in
0) summary "schedfuzz: no failure found in \`$SF_PROGRAM\`." ;;
1) failed=1
   echo "::error title=schedfuzz::a concurrency failure was found in $SF_PROGRAM; its seed files are in $corpus"
   summary "schedfuzz: **a failure was found in \`$SF_PROGRAM\`**; seed files in \`$corpus\` (uploaded as an artifact)." ;;
*) [ "$status" = 0 ] && status=$rc; echo "::error title=schedfuzz::schedfuzz exited $rc" ;;
esac
if [ "$failed" = 1 ]; then
	output "failed=true"
	exit 1
fi
output "failed=false"
exit "$status"
