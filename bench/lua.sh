#!/bin/bash
# bench/lua.sh BUILD_DIR [OUT_DIR]: Lua condition evaluations per second on
# one thread (build/bench_lua_cond): the event behind the lazy userdata
# proxy the matcher uses, against the baseline of building a full Lua table
# of the same event before each evaluation, in the same run.
# Knobs: N (evaluations, default 500000).  Output: OUT_DIR/lua.md.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bench_lock "${SCRIPT_TIMEOUT:-300}" "$@"
resolve_build "${1:-}"
OUT=${2:-$(mktemp -d /tmp/actiond-bench-out.XXXXXX)}
mkdir -p "$OUT"
N=${N:-500000}
BIN=$(dirname "$ACTIOND")/bench_lua_cond
[ -x "$BIN" ] || die "$BIN missing: build everything first"
timeout 120 "$BIN" "$N" >"$OUT/lua.txt" 2>&1 || die "bench_lua_cond failed: $(cat "$OUT/lua.txt")"
log "$(tr '\n' ' ' <"$OUT/lua.txt")"
EXPR=$(sed -n 's/^expression: //p' "$OUT/lua.txt")
# "proxy: 500000 evaluations in 0.341 s = 1466525 evals/s (0.682 us each)"
PROXY=$(awk '/^proxy:/ { print $8 }' "$OUT/lua.txt")
PROXY_US=$(awk '/^proxy:/ { gsub(/\(/, "", $10); print $10 }' "$OUT/lua.txt")
TABLE=$(awk '/^table:/ { print $8 }' "$OUT/lua.txt")
RATIO=$(awk '/speed-up/ { print $3 }' "$OUT/lua.txt")
{
  echo "### Lua expression conditions (one thread)"
  echo
  echo "\`$BIN $N\`: the condition \`$EXPR\` on a typical order event."
  echo
  echo "| figure | value |"
  echo "|---|---|"
  echo "| evaluations/s, event behind the lazy proxy (what the matcher uses) | **$PROXY** ($PROXY_US us each) |"
  echo "| baseline: evaluations/s building a Lua table of the event each time | $TABLE |"
  echo "| ratio | $RATIO |"
} >"$OUT/lua.md"
cat "$OUT/lua.md"
