#!/bin/sh
# make demo: start acmedns on the sample configuration (acmedns.conf) with
# loopback ports, show what it answers with dig, register and update over
# the acme-dns API and show the value served, stop it, exit 0. (The ACME
# issuance of the full demo arrives with the ACME engine.)
# DEMO_KEEP=1 leaves it running in the foreground (Ctrl-C stops it).
set -eu
cd "$(dirname "$0")/.."
BIN=build/acmedns
RUN=demo-run
mkdir -p "$RUN"

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=${DEMO_DNS_PORT:-$(free_port)}
export ACMEDNS_DNS_LISTEN="127.0.0.1:$PORT,[::1]:$PORT"
APORT=${DEMO_API_PORT:-$(free_port)}
export ACMEDNS_API_LISTEN="127.0.0.1:$APORT"
export ACMEDNS_STORE_PATH="$RUN/acmedns.db"
export ACMEDNS_CERTS_DIR="$RUN/certs"
ZONE=$(sed -n 's/^domain *= *\([^ #]*\).*/\1/p' acmedns.conf | head -n 1)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "configuration (acmedns check-config, DNS on port $PORT)"
$BIN check-config -c acmedns.conf | sed -n '/^\[dns\]/,/^\[api\]/p' | grep -v '^\[api\]'

say "starting acmedns"
$BIN serve -c acmedns.conf 2> "$RUN/acmedns.log" &
PID=$!
stop() {
	kill -TERM $PID 2>/dev/null || true
	wait $PID 2>/dev/null
}
trap 'stop; exit 130' INT TERM
ok=0
for _ in $(seq 50); do
	if dig +short +time=1 +tries=1 @127.0.0.1 -p "$PORT" "$ZONE" SOA 2>/dev/null |
		grep -q "^[^;]"; then
		ok=1; break
	fi
	kill -0 $PID 2>/dev/null || break
	sleep 0.1
done
if [ $ok != 1 ]; then
	echo "acmedns did not come up; its log:" >&2
	cat "$RUN/acmedns.log" >&2
	stop
	exit 1
fi
sed 's/^/  log: /' "$RUN/acmedns.log"

q() {
	printf '\n$ dig @127.0.0.1 -p %s %s\n' "$PORT" "$*"
	dig +norec +nocmd +nostats +noquestion @127.0.0.1 -p "$PORT" "$@" |
		grep -v '^$' | sed 's/^/  /'
}
say "what the zone answers"
q "$ZONE" SOA
q "$ZONE" NS
q "$ZONE" CAA
q "nothing-here.$ZONE" TXT
q example.com A
q +tcp "ns1.$ZONE" AAAA
printf '\n$ dig @::1 -p %s %s TXT (IPv6, EDNS, DO)\n' "$PORT" "$ZONE"
dig +norec +dnssec +nocmd +nostats @::1 -p "$PORT" "$ZONE" TXT | grep -E 'flags|status|udp' | sed 's/^/  /'

say "acme-dns API: register, update, and the value is served at once"
API="http://127.0.0.1:$APORT"
printf '\n$ curl -s -X POST %s/register\n' "$API"
REG=$(curl -s -X POST "$API/register")
# the password is a secret: show it masked
echo "$REG" | sed 's/"password":"[^"]*"/"password":"********"/; s/^/  /'
set -- $(echo "$REG" | python3 -c 'import json, sys
j = json.load(sys.stdin); print(j["username"], j["password"], j["subdomain"])')
TXT=$(python3 -c 'import base64, hashlib, os
print(base64.urlsafe_b64encode(hashlib.sha256(os.urandom(16)).digest()).decode().rstrip("="))')
printf '\n$ curl -s -X POST %s/update -H "X-Api-User: %s" -H "X-Api-Key: ********" -d ...\n' "$API" "$1"
curl -s -X POST "$API/update" -H "X-Api-User: $1" -H "X-Api-Key: $2" \
	-d "{\"subdomain\":\"$3\",\"txt\":\"$TXT\"}" | sed 's/^/  /'
echo
q "$3.$ZONE" TXT
if ! dig +short @127.0.0.1 -p "$PORT" "$3.$ZONE" TXT | grep -q "$TXT"; then
	echo "the updated TXT value is not served" >&2
	stop
	exit 1
fi

if [ "${DEMO_KEEP:-0}" = 1 ]; then
	say "acmedns keeps running (pid $PID, DNS 127.0.0.1:$PORT, API $API); Ctrl-C stops it"
	trap 'stop; exit 0' INT TERM
	tail -n 0 -f "$RUN/acmedns.log" &
	TAIL=$!
	wait $PID || true
	kill $TAIL 2>/dev/null || true
	exit 0
fi

say "stopping acmedns (SIGTERM)"
kill -TERM $PID
rc=0
wait $PID || rc=$?
tail -n 2 "$RUN/acmedns.log" | sed 's/^/  log: /'
if [ $rc != 0 ]; then
	echo "acmedns exited with status $rc" >&2
	exit 1
fi
echo
echo "demo done: acmedns answered from memory, took an acme-dns update and stopped cleanly."
