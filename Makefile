# Front end to CMake.  `make` builds build/actiond, build/actionctl and
# build/libactiond.a; `make run` and `make test` first install whatever
# Debian packages are missing (scripts/deps.sh is idempotent).
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
LISTEN     ?= 127.0.0.1:8080
DATA_DIR   ?= ./var

.PHONY: all deps build run test test-unit test-asan bench clean format

all: build

deps:
	@./scripts/deps.sh
	@./scripts/npm-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	./scripts/run.sh $(BUILD) $(LISTEN) $(DATA_DIR)

test: deps build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure
	$(MAKE) --no-print-directory test-asan

# The unit suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DACT_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest -j $(JOBS) -L unit --output-on-failure

bench: build
	./bench/run_all.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
