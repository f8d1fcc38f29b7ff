#!/bin/sh
# Started by bench/dnsbench.sh (OURS_CMD) in the foreground: writes an
# acmedns configuration that serves the benchmark zone (BENCH_ZONE_FILE,
# loaded through [zone] file) on 127.0.0.1:BENCH_PORT and execs the daemon.
set -eu
ACMEDNS=${ACMEDNS:-build/acmedns}
cat > "$BENCH_DIR/acmedns.conf" <<CONF
[server]
log_level = warning
[dns]
listen = 127.0.0.1:$BENCH_PORT
[zone]
domain = $BENCH_ZONE_NAME
nsname = ns1.$BENCH_ZONE_NAME
nsadmin = hostmaster.$BENCH_ZONE_NAME
file = $BENCH_ZONE_FILE
[store]
path = $BENCH_DIR/acmedns.db
[certs]
dir = $BENCH_DIR/certs
CONF
exec "$ACMEDNS" serve -c "$BENCH_DIR/acmedns.conf"
