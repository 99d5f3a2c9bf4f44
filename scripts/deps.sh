#!/bin/sh
# Checks, and as root installs, the Debian packages rogatory needs.
#   deps.sh ensure           probe; install what is missing when root, else print the apt-get line
#   deps.sh ensure-analysis  the same for `make valgrind` and `make analyze` (ANALYSIS_PACKAGES)
#   deps.sh install          apt-get update once, then install everything
set -eu

PACKAGES="build-essential pkg-config openssl libssl-dev libevent-dev libprotobuf-c-dev \
protobuf-c-compiler libcriterion-dev libsqlite3-dev sqlite3 libinih-dev libjansson-dev \
protobuf-compiler python3 python3-cryptography clang libclang-rt-14-dev mandoc prometheus \
chromium chromium-driver python3-selenium"
# mandoc: the manual pages are checked with `mandoc -T lint` in the unit tests.
# prometheus: its promtool checks the /metrics output in the integration tests (Debian
# 12's package ships /usr/bin/promtool; its server is not started by us). `ensure`
# installs it when root and only warns otherwise: the tests then skip that one check.
# protobuf-compiler (protoc), python3 and python3-cryptography serve the export tests:
# tests/tools/verify-export checks an evidence bundle without our code, as VERIFY.md says.
# chromium, chromium-driver and python3-selenium serve the web console's browser tests
# (tests/browser/console_test.py, run with /usr/bin/python3 by tests/integration/test_console.c).
# clang and libclang-rt-14-dev serve `make fuzz` only: `ensure` does not probe them, so
# `make test` never needs them.
ANALYSIS_PACKAGES="valgrind cppcheck clang-tidy"
# valgrind, cppcheck and clang-tidy serve `make valgrind` and `make analyze` only; only
# `ensure-analysis` probes them.

install_all() {
    pkgs=${1:-$PACKAGES $ANALYSIS_PACKAGES}
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: not root; run as root:" >&2
        echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $pkgs" >&2
        exit 1
    fi
    echo "deps: installing Debian packages: $pkgs"
    apt-get update -q
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs
}

missing() {
    for cmd in cc make pkg-config openssl protoc-c protoc sqlite3 mandoc chromium chromedriver; do
        command -v "$cmd" >/dev/null 2>&1 || { echo "command $cmd"; return 0; }
    done
    /usr/bin/python3 -c 'import cryptography' >/dev/null 2>&1 ||
        { echo "python3-cryptography"; return 0; }
    /usr/bin/python3 -c 'import selenium' >/dev/null 2>&1 ||
        { echo "python3-selenium"; return 0; }
    for pc in libssl libcrypto libevent libevent_openssl libevent_pthreads libprotobuf-c \
              sqlite3 inih jansson criterion; do
        pkg-config --exists "$pc" 2>/dev/null || { echo "pkg-config $pc"; return 0; }
    done
    return 1
}

missing_analysis() {
    for cmd in valgrind cppcheck clang-tidy; do
        command -v "$cmd" >/dev/null 2>&1 || { echo "command $cmd"; return 0; }
    done
    return 1
}

case "${1:-ensure}" in
install) install_all ;;
ensure-analysis)
    if what=$(missing_analysis); then
        echo "deps: missing $what"
        install_all "$ANALYSIS_PACKAGES"
        if what=$(missing_analysis); then
            echo "deps: still missing $what after install" >&2
            exit 1
        fi
    fi
    ;;
ensure)
    if what=$(missing); then
        echo "deps: missing $what"
        install_all "$PACKAGES"
        if what=$(missing); then
            echo "deps: still missing $what after install" >&2
            exit 1
        fi
    fi
    if ! command -v promtool >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then
            install_all prometheus
        else
            echo "deps: promtool missing (Debian package prometheus): the metrics" \
                "output will not be checked with it" >&2
        fi
    fi
    ;;
*) echo "usage: deps.sh ensure|ensure-analysis|install" >&2; exit 2 ;;
esac
