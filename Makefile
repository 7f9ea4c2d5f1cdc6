# Thin wrapper over CMake. `make demo` and `make test` do all set-up first.
BUILD      ?= build
TEST_BUILD ?= build-test
CLANG_BUILD ?= build-clang
FUZZ_BUILD ?= build-fuzz
TSAN_BUILD ?= build-tsan
SECONDS    ?= 60
FUZZ_RUNS  ?= 2000
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX     ?= /usr/local

.PHONY: all deps build demo install test tsan fuzz fuzz-ci clean format

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DSYNACK_TESTS=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Only what the demo needs: the build tools and libpcap (deps.sh demo), the `synack` target
# without the tests, and nothing printed but the demo (the build's output goes to a log,
# shown if it fails).
demo:
	@scripts/deps.sh demo
	@mkdir -p $(BUILD)
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DSYNACK_TESTS=OFF >$(BUILD)/demo.log 2>&1 \
		|| { cat $(BUILD)/demo.log; exit 1; }
	@cmake --build $(BUILD) -j $(JOBS) --target synack >>$(BUILD)/demo.log 2>&1 \
		|| { cat $(BUILD)/demo.log; exit 1; }
	@$(BUILD)/synack demo

# The Release build installed under PREFIX (DESTDIR is honoured): the headers, libsynack and
# libsynack-drivers (shared and static), their pkg-config files, the CMake package and the
# `synack` command (cmake/install.cmake).
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

# The test build: Debug, AddressSanitizer + UndefinedBehaviorSanitizer, every test; and
# the whole tree in Release with gcc (what `make demo` and `make install` build: gcc warns
# at -O2 of what it does not see at -O0) and with clang, so both compilers stay
# warning-free (-Werror).
test: build
	@cmake -S . -B $(CLANG_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(CLANG_BUILD) -j $(JOBS)
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSYNACK_SANITIZE=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)
	@cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory tsan
	@$(MAKE) --no-print-directory fuzz-ci

# The socket layer's tests (many threads, one lock per runtime) under ThreadSanitizer:
# part of `make test`.
tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
		-DSYNACK_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target test_socket test_socket_peer test_socket_stacks test_mqwire >/dev/null
	@cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS) -R '^(socket(_peer|_stacks)?|mqwire)\.'

# libFuzzer for a fixed number of runs per target from a fixed seed: part of `make test`.
fuzz-ci: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DSYNACK_FUZZ=ON -DSYNACK_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) >/dev/null
	@scripts/fuzz.sh $(FUZZ_BUILD) runs=$(FUZZ_RUNS)

# libFuzzer: every target under fuzz/ for SECONDS each (fuzz/README.md).
fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DSYNACK_FUZZ=ON -DSYNACK_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@scripts/fuzz.sh $(FUZZ_BUILD) $(SECONDS) $(TARGETS)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(CLANG_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD)
