#!/bin/sh
# mkcorpus.sh: (re)writes the seed corpus tests/fuzz/corpus/<target>/ and crl_ca.h.
# Binary seeds come from mkcorpus.c (built against $BUILD/librogatory.a), signed with a
# throw-away PKI made here by pki/rogatory-pki and deleted at exit: no key is kept, and
# no seed needs to stay valid (the CRL seeds and crl_ca.h only need to match each other).
# Run from the source tree: tests/fuzz/mkcorpus.sh [BUILD]
set -eu

BUILD=${1:-build}
SRC=$(pwd)
OUT=$SRC/tests/fuzz/corpus
FIX=$SRC/tests/fixtures/config
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

make -s BUILD="$BUILD" "$BUILD/librogatory.a"
PKGS="libssl libcrypto libevent libevent_openssl libevent_pthreads libprotobuf-c sqlite3 inih jansson"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -Iproto -Idaemon -I"$BUILD/gen" -o "$TMP/mkcorpus" \
    tests/fuzz/mkcorpus.c "$BUILD/librogatory.a" $(pkg-config --cflags --libs $PKGS) -lpthread

PKI=$TMP/pki
pki/rogatory-pki init "$PKI/ca" >/dev/null 2>&1
pki/rogatory-pki issue "$PKI/ca" FR-MJ "$PKI" >/dev/null 2>&1
pki/rogatory-pki issue "$PKI/ca" UA-PGO "$PKI" >/dev/null 2>&1
pki/rogatory-pki issue "$PKI/ca" BD-ACC "$PKI" >/dev/null 2>&1
pki/rogatory-pki revoke -r keyCompromise "$PKI/ca" "$PKI/BD-ACC.crt" >/dev/null 2>&1
pki/rogatory-pki crl "$PKI/ca" >/dev/null 2>&1
openssl crl -in "$PKI/ca/crl.pem" -outform DER -out "$PKI/crl.der"

for t in frame envelope body evidence ctl batch config directory value crl casedoc; do
	rm -rf "${OUT:?}/$t"
	mkdir -p "$OUT/$t"
done
"$TMP/mkcorpus" "$PKI" "$OUT"

# crl: the CRL as DER and PEM, and the CA it must match compiled into the harness.
cp "$PKI/crl.der" "$OUT/crl/crl.der"
cp "$PKI/ca/crl.pem" "$OUT/crl/crl.pem"
{
	echo "/* crl_ca.h: written by tests/fuzz/mkcorpus.sh with the corpus/crl seeds (the CA"
	echo " * that signed them; public, its dates irrelevant to the harness). Do not edit. */"
	echo "#define FUZZ_CRL_CA_PEM \\"
	sed 's/.*/\t"&\\n" \\/' "$PKI/ca/ca.crt"
	printf '\t""\n'
} >"$SRC/tests/fuzz/crl_ca.h"

# config and directory: the fixtures (good, minimal and one of each error).
for f in good minimal bad-dead-after bad-duplicate-key bad-listen bad-many bad-syntax \
	bad-unit bad-unknown-key bad-control bad-max-frame; do
	cp "$FIX/$f.conf" "$OUT/config/$f.conf"
done
cp "$SRC/configs/rogatoryd.conf.example" "$OUT/config/example.conf"
for f in directory dir-bad dir-empty; do
	cp "$FIX/$f.conf" "$OUT/directory/$f.conf"
done
cp "$SRC/configs/directory.conf.example" "$OUT/directory/example.conf"

# value: durations, sizes, host:port.
i=0
for v in 250ms 5s 10m 2h 7d 0s 18446744073709551615ms 512 64K 4M 1G 0 \
	127.0.0.1:7000 '[::1]:7003' acc.example.org:0 'host:65535' '[fe80::1%eth0]:1'; do
	i=$((i + 1))
	printf '%s' "$v" >"$OUT/value/v$i"
done

# batch: JSON lines as rogatoryctl send --batch reads them.
cat >"$OUT/batch/requests.jsonl" <<'JSON'
{"to":"UA-PGO","kind":"mla","subject":"Search and seizure","urgent":true,"respond_by":"2024-09-30","fields":{"legal_basis":"UNCAC art. 46(3)(b)"}}
{"id":"4c7b3a52-9f1e-4d2a-8b6c-0e5f3a2d1c90","to":"FR-MJ","kind":"mla","subject":"Refusal","status":"refused","reply_to":"0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9","fields":{"reasons":"dual criminality"}}

{"to":"BD-ACC","kind":"extradition"}
[1,2,3]
JSON
printf '{"to":"UA-PGO","kind":"other","subject":"x","urgent":"yes"}\n' >"$OUT/batch/mistyped.jsonl"
# casedoc: a kind byte, a status byte (0: a request), then a document or field lines.
{ printf '\000\000'; sed 's/RESPOND_BY/2099-01-01/' configs/demo/mla-request.json; } \
    >"$OUT/casedoc/mla-document"
printf '\000\007{"reasons":[{"code":"other","text":"x"}],"note":"n"}' \
    >"$OUT/casedoc/refused-status"
printf '\000\000reference="R-1"\nlanguage="en"\npersons=[{"name":"A","nationality":"BD"}]\nassistance=[{"details":"d","type":"documents-records"}]' \
    >"$OUT/casedoc/fields"
echo "corpus written to $OUT"
