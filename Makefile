# acmedns: thin wrapper over CMake.
#   make         build build/acmedns (release, hardened)
#   make deps    install missing Debian packages (scripts/packages.txt)
#   make demo    end-to-end demo on the embedded defaults (see README)
#   make test    every test, under ASan/UBSan (what .ci/run calls)
#   make bench   DNS benchmark side by side with NSD and Knot
#   make bench-api  REST API: updates/s, DNS latency under updates, RSS
#   make bench-acme ACME: time to a certificate vs uacme/certbot/lego, 100 at once
#   make fuzz    run the libFuzzer harnesses for FUZZ_SECONDS each (clang)
BUILD ?= build
TEST_BUILD ?= build-test
JOBS ?= $(shell nproc)

.PHONY: all deps build demo test bench bench-api bench-acme fuzz clean

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

deps:
	@sh scripts/deps.sh

demo: deps build
	@sh scripts/demo.sh

test: deps
	@sh scripts/test.sh

bench: deps build
	@sh scripts/bench.sh

bench-api: deps build
	@python3 bench/api_bench.py --acmedns $(BUILD)/acmedns

bench-acme: deps build
	@python3 bench/acme_bench.py --acmedns $(BUILD)/acmedns

fuzz: deps
	@sh scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-fuzz
