#!/bin/sh
# make bench: acmedns side by side with NSD and Knot on the acme-dns-like
# query mix (bench/dnsbench.sh), one server core, loopback only.
# Environment is passed through (DURATION, ROUNDS, SERVERS, SYSCALLS, ...).
set -eu
cd "$(dirname "$0")/.."
export ACMEDNS="$(pwd)/build/acmedns"
export OURS_CMD="$(pwd)/bench/ours.sh"
export OURS_NAME=acmedns
export SERVERS="${SERVERS:-nsd knot}"
exec bash bench/dnsbench.sh
