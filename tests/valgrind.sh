#!/bin/sh
# make valgrind: the unit tests under memcheck.
# Criterion runs each test in a new process (fork, then exec of itself), which valgrind
# follows only with --trace-children=yes, and it ignores a test process's exit status,
# so --error-exitcode alone would see only the runner. Each process therefore writes its
# own log; with -q valgrind writes only errors, and any non-empty log fails the run.
# Helpers the tests start (sh, openssl, rogatory-pki) run natively: not our code.
#   valgrind.sh LOGDIR UNIT_BIN [criterion arguments]
set -eu
logs=$1
shift
rm -rf "$logs"
mkdir -p "$logs"
here=$(cd "$(dirname "$0")" && pwd)
rc=0
valgrind -q --tool=memcheck --error-exitcode=99 \
    --trace-children=yes \
    --trace-children-skip='*/sh,*/dash,*/bash,*/env,*/openssl,*/rogatory-pki,*/deviant-cert' \
    --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --suppressions="$here/valgrind.supp" \
    --log-file="$logs/vg.%p.log" "$@" || rc=$?
bad=$(find "$logs" -type f -size +0c | sort)
if [ -n "$bad" ]; then
    for f in $bad; do
        echo "==== $f"
        cat "$f"
    done
    echo "valgrind: errors in $(echo "$bad" | wc -l) process(es); logs in $logs" >&2
    exit 1
fi
if [ "$rc" -ne 0 ]; then
    echo "valgrind: the unit tests failed (exit $rc)" >&2
    exit 1
fi
echo "valgrind: clean ($(find "$logs" -type f | wc -l) processes checked)"
