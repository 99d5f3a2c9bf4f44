#!/bin/sh
# peers.sh: the files side of the bench's peer-systems phase (bench/peers.c, BENCH_PEERS=1):
# installs Mosquitto and Postfix from Debian's packages and writes each instance's private
# configuration under the bench's throw-away folder. It must never touch /etc/postfix or
# /etc/mosquitto, nor start, stop or enable a service: bench/peers.c starts every daemon
# itself in the foreground and stops it by pid.
#
#   peers.sh install
#       installs mosquitto, mosquitto-clients and postfix when one of their programs is
#       missing (root, apt-get, debconf "No configuration" for postfix); refuses when
#       invoke-rc.d would start their system services (no /usr/sbin/policy-rc.d that
#       denies, as in a container): then install them yourself. Exit 0: all present.
#   peers.sh setup SRC CADIR DIR MQTT_PORT SMTP1_PORT SMTP2_PORT
#       certificates from SRC/pki/rogatory-pki (CA in CADIR) and the configurations of
#       the broker (DIR/mosquitto) and of two Postfix instances (DIR/pf1 relays for
#       dest.test to DIR/pf2 over SMTP, TLS 1.3, client certificate both ways; pf2
#       delivers to the maildir DIR/pf2/mail/box/)
#   peers.sh payload FILE N
#       N lines of 1,023 bytes + newline (1 KiB messages for mosquitto_pub -l)
#
# Error policy: every failure names the step on stderr and exits non-zero; the phase then
# reports the peers as not measured and the bench goes on.
set -eu

PROG=peers.sh
PACKAGES='mosquitto mosquitto-clients postfix'
PF_DAEMONS=/usr/lib/postfix/sbin

die() {
	echo "$PROG: $*" >&2
	exit 1
}

have_all() {
	for p in /usr/sbin/mosquitto /usr/bin/mosquitto_pub /usr/bin/mosquitto_sub \
	    /usr/sbin/postfix /usr/sbin/smtp-source "$PF_DAEMONS/master"; do
		[ -x "$p" ] || return 1
	done
}

do_install() {
	have_all && return 0
	[ "$(id -u)" = 0 ] || die "not root: cannot install $PACKAGES (install them, then run again)"
	# Installing starts a package's service unless invoke-rc.d is told not to (exit 101).
	rc=0
	[ -x /usr/sbin/policy-rc.d ] && { /usr/sbin/policy-rc.d mosquitto start >/dev/null 2>&1 || rc=$?; }
	[ "$rc" = 101 ] || die "no /usr/sbin/policy-rc.d denying service starts here: installing" \
	    "$PACKAGES would start the system's own services; install them yourself and stop them"
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections ||
	    die "debconf-set-selections failed"
	echo "   installing $PACKAGES (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	log=$(mktemp)
	# Every step has a deadline (a held dpkg lock or a dead mirror must not hang the bench).
	# $PACKAGES is split into its names on purpose.
	# shellcheck disable=SC2086
	if ! timeout 600 apt-get install -y --no-install-recommends $PACKAGES >"$log" 2>&1; then
		# An empty or stale package list: update once, then try again.
		timeout 300 apt-get update >>"$log" 2>&1 || true
		# shellcheck disable=SC2086
		timeout 600 apt-get install -y --no-install-recommends $PACKAGES >>"$log" 2>&1 || {
			tail -n 5 "$log" >&2
			rm -f "$log"
			die "apt-get install $PACKAGES failed"
		}
	fi
	rm -f "$log"
	have_all || die "installed $PACKAGES, but a program is still missing"
}

issue() { # issue ID
	"$SRC/pki/rogatory-pki" issue "$CADIR" "$1" "$DIR/certs" >/dev/null 2>&1 ||
	    die "rogatory-pki issue $1 failed"
}

# The broker: TLS 1.3 only, client certificates required and checked against the bench's
# CA, no persistence (Mosquitto's default), no limit on queued QoS 1 messages (the
# default of 1,000 per client drops messages a slower subscriber has not taken yet).
setup_mosquitto() {
	d=$DIR/mosquitto
	mkdir -p "$d"
	cat >"$d/mosquitto.conf" <<EOF
# written by bench/peers.sh; the broker runs in the foreground, stopped by pid
user $(id -un)
per_listener_settings false
persistence false
allow_anonymous true
max_queued_messages 0
log_dest stderr
log_type error
log_type warning
log_type notice
log_type subscribe
listener $MQTT_PORT 127.0.0.1
cafile $CADIR/ca.crt
certfile $DIR/certs/FR-PEERS-BROKER.crt
keyfile $DIR/certs/FR-PEERS-BROKER.key
require_certificate true
tls_version tlsv1.3
EOF
}

# master.cf of an instance: its smtpd on 127.0.0.1:PORT only, nothing chrooted, the
# services a relay and a virtual mailbox need.
master_cf() { # PORT
	cat <<EOF
# written by bench/peers.sh
127.0.0.1:$1 inet n - n - - smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
smtp       unix  - - n -  - smtp
relay      unix  - - n -  - smtp
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
virtual    unix  - n n -  - virtual
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF
}

# What both instances share: private folders, loopback only, no DNS, a log file.
main_common() { # NAME
	cat <<EOF
# written by bench/peers.sh
compatibility_level = 3.6
queue_directory = $DIR/$1/queue
data_directory = $DIR/$1/data
maillog_file = $DIR/$1/maillog
maillog_file_prefixes = $DIR
myhostname = $1.peers.test
mydomain = peers.test
myorigin = \$myhostname
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_banner = \$myhostname ESMTP
biff = no
EOF
}

# pf1: accepts from 127.0.0.1 for dest.test and relays it all to pf2 over TLS 1.3
# (encryption required), presenting its client certificate and checking pf2's against
# the CA and its name.
setup_pf1() {
	main_common pf1
	cat <<EOF
mynetworks = 127.0.0.0/8
relay_domains = dest.test
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$SMTP2_PORT
smtp_tls_security_level = secure
smtp_tls_secure_cert_match = DE-PEERS-PF2
smtp_tls_chain_files = $DIR/certs/FR-PEERS-PF1.key, $DIR/certs/FR-PEERS-PF1.crt
smtp_tls_CAfile = $CADIR/ca.crt
smtp_tls_mandatory_protocols = >=TLSv1.3
smtp_tls_loglevel = 1
EOF
}

# pf2: TLS 1.3 required, a client certificate required and verified against the CA
# (permit_tls_all_clientcerts: nothing else is accepted), delivery to one maildir.
setup_pf2() {
	main_common pf2
	cat <<EOF
mynetworks =
smtpd_tls_security_level = encrypt
smtpd_tls_chain_files = $DIR/certs/DE-PEERS-PF2.key, $DIR/certs/DE-PEERS-PF2.crt
smtpd_tls_CAfile = $CADIR/ca.crt
smtpd_tls_ask_ccert = yes
smtpd_tls_req_ccert = yes
smtpd_tls_mandatory_protocols = >=TLSv1.3
smtpd_tls_loglevel = 1
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = permit_tls_all_clientcerts, reject
virtual_mailbox_domains = dest.test
virtual_mailbox_base = $DIR/pf2/mail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
EOF
}

setup_postfix() { # NAME PORT
	d=$DIR/$1
	mkdir -p "$d/etc" "$d/queue" "$d/data"
	master_cf "$2" >"$d/etc/master.cf"
	"setup_$1" >"$d/etc/main.cf"
	chown postfix "$d/data" || die "chown postfix $d/data"
	if [ "$1" = pf2 ]; then
		mkdir -p "$d/mail/box/new" "$d/mail/box/cur" "$d/mail/box/tmp"
		chown -R 65534:65534 "$d/mail" || die "chown $d/mail"
	fi
	postfix -c "$d/etc" check >"$d/check.log" 2>&1 ||
	    die "postfix -c $d/etc check failed: $(tail -n 3 "$d/check.log")"
}

do_setup() {
	[ $# -eq 6 ] || die "usage: $PROG setup SRC CADIR DIR MQTT_PORT SMTP1_PORT SMTP2_PORT"
	SRC=$1 CADIR=$2 DIR=$3 MQTT_PORT=$4 SMTP1_PORT=$5 SMTP2_PORT=$6
	mkdir -p "$DIR/certs"
	# The Postfix daemons (user postfix) and virtual (nobody) walk down to their folders.
	chmod 0711 "$DIR" "$(dirname "$DIR")"
	for id in FR-PEERS-BROKER FR-PEERS-PUB DE-PEERS-SUB FR-PEERS-PF1 DE-PEERS-PF2; do
		issue "$id"
	done
	setup_mosquitto
	setup_postfix pf2 "$SMTP2_PORT"
	setup_postfix pf1 "$SMTP1_PORT"
}

do_payload() {
	[ $# -eq 2 ] || die "usage: $PROG payload FILE N"
	line=$(head -c 1023 /dev/zero | tr '\0' x)
	awk -v n="$2" -v l="$line" 'BEGIN { for (i = 0; i < n; i++) print l }' >"$1" ||
	    die "cannot write $1"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
install) do_install ;;
setup) do_setup "$@" ;;
payload) do_payload "$@" ;;
*) die "usage: $PROG install | setup SRC CADIR DIR MQTT_PORT SMTP1_PORT SMTP2_PORT | payload FILE N" ;;
esac
