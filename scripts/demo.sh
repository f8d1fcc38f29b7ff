#!/bin/sh
# make demo (contract §1): the whole story on loopback with the embedded
# defaults (acmedns.conf, SQLite): start a local test CA (Debian's pebble),
# a resolver (unbound) and a customer zone (nsd), start acmedns, register
# over the acme-dns API, POST /domains for the demo names, create the
# CNAMEs it asks for in the customer zone, wait until the certificate is
# issued by the in-process ACME engine, print its names and expiry, the
# TLSA record and dig answers, stop everything it started (by PID), exit 0.
#
#   Pebble --dns-01 query--> unbound --stub example.test------> nsd (CNAMEs)
#                                    '-stub auth.example.test-> acmedns
#
# Pebble asks one UDP question and does not follow CNAMEs, so the real
# delegation topology needs the resolver in between.
# DEMO_KEEP=1 leaves acmedns running in the foreground (with Pebble, nsd
# and unbound behind it); Ctrl-C stops everything.
# Needs root only for `make deps`; everything else runs as any user.
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-build/acmedns}
RUN=demo-run
rm -rf "$RUN"
mkdir -p "$RUN/tls" "$RUN/nsd" "$RUN/unbound" "$RUN/pebble"
RUN_ABS=$(cd "$RUN" && pwd)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; stop_all; exit 1; }

# every process this script starts, stopped by PID at the end (or on error)
PIDS=""
stop_all() {
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	PIDS=""
}
trap 'stop_all; exit 130' INT TERM

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds
wait_until() {
	n=$(($1 * 10)); shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		n=$((n - 1))
		sleep 0.1
	done
	return 1
}

for t in pebble nsd unbound dig curl openssl python3; do
	command -v $t >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] ||
		{ echo "demo: $t is missing: run 'make deps' (as root)" >&2; exit 1; }
done
PATH=$PATH:/usr/sbin
[ -x "$BIN" ] || { echo "demo: $BIN is missing: run 'make'" >&2; exit 1; }

PORT=${DEMO_DNS_PORT:-$(free_port)}
APORT=${DEMO_API_PORT:-$(free_port)}
NSD_PORT=$(free_port)
RES_PORT=$(free_port)
ACME_PORT=$(free_port)
MGMT_PORT=$(free_port)
ZONE=$(sed -n 's/^domain *= *\([^ #]*\).*/\1/p' acmedns.conf | head -n 1)
CUST=example.test
NAMES="$CUST www.$CUST"
API="http://127.0.0.1:$APORT"

# ---------------------------------------------------------------------------
say "a local test CA: Pebble on 127.0.0.1:$ACME_PORT"
cd "$RUN/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-days 30 -keyout ca.key -out ca.pem -subj "/CN=acmedns demo TLS CA" \
	-addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout localhost.key -out localhost.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext.cnf
openssl x509 -req -in localhost.csr -CA ca.pem -CAkey ca.key \
	-CAcreateserial -days 30 -extfile ext.cnf -out localhost.pem 2>/dev/null
chmod 600 ca.key localhost.key
cd - >/dev/null
cat > "$RUN/pebble/config.json" <<EOF
{ "pebble": {
    "listenAddress": "127.0.0.1:$ACME_PORT",
    "managementListenAddress": "127.0.0.1:$MGMT_PORT",
    "certificate": "$RUN_ABS/tls/localhost.pem",
    "privateKey": "$RUN_ABS/tls/localhost.key",
    "httpPort": $(free_port), "tlsPort": $(free_port),
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false } }
EOF
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
	pebble -config "$RUN/pebble/config.json" \
	-dnsserver "127.0.0.1:$RES_PORT" -strict=false \
	> "$RUN/pebble/pebble.log" 2>&1 &
PIDS="$PIDS $!"
CURL="curl -sS --max-time 10 --cacert $RUN/tls/ca.pem"
wait_until 20 $CURL "https://127.0.0.1:$ACME_PORT/dir" ||
	die "pebble did not start: $(tail -n 20 "$RUN/pebble/pebble.log")"
echo "  directory https://127.0.0.1:$ACME_PORT/dir (pid $!)"

# ---------------------------------------------------------------------------
say "the customer zone $CUST on nsd (127.0.0.1:$NSD_PORT)"
SERIAL=1
write_zone() { # the zone file with the CNAMEs given as arguments
	{
		printf '$ORIGIN %s.\n$TTL 60\n' "$CUST"
		printf '@ SOA ns1 hostmaster %s 3600 600 86400 60\n' "$SERIAL"
		printf '@ NS ns1\nns1 A 127.0.0.1\n@ A 127.0.0.1\nwww A 127.0.0.1\n'
		for r in "$@"; do echo "$r"; done
	} > "$RUN/nsd/$CUST.zone.tmp"
	mv "$RUN/nsd/$CUST.zone.tmp" "$RUN/nsd/$CUST.zone"
}
write_zone
cat > "$RUN/nsd/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$NSD_PORT
    do-ip6: no
    server-count: 1
    zonesdir: ""
    database: ""
    zonelistfile: "$RUN_ABS/nsd/zone.list"
    xfrdfile: "$RUN_ABS/nsd/xfrd.state"
    xfrdir: "$RUN_ABS/nsd"
    pidfile: "$RUN_ABS/nsd/nsd.pid"
    logfile: "$RUN_ABS/nsd/nsd.log"
    username: ""
    chroot: ""
    rrl-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: $CUST
    zonefile: $RUN_ABS/nsd/$CUST.zone
EOF
start_nsd() {
	nsd -d -c "$RUN/nsd/nsd.conf" > "$RUN/nsd/nsd.stderr" 2>&1 &
	NSD_PID=$!
	PIDS="$PIDS $NSD_PID"
}
nsd_serial() {
	dig +short +time=1 +tries=1 @127.0.0.1 -p "$NSD_PORT" "$CUST" SOA |
		awk '{print $3}'
}
start_nsd
wait_until 10 sh -c "[ \"\$(dig +short +time=1 +tries=1 @127.0.0.1 -p $NSD_PORT $CUST SOA | awk '{print \$3}')\" = 1 ]" ||
	die "nsd did not start: $(cat "$RUN/nsd/nsd.stderr")"
echo "  nsd pid $NSD_PID"

say "a resolver: unbound on 127.0.0.1:$RES_PORT (stubs $CUST, $ZONE)"
cat > "$RUN/unbound/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$RES_PORT
    port: $RES_PORT
    do-ip6: no
    num-threads: 1
    username: ""
    chroot: ""
    directory: "$RUN_ABS/unbound"
    pidfile: "$RUN_ABS/unbound/unbound.pid"
    logfile: "$RUN_ABS/unbound/unbound.log"
    use-syslog: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    local-zone: "test." nodefault
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    infra-host-ttl: 1
stub-zone:
    name: "$CUST"
    stub-addr: 127.0.0.1@$NSD_PORT
stub-zone:
    name: "$ZONE"
    stub-addr: 127.0.0.1@$PORT
remote-control:
    control-enable: no
EOF
unbound-checkconf "$RUN/unbound/unbound.conf" >/dev/null ||
	die "unbound-checkconf failed"
unbound -d -c "$RUN/unbound/unbound.conf" > "$RUN/unbound/unbound.stderr" 2>&1 &
UNBOUND_PID=$!
PIDS="$PIDS $UNBOUND_PID"
wait_until 10 dig +short +time=1 +tries=1 @127.0.0.1 -p "$RES_PORT" version.server CH TXT ||
	die "unbound did not start: $(cat "$RUN/unbound/unbound.stderr")"
echo "  unbound pid $UNBOUND_PID"

# ---------------------------------------------------------------------------
# acmedns: the sample acmedns.conf, ports and paths from the environment
# (every key can be overridden as ACMEDNS_<SECTION>_<KEY>)
export ACMEDNS_DNS_LISTEN="127.0.0.1:$PORT,[::1]:$PORT"
export ACMEDNS_API_LISTEN="127.0.0.1:$APORT"
export ACMEDNS_STORE_PATH="$RUN_ABS/acmedns.db"
export ACMEDNS_CERTS_DIR="$RUN_ABS/certs"
export ACMEDNS_ACME_DIRECTORY="https://127.0.0.1:$ACME_PORT/dir"
export ACMEDNS_ACME_CA_BUNDLE="$RUN_ABS/tls/ca.pem"
export ACMEDNS_ACME_EMAIL="admin@$CUST"
export ACMEDNS_ACME_RESOLVER="127.0.0.1:$RES_PORT"
# a missing CNAME is looked up again after this many seconds (default 60):
# the demo creates them right after POST /domains, so recheck soon
export ACMEDNS_ACME_DELEGATION_RECHECK=5

say "configuration (acmedns check-config: [dns] and [acme])"
$BIN check-config -c acmedns.conf |
	awk '/^\[/{p = ($0 == "[dns]" || $0 == "[acme]")} p && !/^#/ && NF' |
	sed 's/^/  /'

say "starting acmedns (DNS 127.0.0.1:$PORT, API $API)"
$BIN serve -c acmedns.conf 2> "$RUN/acmedns.log" &
PID=$!
PIDS="$PID $PIDS" # stopped first
wait_until 10 sh -c "dig +short +time=1 +tries=1 @127.0.0.1 -p $PORT $ZONE SOA | grep -q '^[^;]'" ||
	die "acmedns did not come up; its log:
$(cat "$RUN/acmedns.log")"
wait_until 10 curl -sf "$API/health" || die "the API does not answer"
sed 's/^/  log: /' "$RUN/acmedns.log"

q() { # dig against acmedns, the answer section
	printf '\n$ dig @127.0.0.1 -p %s %s\n' "$PORT" "$*"
	dig +norec +nocmd +nostats +noquestion @127.0.0.1 -p "$PORT" "$@" |
		grep -v '^$' | sed 's/^/  /'
}
r() { # dig through the resolver (what the CA sees)
	printf '\n$ dig @127.0.0.1 -p %s %s   (the resolver)\n' "$RES_PORT" "$*"
	dig +nocmd +nostats +noquestion +noadditional +noauthority \
		@127.0.0.1 -p "$RES_PORT" "$@" | grep -v '^$' | grep -v '^;' |
		sed 's/^/  /'
}
say "what the zone answers"
q "$ZONE" SOA
q "$ZONE" NS
q "nothing-here.$ZONE" TXT
q example.com A

# ---------------------------------------------------------------------------
say "acme-dns API: register, update, and the value is served at once"
printf '\n$ curl -s -X POST %s/register\n' "$API"
REG=$(curl -s -X POST "$API/register")
# the password is a secret: show it masked
echo "$REG" | sed 's/"password":"[^"]*"/"password":"********"/; s/^/  /'
set -- $(echo "$REG" | python3 -c 'import json, sys
j = json.load(sys.stdin); print(j["username"], j["password"], j["subdomain"])')
USER=$1 KEY=$2 SUB=$3
TXT=$(python3 -c 'import base64, hashlib, os
print(base64.urlsafe_b64encode(hashlib.sha256(os.urandom(16)).digest()).decode().rstrip("="))')
printf '\n$ curl -s -X POST %s/update -H "X-Api-User: %s" -H "X-Api-Key: ********" -d ...\n' "$API" "$USER"
curl -s -X POST "$API/update" -H "X-Api-User: $USER" -H "X-Api-Key: $KEY" \
	-d "{\"subdomain\":\"$SUB\",\"txt\":\"$TXT\"}" | sed 's/^/  /'
echo
q "$SUB.$ZONE" TXT
dig +short @127.0.0.1 -p "$PORT" "$SUB.$ZONE" TXT | grep -q "$TXT" ||
	die "the updated TXT value is not served"

# ---------------------------------------------------------------------------
say "managed domain: POST /domains for $NAMES with TLSA 443/tcp"
JNAMES=$(printf '"%s",' $NAMES | sed 's/,$//')
BODY="{\"names\": [$JNAMES], \"tlsa\": [{\"port\": 443, \"proto\": \"tcp\"}]}"
printf '\n$ curl -s -X POST %s/domains -H "X-Api-User: %s" -H "X-Api-Key: ********" -d %s\n' "$API" "$USER" "'$BODY'"
T0=$(date +%s.%N)
OUT=$(curl -sS --max-time 10 -w '\n%{http_code}' -X POST "$API/domains" \
	-H "X-Api-User: $USER" -H "X-Api-Key: $KEY" -d "$BODY")
CODE=$(echo "$OUT" | tail -n 1)
OUT=$(echo "$OUT" | sed '$d')
echo "  HTTP $CODE"
echo "$OUT" | python3 -m json.tool | sed 's/^/  /'
[ "$CODE" = 202 ] || die "POST /domains answered $CODE"
ID=$(echo "$OUT" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
CNAMES=$(echo "$OUT" | python3 -c 'import json, sys
for c in json.load(sys.stdin)["cnames"]:
    print("%s 60 IN CNAME %s" % (c["name"], c["target"]))')

say "the customer creates those CNAMEs in $CUST (nsd reload)"
echo "$CNAMES" | sed 's/^/  /'
SERIAL=2
# shellcheck disable=SC2086 # one record per line
OLDIFS=$IFS; IFS='
'
set -f
write_zone $CNAMES
set +f
IFS=$OLDIFS
kill -HUP "$NSD_PID"
if ! wait_until 5 sh -c "[ \"\$(dig +short +time=1 +tries=1 @127.0.0.1 -p $NSD_PORT $CUST SOA | awk '{print \$3}')\" = 2 ]"; then
	# nsd reloads on SIGHUP when the zone file's mtime changed; if it did
	# not (same second), restart it on the same port
	kill -TERM "$NSD_PID"; wait "$NSD_PID" 2>/dev/null || true
	start_nsd
	wait_until 10 sh -c "[ \"\$(dig +short +time=1 +tries=1 @127.0.0.1 -p $NSD_PORT $CUST SOA | awk '{print \$3}')\" = 2 ]" ||
		die "nsd does not serve the CNAMEs"
fi
r "_acme-challenge.www.$CUST" TXT

say "waiting for the certificate (GET /domains/$ID)"
LAST=""
ST=""
i=0
while [ $i -lt 600 ]; do
	J=$(curl -s -H "X-Api-User: $USER" -H "X-Api-Key: $KEY" "$API/domains/$ID")
	ST=$(echo "$J" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("status"))' 2>/dev/null || echo "?")
	if [ "$ST" != "$LAST" ]; then
		printf '  %6.2f s  status %s\n' "$(awk "BEGIN { print $(date +%s.%N) - $T0 }")" "$ST"
		LAST=$ST
	fi
	case $ST in valid|invalid) break ;; esac
	i=$((i + 1))
	sleep 0.1
done
echo "$J" | python3 -m json.tool | sed 's/^/  /'
[ "$ST" = valid ] || die "the domain did not become valid; acmedns log:
$(tail -n 30 "$RUN/acmedns.log")"

say "the certificate"
curl -s -H "X-Api-User: $USER" -H "X-Api-Key: $KEY" \
	"$API/domains/$ID/fullchain.pem" > "$RUN/fullchain.pem"
openssl x509 -in "$RUN/fullchain.pem" -noout -subject -ext subjectAltName \
	-enddate | sed 's/^/  /'
$CURL "https://127.0.0.1:$MGMT_PORT/roots/0" > "$RUN/pebble-root.pem"
$CURL "https://127.0.0.1:$MGMT_PORT/intermediates/0" > "$RUN/pebble-int.pem"
printf '\n$ openssl verify -CAfile pebble-root.pem -untrusted pebble-int.pem fullchain.pem\n'
openssl verify -CAfile "$RUN/pebble-root.pem" -untrusted "$RUN/pebble-int.pem" \
	"$RUN/fullchain.pem" | sed 's/^/  /' || die "the certificate does not verify"
# the files are written off the event loop right after "valid"
i=0
while [ $i -lt 100 ] && [ ! -e "$RUN/certs/$ID/cert.pem" ]; do
	i=$((i + 1))
	sleep 0.1
done
printf '\n$ ls -l %s/certs/*/\n' "$RUN"
ls -l "$RUN"/certs/*/ | sed 's/^/  /'

say "the TLSA record (3 1 1 = SHA-256 of the certificate's public key)"
q "_443._tcp.$SUB.$ZONE" TLSA
r "_443._tcp.www.$CUST" TLSA
WANT=$(openssl x509 -in "$RUN/fullchain.pem" -noout -pubkey |
	openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
echo "  openssl x509 -pubkey | openssl pkey -pubin -outform DER | sha256: $WANT"
dig +short @127.0.0.1 -p "$PORT" "_443._tcp.$SUB.$ZONE" TLSA |
	tr -d ' ' | tr 'A-F' 'a-f' | grep -q "$WANT" ||
	die "the TLSA record does not match the certificate"

# ---------------------------------------------------------------------------
if [ "${DEMO_KEEP:-0}" = 1 ]; then
	say "acmedns keeps running (pid $PID, DNS 127.0.0.1:$PORT, API $API, CA https://127.0.0.1:$ACME_PORT/dir); Ctrl-C stops everything"
	trap 'stop_all; exit 0' INT TERM
	tail -n 0 -f "$RUN/acmedns.log" &
	PIDS="$PIDS $!"
	wait $PID || true
	stop_all
	exit 0
fi

say "stopping acmedns (SIGTERM), then Pebble, unbound, nsd"
kill -TERM $PID
rc=0
wait $PID || rc=$?
PIDS=$(echo "$PIDS" | sed "s/\\b$PID\\b//")
tail -n 2 "$RUN/acmedns.log" | sed 's/^/  log: /'
stop_all
[ $rc = 0 ] || { echo "acmedns exited with status $rc" >&2; exit 1; }
echo
echo "demo done: a certificate for $NAMES issued through the CNAME delegation, served TLSA, everything stopped."
