#!/bin/bash
# bench/e2e.sh BUILD_DIR [OUT_DIR]: end-to-end durable throughput.
#
# For each sync mode (SYNCS, default "normal full"), on a fresh daemon each:
#  1. batch: a noop action "bench" subscribed to `bench.*`; wrk posts batches
#     of 100 events (bench/post_batch.lua, -t2 -c32) for DURATION; the figure
#     is completed actions/s = (succeeded at the end - at the start) divided
#     by the time from the start of wrk until /metrics shows every created
#     execution succeeded (the backlog drained).  Counted from executions,
#     not requests.  Baseline: bench/sqlite_ceiling.c on the same file system
#     with the same sync mode (1 insert + 1 update per job, 1000 jobs per
#     transaction, the store's schema), so the ratio is "fraction of what
#     SQLite alone can record".
#  2. single: a second fresh daemon; first wrk GET /livez (-t2 -c64), the raw
#     HTTP ceiling of the same server; then single-event posts
#     (bench/post_single.lua, -t2 -c64); figures are acknowledged events/s
#     (wrk, every 202 is sent after commit) and completed actions/s as above.
#
# Knobs: SYNCS, DURATION (wrk -d, default 10s), CEIL_JOBS (default 300000),
# and those of lib.sh.  Output: OUT_DIR/e2e.md (markdown rows) and raw logs.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bench_lock "${SCRIPT_TIMEOUT:-900}" "$@"
resolve_build "${1:-}"
OUT=${2:-$(mktemp -d /tmp/actiond-bench-out.XXXXXX)}
mkdir -p "$OUT"
SYNCS=${SYNCS:-normal full}
DURATION=${DURATION:-10s}
CEIL_JOBS=${CEIL_JOBS:-300000}
MD=$OUT/e2e.md

# ceiling SYNC MODE: jobs/s of sqlite_ceiling (fresh file in BENCH_TMP).
ceiling() {
  local d r
  d=$(mktemp -d "$BENCH_TMP/actiond-ceiling.XXXXXX")
  r=$(timeout 300 "$CEILING" "$d/ceiling.db" "$2" "$1" "$CEIL_JOBS" 1000)
  echo "$r" >>"$OUT/e2e-ceiling.txt"
  rm -rf "$d"
  sed -n 's/.*jobs_per_s=\([0-9]*\).*/\1/p' <<<"$r"
}

# drive NAME WRK_ARGS...: run wrk against the daemon, wait for the drain;
# sets ACKED (wrk req/s), NON2XX, SOCKERR, P99, ACTIONS (completed/s), DONE.
drive() {
  local name=$1 s0 t0 s1 t1
  shift
  read -r s0 _ < <(counts)
  t0=$(now_ns)
  timeout 120 wrk "$@" "$URL" >"$OUT/e2e-$name.wrk" 2>&1 || log "wrk $name failed"
  read -r s1 t1 < <(wait_drain 300)
  read -r ACKED NON2XX SOCKERR P99 < <(wrk_field "$OUT/e2e-$name.wrk")
  DONE=$((s1 - s0))
  ACTIONS=$(awk -v n="$DONE" -v d="$((t1 - t0))" 'BEGIN { printf "%.0f\n", n / (d / 1e9) }')
  log "$name: $DONE actions in $(awk -v d="$((t1 - t0))" 'BEGIN{printf "%.2f", d/1e9}') s =" \
    "$ACTIONS/s; wrk $ACKED req/s, non-2xx $NON2XX, socket errors $SOCKERR"
}

# check_store N: warn when the store does not hold N succeeded executions.
check_store() {
  local n
  n=$(sqlite3 "$DDIR/actiond.db" 'SELECT count(*) FROM executions WHERE status = 3')
  [ "$n" = "$1" ] || log "warning: store has $n succeeded executions, /metrics said $1"
}

note() { # note NON2XX SOCKERR: a cell remark when wrk saw errors
  if [ "$1" != 0 ] || [ "$2" != 0 ]; then echo " (wrk: $1 non-2xx, $2 socket errors)"; fi
}

{
  echo "### End-to-end durable throughput (noop action, \`bench.*\`, wrk $DURATION)"
  echo
  echo "| sync | workload | figure | baseline (same run) | ratio |"
  echo "|---|---|---|---|---|"
} >"$MD"

for sync in $SYNCS; do
  SYNC_UP=$(tr '[:lower:]' '[:upper:]' <<<"$sync")
  log "== e2e sync=$sync (load $(loadavg))"
  CEIL=$(ceiling "$SYNC_UP" exec)
  CEIL_JOB=$(ceiling "$SYNC_UP" job)
  log "sqlite ceiling $SYNC_UP: exec $CEIL jobs/s, job (with event row) $CEIL_JOB jobs/s"

  # 1. batches of 100
  daemon_start "$sync"
  setup_noop 'bench.*' >/dev/null
  drive "batch-$sync" -t2 -c32 -d"$DURATION" --latency -s "$BENCH_DIR/post_batch.lua"
  daemon_stop
  check_store "$DONE"
  daemon_cleanup
  B_ACTIONS=$ACTIONS B_ACKED=$ACKED
  echo "batch_actions_$sync=$B_ACTIONS batch_events_$sync=$((B_ACKED * 100)) ceiling_$sync=$CEIL" >>"$OUT/figures.env"
  echo "| $sync | batch of 100, wrk -t2 -c32 | **$(fmt "$B_ACTIONS") actions/s** completed;" \
    "$(fmt $((B_ACKED * 100))) events/s acked$(note "$NON2XX" "$SOCKERR")" \
    "| SQLite ceiling $(fmt "$CEIL") jobs/s (1 insert + 1 update; $(fmt "$CEIL_JOB") with the event row)" \
    "| $(pct "$B_ACTIONS" "$CEIL") ($(pct "$B_ACTIONS" "$CEIL_JOB") of the latter) |" >>"$MD"

  # 2. HTTP ceiling, then single-event posts, on one fresh daemon
  daemon_start "$sync"
  setup_noop 'bench.*' >/dev/null
  timeout 60 wrk -t2 -c64 -d"$DURATION" --latency "$URL/livez" >"$OUT/e2e-livez-$sync.wrk" 2>&1
  read -r LIVEZ _ _ LIVEZ_P99 < <(wrk_field "$OUT/e2e-livez-$sync.wrk")
  log "livez ceiling: $LIVEZ req/s (p99 $LIVEZ_P99 ms)"
  drive "single-$sync" -t2 -c64 -d"$DURATION" --latency -s "$BENCH_DIR/post_single.lua"
  daemon_stop
  check_store "$DONE"
  daemon_cleanup
  echo "single_events_$sync=$ACKED single_actions_$sync=$ACTIONS livez_$sync=$LIVEZ" >>"$OUT/figures.env"
  echo "| $sync | single event, wrk -t2 -c64 | **$(fmt "$ACKED") events/s** acked (p99 $P99 ms);" \
    "$(fmt "$ACTIONS") actions/s completed$(note "$NON2XX" "$SOCKERR")" \
    "| GET /livez $(fmt "$LIVEZ") req/s (p99 $LIVEZ_P99 ms), same daemon | $(pct "$ACKED" "$LIVEZ") |" >>"$MD"
done
cat "$MD"
