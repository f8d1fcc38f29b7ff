#!/bin/sh
# SPDX-License-Identifier: MIT
# make fuzz / scripts/fuzz.sh [SECONDS]: build the libFuzzer harnesses with
# clang in build-fuzz/ (-DACMEDNS_FUZZ=ON) and run every <name>_fuzzer for
# SECONDS (default 60) over its committed corpus tests/fuzz/corpus/<name>/.
#
# The repository is never written: new inputs go to
# build-fuzz/fuzz-out/<name>/new/, crashes and timeouts to
# build-fuzz/fuzz-out/<name>/crash-* (replay one with
# build-fuzz/tests/fuzz/<name>_fuzzer FILE). To keep new coverage, minimise
# it into the corpus by hand:
#   build-fuzz/tests/fuzz/<name>_fuzzer -merge=1 tests/fuzz/corpus/<name> \
#       build-fuzz/fuzz-out/<name>/new
# then add a file for every crash you fixed.
#
# Environment: FUZZ_BUILD (build dir, default build-fuzz), CC (default
# clang), FUZZ_TARGETS (names to run, default all), FUZZ_ARGS (extra
# libFuzzer flags, e.g. "-jobs=4 -workers=4").
# Exit status: non-zero when a fuzzer found a crash (or failed to run).
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
B=${FUZZ_BUILD:-build-fuzz}
JOBS=${JOBS:-$(nproc)}

case $SECONDS_EACH in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac

cmake -S . -B "$B" -DCMAKE_C_COMPILER="${CC:-clang}" -DACMEDNS_FUZZ=ON \
	-DACMEDNS_TESTS=ON >/dev/null
# every <name>_fuzzer target the build defines
targets=$(cmake --build "$B" --target help |
	grep -o '[A-Za-z0-9_]*_fuzzer' | sort -u)
if [ -z "$targets" ]; then
	echo "fuzz.sh: no *_fuzzer targets in $B" >&2
	exit 1
fi
# shellcheck disable=SC2086
cmake --build "$B" -j "$JOBS" --target $targets

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=""
for t in $targets; do
	name=${t%_fuzzer}
	if [ -n "${FUZZ_TARGETS:-}" ]; then
		case " $FUZZ_TARGETS " in
		*" $name "*) ;;
		*) continue ;;
		esac
	fi
	bin=$(find "$B" -type f -name "$t" -perm -u+x | head -n 1)
	corpus=tests/fuzz/corpus/$name
	out=$B/fuzz-out/$name
	mkdir -p "$out/new" "$corpus"
	dict=""
	if [ -f "tests/fuzz/$name.dict" ]; then
		dict="-dict=tests/fuzz/$name.dict"
	fi
	echo "== $name: ${SECONDS_EACH}s over $corpus (new inputs: $out/new)"
	# libFuzzer adds new inputs to the first corpus directory only
	# shellcheck disable=SC2086
	if ! "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 \
		-rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
		-artifact_prefix="$out/" $dict ${FUZZ_ARGS:-} \
		"$out/new" "$corpus" >"$out/log" 2>&1; then
		tail -n 60 "$out/log"
		echo "== $name: FAILED (artifacts in $out/, log $out/log)" >&2
		failed="$failed $name"
		continue
	fi
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' \
		"$out/log" | sed "s/^/   /"
done

if [ -n "$failed" ]; then
	echo "fuzz.sh: crashes in:$failed" >&2
	exit 1
fi
echo "fuzz.sh: no crashes"
