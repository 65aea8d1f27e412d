#!/bin/bash
# bench/run_all.sh BUILD_DIR: every actiond benchmark, one markdown summary.
#
# Runs bench/e2e.sh, bench/latency.sh, bench/rss_subs.sh, bench/webhook.sh
# and bench/lua.sh (and
# bench/peers.sh when PEERS=1), each of which takes /tmp/bench.lock for its
# whole run, is bounded by `timeout`, starts its own daemons on 127.0.0.1
# with fresh temporary data dirs, and measures its baselines in the same
# run.  Raw outputs (wrk, loadgen, sqlite_ceiling, peers' JSON lines) go to
# RAW_DIR (default /tmp/actiond-bench-<UTC>); the summary, the only file
# meant to be committed, goes to bench/results/<UTC>/summary.md and stdout.
#
# Knobs: ONLY="e2e latency rss_subs" (a subset), PEERS=1, and every knob of
# the scripts (DURATION, SECS, SYNCS, RATES, N, WORKERS, HTTP_THREADS...).
# `make bench` runs `./bench/run_all.sh build`.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:?usage: run_all.sh BUILD_DIR}
UTC=$(date -u +%Y%m%dT%H%M%SZ)
RAW=${RAW_DIR:-/tmp/actiond-bench-$UTC}
RES=$HERE/results/$UTC
ONLY=${ONLY:-e2e latency rss_subs webhook lua}
[ "${PEERS:-0}" = 1 ] && ONLY="$ONLY peers"
mkdir -p "$RAW" "$RES"
for f in actiond loadgen sqlite_ceiling; do
  [ -x "$BUILD/$f" ] || { echo "run_all.sh: $BUILD/$f missing: build everything first" >&2; exit 1; }
done

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
status=0
for b in $ONLY; do
  echo "[$(date -u +%H:%M:%S)] ---- $b" >&2
  if ! "$HERE/$b.sh" "$BUILD" "$RAW" 2> >(tee -a "$RAW/$b.log" >&2) >/dev/null; then
    echo "run_all.sh: $b failed (see $RAW/$b.log)" >&2
    [ -s "$RAW/$b.md" ] || printf '### %s\n' "$b" >"$RAW/$b.md"
    printf '\n**%s FAILED** (rows above, if any, are what it measured): see %s/%s.log\n' \
      "$b" "$RAW" "$b" >>"$RAW/$b.md"
    status=1
  fi
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "# actiond benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)."
  echo "Load average (1/5/15 min): $LOAD0 before, $LOAD1 after (other work on the machine shows here)."
  echo "Build: \`$BUILD\` ($(grep -m1 CMAKE_BUILD_TYPE: "$BUILD/CMakeCache.txt" 2>/dev/null | cut -d= -f2))." \
    "Command: \`./bench/run_all.sh $BUILD\`${PEERS:+ with PEERS=$PEERS}. Raw outputs: \`$RAW\`."
  for b in $ONLY; do
    echo
    cat "$RAW/$b.md"
  done
} >"$RES/summary.md"
cat "$RES/summary.md"
echo >&2
echo "summary: $RES/summary.md  raw: $RAW" >&2
exit $status
