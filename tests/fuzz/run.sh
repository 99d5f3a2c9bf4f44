#!/bin/sh
# run.sh: runs libFuzzer harnesses for a bounded time each (make fuzz).
#   tests/fuzz/run.sh BUILDDIR SECONDS TARGET...
# Each target fuzzes a copy of tests/fuzz/corpus/<target> (plus tests/fuzz/regress/
# <target>) in BUILDDIR/fuzz/<target>/corpus, so the source tree is never written; a
# crash leaves its reproducer in BUILDDIR/fuzz/<target>/artifacts/ and the log beside.
# Prints the executions per target; exits 1 when any target found something.
set -u

[ $# -ge 3 ] || { echo "usage: run.sh BUILDDIR SECONDS TARGET..." >&2; exit 2; }
B=$1
SECS=$2
shift 2
failed=
for t in "$@"; do
	d=$B/fuzz/$t
	mkdir -p "$d/corpus" "$d/artifacts"
	for src in tests/fuzz/corpus/$t tests/fuzz/regress/$t; do
		[ -d "$src" ] && cp -p "$src"/* "$d/corpus/" 2>/dev/null
	done
	"$B/fuzz/fuzz-$t" -max_total_time="$SECS" -timeout=25 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$d/artifacts/" "$d/corpus" \
	    >"$d/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$d/log" | tail -n 1)
	n=$(find "$d/corpus" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz $t: ${execs:-?} executions in ${SECS}s, ${cov:-cov: ?}, corpus $n files: nothing found"
	else
		echo "fuzz $t: FAILED (exit $rc) after ${execs:-?} executions; see $d/log," \
		    "reproducer in $d/artifacts/:"
		ls "$d/artifacts/" | sed 's/^/    /'
		grep -m 3 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' \
		    "$d/log" | sed 's/^/    /'
		failed="$failed $t"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: findings in:$failed" >&2
	exit 1
fi
