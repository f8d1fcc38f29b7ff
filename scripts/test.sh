#!/bin/sh
# make test: build everything with ASan+UBSan and -Werror in build-test/,
# then run every ctest test (unit, golden, fuzz-corpus replay, integration).
# Extra ctest arguments can be passed in CTEST_ARGS (e.g. "-L unit").
set -eu
cd "$(dirname "$0")/.."
B=${TEST_BUILD:-build-test}
JOBS=${JOBS:-$(nproc)}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Debug -DACMEDNS_SANITIZE=ON \
	-DACMEDNS_WERROR=ON >/dev/null
cmake --build "$B" -j "$JOBS"
cd "$B"
# shellcheck disable=SC2086
ctest --output-on-failure -j "$JOBS" ${CTEST_ARGS:-}
