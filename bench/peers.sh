#!/bin/bash
# bench/peers.sh BUILD_DIR [OUT_DIR]: optional side by side with BullMQ.
#
# Reuses the shared peer harness (PEERS_SRC, default /work/shared/bench-peers):
# its setup.sh (apt: redis, postgresql, nginx...; npm: bullmq 6.7 into
# PEERS_DIR, default /tmp/peers; starts Redis on 127.0.0.1:6390) and its
# run_all.sh (`bullmq` section, REPS=PEER_REPS, default 1), which takes
# /tmp/bench.lock and a timeout for each measurement itself; so this script
# does NOT hold the lock (that would deadlock).  The definitions of the peer
# figures are in PEERS_SRC/README.md.  When the peer cannot run, the table
# says why and the script exits 0: peers are optional.
#
# The side-by-side rows use the actiond figures that e2e.sh and latency.sh
# wrote to OUT_DIR/figures.env in the same run_all.sh run (run them first).
# What is compared: actiond's end-to-end rate (HTTP ingest + matching +
# durable execution record, concurrently) against BullMQ's best `process`
# rate (queue pre-filled, worker only): the peer's figure leaves out the
# enqueue, so the ratio flatters BullMQ.
#
# Knobs: PEERS_SRC, PEERS_DIR, PEER_REPS, PEER_SECTIONS (default bullmq),
# SKIP_SETUP=1 (servers already up), KEEP_PEERS=1 (leave servers running).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
OUT=${2:-$(mktemp -d /tmp/actiond-bench-out.XXXXXX)}
mkdir -p "$OUT"
PEERS_SRC=${PEERS_SRC:-/work/shared/bench-peers}
export PEERS_DIR=${PEERS_DIR:-/tmp/peers}
MD=$OUT/peers.md
RES=$OUT/peers

echo "### Side by side: BullMQ (shared peer harness, same run)" >"$MD"
echo >>"$MD"

skip() {
  log "peers skipped: $*"
  echo "Not measured: $*" >>"$MD"
  cat "$MD"
  exit 0
}

[ -x "$PEERS_SRC/setup.sh" ] && [ -x "$PEERS_SRC/run_all.sh" ] || skip "no peer harness in $PEERS_SRC"
command -v node >/dev/null || skip "node is not installed"
started=0
if ! redis-cli -p 6390 ping >/dev/null 2>&1; then started=1; fi
if [ "${SKIP_SETUP:-0}" != 1 ]; then
  log "peers: setup.sh (apt + npm, may take minutes)"
  if ! timeout "${SETUP_TIMEOUT:-900}" "$PEERS_SRC/setup.sh" >"$OUT/peers-setup.log" 2>&1; then
    skip "setup.sh failed or timed out: $(tail -n 3 "$OUT/peers-setup.log" | tr '\n' ' ')" \
      "(logs: $OUT/peers-setup.log, $PEERS_DIR/apt.log, $PEERS_DIR/npm.log)"
  fi
fi
redis-cli -p 6390 ping >/dev/null 2>&1 || skip "Redis does not answer on 127.0.0.1:6390"
[ -d "$PEERS_DIR/node_modules/bullmq" ] || skip "bullmq is not installed in $PEERS_DIR"
# bullmq 6.7 declares ioredis an *optional* peer dependency, so the harness's
# `npm install` leaves it out and every BullMQ run dies with "could not load
# the optional 'ioredis' package": add it (not saved to package.json).
if ! (cd "$PEERS_DIR" && node -e "require('ioredis')" >/dev/null 2>&1); then
  log "peers: npm install ioredis@5 (missing optional peer of bullmq)"
  (cd "$PEERS_DIR" && timeout 300 npm install --no-save --no-audit --no-fund ioredis@5) \
    >>"$OUT/peers-setup.log" 2>&1 || skip "cannot install ioredis into $PEERS_DIR (npm failed)"
fi
teardown() {
  if [ "$started" = 1 ] && [ "${KEEP_PEERS:-0}" != 1 ]; then
    "$PEERS_SRC/teardown.sh" >>"$OUT/peers-setup.log" 2>&1
  fi
}
trap 'teardown; daemon_cleanup' EXIT

log "peers: run_all.sh ${PEER_SECTIONS:-bullmq} (REPS=${PEER_REPS:-1})"
(cd "$PEERS_SRC" && OUT=$RES REPS=${PEER_REPS:-1} timeout 3600 ./run_all.sh ${PEER_SECTIONS:-bullmq}) \
  >"$OUT/peers-run.log" 2>&1 || log "peers: run_all.sh exited $? (see $OUT/peers-run.log)"
python3 "$PEERS_SRC/summarize.py" "$RES" >"$OUT/peers-summary.md" 2>&1
J=$RES/bullmq.jsonl
[ -s "$J" ] || skip "the BullMQ run produced no results (see $OUT/peers-run.log)"

# q JQ_FILTER [FILE]: the median of the numbers the filter selects.
q() {
  jq -s "[.[] | $1] | sort | if length == 0 then \"-\" else .[(length - 1) / 2 | floor] end" \
    "${2:-$J}" 2>/dev/null || echo "-"
}
BULK=$(q 'select(.test == "enqueue" and .api == "addBulk(1000)") | .jobs_per_s')
ADD64=$(q 'select(.test == "enqueue" and .api == "add() x64 in flight") | .jobs_per_s')
PROC=$(jq -s '[.[] | select(.test == "process") | .jobs_per_s] | max // "-"' "$J")
PROC_AOF=$(q 'select(.test == "process") | .jobs_per_s' "$RES/bullmq-aof-always.jsonl")
LAT=$(jq -rs '[.[] | select(.test | startswith("latency")) | select(.rate == 1000)] | first |
  if . == null then "- -" else "\(.p50_ms) \(.p99_ms)" end' "$J")
read -r LAT50 LAT99 <<<"$LAT"

F=$OUT/figures.env
# shellcheck disable=SC1090
[ -s "$F" ] && source "$F"
v() { local n=$1; echo "${!n:--}"; }
{
  echo "| comparison | actiond | BullMQ 6.7 (Redis 7) | actiond / BullMQ |"
  echo "|---|---|---|---|"
  echo "| completed actions/s: our e2e batch, sync normal, vs best \`process\` (pre-filled, Redis without persistence) |" \
    "$(v batch_actions_normal) | $PROC | $(ratio "$(v batch_actions_normal)" "$PROC") |"
  echo "| completed actions/s: our e2e batch, sync full, vs \`process\` c=50 with AOF appendfsync always |" \
    "$(v batch_actions_full) | $PROC_AOF | $(ratio "$(v batch_actions_full)" "$PROC_AOF") |"
  echo "| batch ingest/s: our batches of 100 (acked, sync normal) vs addBulk(1000) |" \
    "$(v batch_events_normal) | $BULK | $(ratio "$(v batch_events_normal)" "$BULK") |"
  echo "| one at a time: our single-event POSTs, 64 connections, sync normal, vs add() x64 in flight |" \
    "$(v single_events_normal) | $ADD64 | $(ratio "$(v single_events_normal)" "$ADD64") |"
  echo "| start latency p50 / p99 ms at 1,000/s offered (sync normal) |" \
    "$(v lat_p50_normal_1000) / $(v lat_p99_normal_1000) | $LAT50 / $LAT99 | - |"
  echo
  echo "All BullMQ rows (\`summarize.py\`, raw in \`$RES\`):"
  echo
  cat "$OUT/peers-summary.md"
} >>"$MD"
cat "$MD"
