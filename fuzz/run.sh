#!/bin/sh
# Build fuzz/fuzz_template.c with clang's libFuzzer and AddressSanitizer and
# run it for a bounded time (FUZZ_SECONDS, default 20).  Skips (exit 0) when
# clang or libFuzzer is missing.  ctest runs it as fuzz/template.
set -eu

src=${ACT_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
out=${ACT_BUILD_DIR:-$src/build}/fuzz
secs=${FUZZ_SECONDS:-60}

if ! command -v clang >/dev/null 2>&1; then
    echo "# SKIP clang missing"
    exit 0
fi
rm -rf "$out/corpus"  # start from the seeds only: the same inputs every time
mkdir -p "$out/corpus"
probe="$out/probe.c"
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}' >"$probe"
if ! clang -fsanitize=fuzzer "$probe" -o "$out/probe" >/dev/null 2>&1; then
    echo "# SKIP libFuzzer missing (Debian: libclang-rt-14-dev)"
    exit 0
fi

# shellcheck disable=SC2046
clang -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$src/src" $(pkg-config --cflags jansson lua5.4) \
    "$src/fuzz/fuzz_template.c" "$src"/src/lua/*.c "$src"/src/base/*.c \
    $(pkg-config --libs jansson lua5.4) -lpthread -lm -o "$out/fuzz_template"

# Seeds: typed and text templates, nesting, quotes, errors.
i=0
for s in '{{ event.data.a }}' 'x {{ event.data.s }} y {{ input.n * 2 }}' '{{ {a = {1}} }}' \
         "{{ '}}' }}" '{{ event }}' '{{ ' 'event.data.a == 1 and #event.data.l > 2' \
         '(function() while true do end end)()' "string.rep('x', 1e9)" '{{ }}'; do
    printf '%s' "$s" >"$out/corpus/seed$i"
    i=$((i + 1))
done

# A fixed seed and a fixed number of runs keep `make test` deterministic (the
# same inputs on every machine); FUZZ_SECONDS bounds the time on a slow one,
# and a generous per-input timeout keeps a loaded machine from looking like a
# hang.  For open-ended fuzzing: FUZZ_RUNS=-1 FUZZ_SEED=0 FUZZ_SECONDS=600.
runs=${FUZZ_RUNS:-200000}
seed=${FUZZ_SEED:-1}
"$out/fuzz_template" -seed="$seed" -runs="$runs" -max_total_time="$secs" -max_len=512 \
    -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 "$out/corpus" 2>"$out/fuzz.log" || {
    tail -50 "$out/fuzz.log"
    echo "not ok - fuzz/template found a problem (log: $out/fuzz.log)"
    exit 1
}
grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$out/fuzz.log" | tail -2 | sed 's/^/# /'
echo "ok - fuzz/template: $runs runs (seed $seed, at most ${secs}s) without findings"
