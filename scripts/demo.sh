#!/bin/sh
# make demo: a throw-away network PKI, three authorities on loopback, one real request
# from BD-ACC to FR-MJ, its delivery and its acknowledgement shown. Everything lives in build/demo/; the
# network keeps running until `make demo-stop`.
#   demo.sh start | stop
# DEMO_DIR: another folder than build/demo (the tests stop daemons of their own there).
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
D=${DEMO_DIR:-$B/demo}
IDS="BD-ACC FR-MJ UA-PGO"
PKI=$TOP/pki/rogatory-pki
CTL=$B/rogatoryctl

CONSOLES="BD-ACC:8743 FR-MJ:8744"

# True while pid is a running (not zombie) rogatoryd of authority $2 of this demo (or,
# with $3 = console, its rogatory-console): a pid file outliving its process must not
# make us signal or wait for whatever has the pid now.
alive() {
	[ -r "/proc/$1/cmdline" ] || return 1
	tr '\000' ' ' <"/proc/$1/cmdline" 2>/dev/null |
		grep -q "$D/$2/${3:-rogatoryd}.conf" || return 1
	state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# SIGTERM to every daemon, then wait for each to have exited (a clean stop closes its
# links and its store): "stopped" only once it is gone, and an error for one still
# running 10 s after its signal (its pid file stays).
stop() {
	pids=
	# The consoles first: they are the daemons' clients.
	for entry in $CONSOLES; do
		id=${entry%%:*}
		pidf=$D/$id/console.pid
		[ -f "$pidf" ] || continue
		pid=$(cat "$pidf")
		if alive "$pid" "$id" console && kill "$pid" 2>/dev/null; then
			i=0
			while alive "$pid" "$id" console && [ $i -lt 100 ]; do
				sleep 0.1
				i=$((i + 1))
			done
			echo "stopped the console of $id (pid $pid)"
		fi
		rm -f "$pidf"
	done
	for id in $IDS; do
		pidf=$D/$id/rogatoryd.pid
		[ -f "$pidf" ] || continue
		pid=$(cat "$pidf")
		if alive "$pid" "$id" && kill "$pid" 2>/dev/null; then
			pids="$pids $id:$pid"
		else
			rm -f "$pidf"
		fi
	done
	rc=0
	for entry in $pids; do
		id=${entry%%:*}
		pid=${entry#*:}
		i=0
		while alive "$pid" "$id" && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if alive "$pid" "$id"; then
			echo "demo: $id (pid $pid) is still running 10 s after SIGTERM;" \
			    "see $D/$id/rogatoryd.log" >&2
			rc=1
		else
			echo "stopped $id (pid $pid)"
			rm -f "$D/$id/rogatoryd.pid"
		fi
	done
	return $rc
}

ctl() {
	id=$1
	shift
	"$CTL" -s "$D/$id/control.sock" "$@"
}

# A web console for BD-ACC and for FR-MJ on loopback, and a login link for each (an
# officer; the link works once, within 10 minutes: `rogatoryctl console login` makes more).
consoles() {
	# $id is the message id start() shows at the end: these loops use their own names.
	echo "== web consoles (rogatory-console)"
	for entry in $CONSOLES; do
		cid=${entry%%:*}
		port=${entry#*:}
		printf '[console]\nlisten = 127.0.0.1:%s\nsocket = %s\n' "$port" \
			"$D/$cid/control.sock" >"$D/$cid/console.conf"
		"$B/rogatory-console" -c "$D/$cid/console.conf" >"$D/$cid/console.log" 2>&1 &
		echo $! >"$D/$cid/console.pid"
		i=0
		until grep -q "console: serving" "$D/$cid/console.log" 2>/dev/null; do
			i=$((i + 1))
			if [ $i -gt 100 ] || ! alive "$(cat "$D/$cid/console.pid")" "$cid" console; then
				echo "   the console of $cid did not start (port $port taken?): its log:"
				sed 's/^/      /' "$D/$cid/console.log"
				rm -f "$D/$cid/console.pid"
				continue 2
			fi
			sleep 0.1
		done
		echo "   $cid: http://127.0.0.1:$port/ (log: $D/$cid/console.log); open this link:"
		ctl "$cid" console login "demo-$cid" --role officer --url "http://127.0.0.1:$port" |
			sed 's/^/      /'
	done
}

start() {
	stop >/dev/null 2>&1 || :
	rm -rf "$D"
	mkdir -p "$D"
	echo "== network PKI (pki/rogatory-pki) in $D/pki"
	"$PKI" init "$D/pki" >/dev/null
	cp "$TOP/configs/demo/directory.conf" "$D/directory.conf"
	for id in $IDS; do
		# The control socket's folder: rogatoryd refuses one others may write to, so
		# its mode does not follow the caller's umask.
		mkdir -m 0750 "$D/$id"
		"$PKI" issue "$D/pki" "$id" "$D/$id" >/dev/null
		cp "$TOP/configs/demo/$id.conf" "$D/$id/rogatoryd.conf"
		"$B/rogatoryd" -n -c "$D/$id/rogatoryd.conf" | sed "s/^/   $id: /"
	done
	echo "== starting three authorities"
	for id in $IDS; do
		"$B/rogatoryd" -f -c "$D/$id/rogatoryd.conf" >"$D/$id/rogatoryd.log" 2>&1 &
		echo $! >"$D/$id/rogatoryd.pid"
	done
	for id in $IDS; do
		i=0
		until [ -S "$D/$id/control.sock" ] && ctl "$id" status >/dev/null 2>&1; do
			i=$((i + 1))
			if [ $i -gt 100 ]; then
				echo "demo: $id did not start; its log:" >&2
				cat "$D/$id/rogatoryd.log" >&2
				exit 1
			fi
			sleep 0.1
		done
		echo "   $id up (log: $D/$id/rogatoryd.log)"
	done
	echo "== BD-ACC sends a request for mutual legal assistance to FR-MJ, with a court order"
	# A stand-in for the scanned order and its annexes: 1.5 MB of text.
	order="$D/court-order-ACC-2026-117.txt"
	{
		echo "Court order, Dhaka Metropolitan Senior Special Judge, case ACC/2026/117"
		i=0
		while [ $i -lt 20000 ]; do
			echo "$i: this line stands for a page of a scanned court order and its annexes"
			i=$((i + 1))
		done
	} >"$order"
	# The request itself: configs/demo/mla-request.json (from `rogatoryctl draft mla`),
	# due in 90 days.
	sed "s/RESPOND_BY/$(date -u -d '+90 days' +%F)/" "$TOP/configs/demo/mla-request.json" \
	    >"$D/mla-request.json"
	set -- send --to FR-MJ --document "$D/mla-request.json" --attach "$order"
	echo "   rogatoryctl $*"
	id=$(ctl BD-ACC "$@" | tail -n 1)
	echo "   message id $id"
	i=0
	until ctl BD-ACC show "$id" | grep -q '^state *delivered'; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "demo: not delivered within 10 s" >&2
			ctl BD-ACC show "$id" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "== rogatoryctl show $id (at BD-ACC)"
	ctl BD-ACC show "$id" | sed 's/^/   /'
	echo "== delivery log of BD-ACC ($D/BD-ACC/state/delivery.jsonl)"
	grep "\"$id\"" "$D/BD-ACC/state/delivery.jsonl" | sed 's/^/   /'
	echo "== delivery log of FR-MJ"
	grep "\"$id\"" "$D/FR-MJ/state/delivery.jsonl" | sed 's/^/   /'
	echo "== FR-MJ's inbox"
	ctl FR-MJ inbox | sed 's/^/   /'
	echo "== at FR-MJ: rogatoryctl fetch $id --out $D/fetched"
	rm -rf "$D/fetched"
	ctl FR-MJ fetch "$id" --out "$D/fetched" | sed 's/^/   /'
	cmp "$order" "$D/fetched/$id/$(basename "$order")"
	echo "   the fetched attachment is byte for byte the one BD-ACC sent"
	echo "== at BD-ACC: rogatoryctl verify $id (offline proof from the store)"
	ctl BD-ACC verify "$id" | sed 's/^/   /'
	echo "== at FR-MJ: rogatoryctl update $id --status acknowledged --reference BEPI/2026/4471"
	ctl FR-MJ update "$id" --status acknowledged --reference BEPI/2026/4471 | sed 's/^/   /'
	i=0
	until ctl BD-ACC requests | grep -q "$id .* acknowledged"; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "demo: the acknowledgement did not arrive within 10 s" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "== at BD-ACC: rogatoryctl requests"
	ctl BD-ACC requests | sed 's/^/   /'
	consoles
	cat <<MSG

The network is still running. Try:
   $CTL -s $D/FR-MJ/control.sock peers
   $CTL -s $D/FR-MJ/control.sock request $id
   $CTL -s $D/UA-PGO/control.sock draft asset-recovery --to BD-ACC
   $CTL -s $D/BD-ACC/control.sock log --follow
   $CTL -s $D/BD-ACC/control.sock console login NAME --role officer --url http://127.0.0.1:8743
Stop it with: make demo-stop
MSG
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
*) echo "usage: demo.sh start|stop" >&2; exit 2 ;;
esac
