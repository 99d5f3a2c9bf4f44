#!/usr/bin/env bash
# chaos: two real rogatoryd under a steady load of submissions both ways (single sends and
# --batch), killed with SIGKILL at random moments and stopped at every crash point
# (ROGATORY_CRASH_AT, daemon/crash.h), restarted, round after round. Then a checker
# compares every submitted id with the sender's and the receiver's delivery logs and
# stores: no loss, no duplicate, every message delivered. Bounded in time.
#
#   tests/chaos/chaos.sh            (make chaos sets the variables below)
#   BUILD=build          folder with rogatoryd and rogatoryctl (a build with test hooks)
#   CHAOS_ROUNDS=20      rounds of kill/crash + restart
#   CHAOS_SECONDS=300    hard limit for the whole run, settling and checking included
#   CHAOS_SEED=N         repeat a run (default: from the clock; printed at the start)
#   CHAOS_KEEP=1         keep the work folder (it is always kept on failure)
#
# The submitter gives every message its own id (--id, "id" in batch lines). When a
# daemon dies before answering, the submission is unacknowledged: at the end it is
# submitted again with the same id and content, as an operator would; the store answers
# with the message already committed or commits it now. So every attempted id must end
# up queued once, delivered once at its sender and received once at its recipient.
#
# Output ends with "N rounds, M messages, L lost, D duplicated"; exit 1 on any loss,
# duplicate or undelivered message, 2 on a set-up failure.
set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$SRC/build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
ROUNDS=${CHAOS_ROUNDS:-20}
LIMIT=${CHAOS_SECONDS:-300}
SEED=${CHAOS_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED
D=$BUILD/rogatoryd
CTL=$BUILD/rogatoryctl
PKI=$SRC/pki/rogatory-pki
START=$(date +%s)
IDS=(BD-ACC FR-MJ)
POINTS=(submit-before-reply sending-before-write inbox-before-receipt
    receipt-before-commit store-mid-commit)
# Time kept for the final resubmission, settling and checking.
SETTLE=${CHAOS_SETTLE_SECONDS:-90}

[ -x "$D" ] && [ -x "$CTL" ] || { echo "chaos: build first (no $D or $CTL)" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/rogatory-chaos-XXXXXX") || exit 2
PIDS=(0 0)
LOADPID=0
KILLS=0
CRASHES=0
ROUND=0

log() { printf 'chaos: %s\n' "$*"; }
elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( LIMIT - $(elapsed) )); }
# A random fraction of a second from $1 to $2 tenths, for sleep: deliberate, random
# moments are what chaos is made of (never a synchronisation).
rsleep() { local t=$(( $1 + RANDOM % ($2 - $1 + 1) )); sleep "$((t / 10)).$((t % 10))"; }

cleanup() {
    [ "$LOADPID" -gt 0 ] && kill "$LOADPID" 2>/dev/null
    for i in 0 1; do
        [ "${PIDS[$i]}" -gt 0 ] && kill -9 "${PIDS[$i]}" 2>/dev/null
    done
    wait 2>/dev/null
}
trap cleanup EXIT

# ---- set-up: a CA, two authorities, their configs and a directory ----

free_port() {
    local p
    while :; do
        p=$(( 20000 + RANDOM % 12768 ))
        ss -ltn 2>/dev/null | grep -q ":$p " || { echo "$p"; return; }
    done
}

setup() {
    "$PKI" init "$W/ca" >/dev/null 2>&1 || { echo "chaos: rogatory-pki init failed" >&2; exit 2; }
    PORTS=("$(free_port)" "$(free_port)")
    while [ "${PORTS[0]}" = "${PORTS[1]}" ]; do PORTS[1]=$(free_port); done
    : >"$W/directory.conf"
    for i in 0 1; do
        local id=${IDS[$i]} h=$W/${IDS[$i]}
        mkdir -m 0700 "$h"
        "$PKI" issue "$W/ca" "$id" "$h" >/dev/null 2>&1 ||
            { echo "chaos: rogatory-pki issue $id failed" >&2; exit 2; }
        cat >"$h/rogatoryd.conf" <<EOF
[authority]
id = $id

[network]
listen = 127.0.0.1:${PORTS[$i]}
handshake_timeout = 2s
keepalive = 1s
dead_after = 5s

[tls]
certificate = $id.crt
key = $id.key
ca = ../ca/ca.crt

[store]
state_dir = state

[control]
socket = control.sock
mode = 0660

[log]
level = info

[delivery]
retry_min = 200ms
retry_max = 2s

[directory]
path = ../directory.conf
EOF
        cat >>"$W/directory.conf" <<EOF

[authority $id]
name = Chaos authority $id
country = ${id:0:2}
address = 127.0.0.1:${PORTS[$i]}
kinds = mla, extradition, other
languages = en, fr
EOF
        : >"$W/attempts-$i"  # id <TAB> "single"|"batch"
        : >"$W/acked-$i"
    done
}

# ---- the daemons ----

ctl() { "$CTL" -s "$W/${IDS[$1]}/control.sock" "${@:2}"; }
dlog() { echo "$W/${IDS[$1]}/state/delivery.jsonl"; }

# start I [CRASH_POINT]: starts node I and waits for "started as" (or its early exit).
start() {
    local i=$1 point=${2:-} h=$W/${IDS[$1]} before n
    before=$(grep -c "started as" "$h/rogatoryd.log" 2>/dev/null)
    before=${before:-0}
    if [ -n "$point" ]; then
        ROGATORY_CRASH_AT=$point "$D" -f -c "$h/rogatoryd.conf" >>"$h/rogatoryd.log" 2>&1 &
    else
        "$D" -f -c "$h/rogatoryd.conf" >>"$h/rogatoryd.log" 2>&1 &
    fi
    PIDS[$i]=$!
    for _ in $(seq 1 300); do
        n=$(grep -c "started as" "$h/rogatoryd.log" 2>/dev/null)
        [ "${n:-0}" -gt "$before" ] && return 0
        if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
            wait "${PIDS[$i]}"
            local st=$?
            PIDS[$i]=0
            [ -n "$point" ] && [ "$st" -eq 9 ] && return 0
            echo "chaos: ${IDS[$i]} exited with $st at start-up; its log: $h/rogatoryd.log" >&2
            tail -n 20 "$h/rogatoryd.log" >&2
            exit 2
        fi
        sleep 0.05
    done
    echo "chaos: ${IDS[$i]} did not start within 15 s" >&2
    exit 2
}

kill9() {
    local i=$1
    [ "${PIDS[$i]}" -gt 0 ] || return 0
    kill -9 "${PIDS[$i]}" 2>/dev/null
    wait "${PIDS[$i]}" 2>/dev/null
    PIDS[$i]=0
    KILLS=$((KILLS + 1))
}

# ---- the load ----

# Attachments plug in here: prints extra `send` arguments for message id $1 (the same
# every time it is called for that id, so a resubmission has the same content). Empty
# while rogatoryctl has no --attach.
ATTACH=0
if "$CTL" --help 2>&1 | grep -q -- '--attach'; then ATTACH=1; fi
chaos_attach_args() {
    [ "$ATTACH" -eq 1 ] || return 0
    # Every third message carries a file of a few KB to a few hundred KB.
    local id=$1 f=$W/att/$1.bin
    [ $(( 0x${id:0:2} % 3 )) -eq 0 ] || return 0
    if [ ! -f "$f" ]; then
        mkdir -p "$W/att"
        head -c $(( 2048 + 0x${id:2:4} * 4 )) /dev/urandom >"$f"
    fi
    printf -- '--attach\n%s\n' "$f"
}

uuid() { cat /proc/sys/kernel/random/uuid; }

send_single() {
    local s=$1 r=$((1 - $1)) id args=()
    id=$(uuid)
    printf '%s\tsingle\n' "$id" >>"$W/attempts-$s"
    mapfile -t args < <(chaos_attach_args "$id")
    if ctl "$s" send --to "${IDS[$r]}" --kind other --subject "chaos $id" --id "$id" \
        "${args[@]}" >/dev/null 2>&1; then
        echo "$id" >>"$W/acked-$s"
    fi
}

send_batch() {
    local s=$1 r=$((1 - $1)) n=$((2 + RANDOM % 9)) f id
    f=$W/batch-$s-$RANDOM.jsonl
    : >"$f"
    for _ in $(seq 1 "$n"); do
        id=$(uuid)
        printf '%s\tbatch\n' "$id" >>"$W/attempts-$s"
        printf '{"to":"%s","kind":"other","subject":"chaos %s","id":"%s"}\n' \
            "${IDS[$r]}" "$id" "$id" >>"$f"
    done
    ctl "$s" send --batch "$f" 2>/dev/null | grep -E '^[0-9a-f-]{36}$' >>"$W/acked-$s"
    rm -f "$f"
}

# Runs in the background until $W/stop exists: each ctl call waits for its commit, so
# the rate is what the daemons take (some 10-20 messages a second on 2 cores).
load_loop() {
    RANDOM=$((SEED + 7))
    while [ ! -e "$W/stop" ]; do
        local s=$(( (RANDOM >> 4) % 2 ))
        if [ $(( (RANDOM >> 4) % 10 )) -lt 7 ]; then send_single "$s"; else send_batch "$s"; fi
        sleep 0.02 # pacing of the load, not a synchronisation
    done
}

# ---- the rounds ----

round() {
    rsleep 3 20
    for j in 0 1; do
        if [ "${PIDS[$j]}" -gt 0 ] && ! kill -0 "${PIDS[$j]}" 2>/dev/null; then
            wait "${PIDS[$j]}"
            log "round $ROUND: ${IDS[$j]} died on its own (status $?); see its log"
            PROBLEMS=$((PROBLEMS + 1))
            PIDS[$j]=0
            start "$j"
        fi
    done
    # Odd rounds stop a daemon at the next crash point in turn (10 of 20 rounds: each
    # point twice); even rounds kill one or both at a random moment.
    local what=$(( (RANDOM >> 3) % 3 )) i=$(( (RANDOM >> 5) % 2 )) point
    [ $((ROUND % 2)) -eq 1 ] && what=3
    case $what in
    0 | 1) # kill -9 one of them at a random moment, restart after a while
        log "round $ROUND: kill -9 ${IDS[$i]}"
        kill9 "$i"
        rsleep 0 15
        start "$i"
        ;;
    3) # restart one with a crash point; it dies there under the load
        point=${POINTS[$(( (ROUND / 2) % ${#POINTS[@]} ))]}
        log "round $ROUND: ${IDS[$i]} at crash point $point"
        kill9 "$i"
        start "$i" "$point"
        if [ "${PIDS[$i]}" -gt 0 ]; then
            local st=-1
            for _ in $(seq 1 100); do
                kill -0 "${PIDS[$i]}" 2>/dev/null || { wait "${PIDS[$i]}"; st=$?; break; }
                sleep 0.1
            done
            if [ "$st" -eq 9 ]; then
                CRASHES=$((CRASHES + 1))
            else
                log "round $ROUND: $point not reached in 10 s; kill -9 instead"
            fi
            [ "$st" -ge 0 ] && PIDS[$i]=0
            kill9 "$i"
        else
            CRASHES=$((CRASHES + 1))
        fi
        start "$i"
        ;;
    2) # both at once
        log "round $ROUND: kill -9 both"
        kill9 0
        kill9 1
        rsleep 0 10
        start 0
        start 1
        ;;
    esac
}

# ---- settling and checking ----

ids_of() { awk -F'\t' '{print $1}' "$W/attempts-$1" | sort; }

# Every unacknowledged submission again, same id, same content.
resubmit() {
    local s=$1 r=$((1 - $1)) id args=() n=0 fail=0
    sort -u "$W/acked-$s" >"$W/acked-$s.sorted"
    for id in $(ids_of "$s" | comm -23 - "$W/acked-$s.sorted"); do
        args=()
        # Batch lines carry no attachment: only a single send is resubmitted with one.
        if grep -q "^$id	single" "$W/attempts-$s"; then
            mapfile -t args < <(chaos_attach_args "$id")
        fi
        if ctl "$s" send --to "${IDS[$r]}" --kind other --subject "chaos $id" --id "$id" \
            "${args[@]}" >"$W/resubmit.out" 2>&1; then
            n=$((n + 1))
        else
            fail=$((fail + 1))
            echo "chaos: resubmitting $id at ${IDS[$s]} failed: $(cat "$W/resubmit.out")" >&2
        fi
    done
    log "${IDS[$s]}: $n unacknowledged submissions sent again ($fail failed)"
    RESUBMIT_FAILED=$((RESUBMIT_FAILED + fail))
}

# events EVENT NODE: the ids of that event in the node's delivery log, one per line.
events() {
    grep -F "\"event\":\"$1\"" "$(dlog "$2")" | grep -oE '"id":"[0-9a-f-]{36}"' |
        cut -d'"' -f4 | sort
}

# The positive marker for "nothing more happens": one more message from node $1,
# checked like every other. Transfers are stored in order and a delivered message is
# never sent again, so once it is delivered every late copy of an earlier message has
# left its events in both logs.
send_marker() {
    local s=$1 r=$((1 - $1)) id
    id=$(uuid)
    printf '%s\tmarker\n' "$id" >>"$W/attempts-$s"
    if ctl "$s" send --to "${IDS[$r]}" --kind other --subject "chaos marker $id" --id "$id" \
        >/dev/null 2>&1; then
        echo "$id" >>"$W/acked-$s"
    fi
}

settled() {
    for s in 0 1; do
        local want got
        want=$(ids_of "$s" | wc -l)
        got=$(events delivered "$s" | sort -u | wc -l)
        [ "$got" -ge "$want" ] || return 1
    done
    return 0
}

LOST=0
DUP=0
check_dir() {
    local s=$1 r=$((1 - $1)) sid=${IDS[$1]} rid=${IDS[$((1 - $1))]}
    local all=$W/all-$s n
    ids_of "$s" | uniq >"$all"
    n=$(wc -l <"$all")
    events queued "$s" >"$W/queued-$s"
    events delivered "$s" >"$W/delivered-$s"
    # the receiver's "received" events of messages from this sender
    grep -F '"event":"received"' "$(dlog "$r")" | grep -F "\"peer\":\"$sid\"" |
        grep -oE '"id":"[0-9a-f-]{36}"' | cut -d'"' -f4 | sort >"$W/received-$r"
    local q_missing q_dup d_missing d_dup r_missing r_dup r_extra
    q_missing=$(comm -23 "$all" <(uniq "$W/queued-$s") | wc -l)
    q_dup=$(uniq -d "$W/queued-$s" | wc -l)
    d_missing=$(comm -23 "$all" <(uniq "$W/delivered-$s") | wc -l)
    d_dup=$(uniq -d "$W/delivered-$s" | wc -l)
    r_missing=$(comm -23 "$all" <(uniq "$W/received-$r") | wc -l)
    r_dup=$(uniq -d "$W/received-$r" | wc -l)
    r_extra=$(comm -13 "$all" <(uniq "$W/received-$r") | wc -l)
    # The stores say the same: every message of the sender delivered, once at the receiver.
    local db_s=$W/$sid/state/rogatory.db db_r=$W/$rid/state/rogatory.db
    local s_rows s_notdelivered r_rows r_distinct
    s_rows=$(sqlite3 -readonly "$db_s" "SELECT count(*) FROM messages WHERE dir = 0")
    s_notdelivered=$(sqlite3 -readonly "$db_s" \
        "SELECT count(*) FROM messages WHERE dir = 0 AND state <> 'delivered'")
    r_rows=$(sqlite3 -readonly "$db_r" \
        "SELECT count(*) FROM messages WHERE dir = 1 AND sender = '$sid'")
    r_distinct=$(sqlite3 -readonly "$db_r" \
        "SELECT count(DISTINCT msg_id) FROM messages WHERE dir = 1 AND sender = '$sid'")
    log "$sid -> $rid: $n submitted; sender: $q_missing never queued, $q_dup queued twice," \
        "$d_missing not delivered, $d_dup delivered twice, $s_rows rows ($s_notdelivered" \
        "not delivered); receiver: $r_missing missing, $r_dup received twice, $r_extra" \
        "unknown, $r_rows rows ($r_distinct distinct)"
    local lost=$((q_missing > r_missing ? q_missing : r_missing))
    [ "$d_missing" -gt "$lost" ] && lost=$d_missing
    LOST=$((LOST + lost))
    DUP=$((DUP + q_dup + d_dup + r_dup + r_rows - r_distinct))
    [ "$s_rows" -eq "$n" ] && [ "$s_notdelivered" -eq 0 ] && [ "$r_distinct" -eq "$n" ] &&
        [ "$r_extra" -eq 0 ] || PROBLEMS=$((PROBLEMS + 1))
    MESSAGES=$((MESSAGES + n))
}

# ---- the run ----

PROBLEMS=0
setup
log "seed $SEED, $ROUNDS rounds, at most $LIMIT s, work folder $W"
[ "$ATTACH" -eq 1 ] && log "rogatoryctl has --attach: every third single send carries a file"
start 0
start 1
load_loop &
LOADPID=$!
while [ "$ROUND" -lt "$ROUNDS" ]; do
    if [ "$(left)" -le "$SETTLE" ]; then
        log "time budget reached after $ROUND rounds"
        break
    fi
    ROUND=$((ROUND + 1))
    round
done
touch "$W/stop"
wait "$LOADPID"
LOADPID=0
for i in 0 1; do [ "${PIDS[$i]}" -gt 0 ] || start "$i"; done
RESUBMIT_FAILED=0
resubmit 0
resubmit 1
while ! settled && [ "$(left)" -gt 10 ]; do sleep 1; done
send_marker 0
send_marker 1
while ! settled && [ "$(left)" -gt 5 ]; do sleep 1; done
MESSAGES=0
check_dir 0
check_dir 1
for i in 0 1; do
    ctl "$i" status >/dev/null 2>&1 || { log "${IDS[$i]} not answering at the end"; PROBLEMS=$((PROBLEMS + 1)); }
    r=$(sqlite3 -readonly "$W/${IDS[$i]}/state/rogatory.db" 'PRAGMA integrity_check')
    [ "$r" = ok ] || { log "${IDS[$i]}: integrity_check: $r"; PROBLEMS=$((PROBLEMS + 1)); }
done
if [ "$ATTACH" -eq 1 ]; then
    # Received attachments are whole: fetch re-checks each one's SHA-256 (a sample).
    for i in 0 1; do
        db=$W/${IDS[$i]}/state/rogatory.db
        n=$(sqlite3 -readonly "$db" "SELECT count(*) FROM messages WHERE dir = 1 AND bset <> 0")
        log "${IDS[$i]}: $n received messages with attachments"
        for id in $(sqlite3 -readonly "$db" \
            "SELECT msg_id FROM messages WHERE dir = 1 AND bset <> 0 LIMIT 5"); do
            mkdir -p "$W/fetch-$i"
            ctl "$i" fetch "$id" --out "$W/fetch-$i" >"$W/fetch.out" 2>&1 || {
                log "${IDS[$i]}: fetch $id failed: $(cat "$W/fetch.out")"
                PROBLEMS=$((PROBLEMS + 1))
            }
        done
    done
fi
for i in 0 1; do kill "${PIDS[$i]}" 2>/dev/null; wait "${PIDS[$i]}" 2>/dev/null; PIDS[$i]=0; done
log "$KILLS kills, $CRASHES stops at crash points, $RESUBMIT_FAILED failed resubmissions," \
    "$(elapsed) s"
echo "$ROUND rounds, $MESSAGES messages, $LOST lost, $DUP duplicated"
if [ "$LOST" -ne 0 ] || [ "$DUP" -ne 0 ] || [ "$PROBLEMS" -ne 0 ] || [ "$RESUBMIT_FAILED" -ne 0 ]; then
    echo "chaos: FAILED (seed $SEED); work folder kept: $W" >&2
    exit 1
fi
if [ "${CHAOS_KEEP:-0}" = 1 ]; then log "work folder kept: $W"; else rm -rf "$W"; fi
exit 0
