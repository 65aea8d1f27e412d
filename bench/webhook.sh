#!/bin/bash
# bench/webhook.sh BUILD_DIR [OUT_DIR]: signed webhook deliveries per second
# to a keep-alive loopback receiver, against wrk's ceiling on the same
# receiver in the same run.
#
#  1. receiver: nginx (bench/nginx_204.conf: 1 worker, keep-alive, answers
#     204 to everything) on 127.0.0.1 and a free port;
#  2. ceiling: wrk -t2 -c64 posting a webhook-sized body with the Standard
#     Webhooks headers (bench/post_webhook.lua) to nginx for DURATION: the
#     most requests/s this machine serves through that receiver;
#  3. actiond (--sync SYNC, --egress-allow 127.0.0.0/8) with a webhook action
#     "bench" (signed: config.secret) subscribed to bench.*; wrk posts
#     batches of 100 events (bench/post_batch.lua, -t2 -c16) for DURATION;
#     the figure is completed deliveries/s = executions that succeeded
#     divided by the time from the start of wrk until /metrics shows every
#     created execution succeeded (the backlog drained);
#  4. the ratio deliveries/s : ceiling req/s.
# actiond, nginx and both wrk runs share the machine's cores, as in
# production on one box; the ceiling runs alone.
#
# Knobs: DURATION (default 10s), SYNC (normal), and those of lib.sh.
# Output: OUT_DIR/webhook.md and raw logs.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bench_lock "${SCRIPT_TIMEOUT:-600}" "$@"
resolve_build "${1:-}"
OUT=${2:-$(mktemp -d /tmp/actiond-bench-out.XXXXXX)}
mkdir -p "$OUT"
DURATION=${DURATION:-10s}
SYNC=${SYNC:-normal}
MD=$OUT/webhook.md
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
command -v nginx >/dev/null || die "nginx is missing (scripts/deps.sh installs it)"
NGINX_PID=""
NGDIR=$(mktemp -d "$BENCH_TMP/actiond-nginx.XXXXXX")

cleanup() {
  daemon_cleanup
  if [ -n "$NGINX_PID" ]; then
    kill -TERM "$NGINX_PID" 2>/dev/null
    wait "$NGINX_PID" 2>/dev/null
  fi
  rm -rf "$NGDIR"
}
trap cleanup EXIT

# ---- 1. the receiver ----
NGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s|@DIR@|$NGDIR|g" -e "s|@PORT@|$NGPORT|g" "$BENCH_DIR/nginx_204.conf" >"$NGDIR/nginx.conf"
nginx -p "$NGDIR" -c "$NGDIR/nginx.conf" -e "$NGDIR/error.log" &
NGINX_PID=$!
for ((i = 0; i < 100; i++)); do
  curl -s -o /dev/null -X POST "http://127.0.0.1:$NGPORT/hook" && break
  sleep 0.05
done
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "http://127.0.0.1:$NGPORT/hook")" = 204 ] ||
  die "nginx does not answer 204 on port $NGPORT"
log "nginx 204 receiver pid $NGINX_PID port $NGPORT"

# ---- 2. the ceiling ----
timeout 120 wrk -t2 -c64 -d"$DURATION" --latency -s "$BENCH_DIR/post_webhook.lua" \
  "http://127.0.0.1:$NGPORT" >"$OUT/webhook-ceiling.wrk" 2>&1 || log "wrk ceiling failed"
read -r CEIL C_NON2XX C_SOCKERR C_P99 < <(wrk_field "$OUT/webhook-ceiling.wrk")
log "wrk ceiling: $CEIL req/s (p99 $C_P99 ms; socket errors $C_SOCKERR)"

# ---- 3. events -> webhook deliveries ----
daemon_start "$SYNC" --egress-allow 127.0.0.0/8
a=$(api POST /v1/actions "{\"name\":\"bench\",\"handler\":{\"kind\":\"webhook\",\
\"url\":\"http://127.0.0.1:$NGPORT/hook\"},\"config\":{\"secret\":\"$SECRET\"}}" | jq -r .id) ||
  die "cannot create the webhook action"
api POST /v1/subscriptions "{\"action_id\":\"$a\",\"event_patterns\":[\"bench.*\"]}" >/dev/null ||
  die "cannot create the subscription"
# one delivery first: fails fast when the action cannot deliver at all
api POST /v1/events '{"type":"bench.warmup","data":{}}' >/dev/null
read -r s0 _ < <(wait_drain 30) || die "the warm-up delivery did not succeed: see $DDIR/daemon.log"
t0=$(now_ns)
timeout 120 wrk -t2 -c16 -d"$DURATION" -s "$BENCH_DIR/post_batch.lua" "$URL" \
  >"$OUT/webhook-events.wrk" 2>&1 || log "wrk events failed"
read -r s1 t1 < <(wait_drain 300)
read -r ACKED NON2XX SOCKERR _ < <(wrk_field "$OUT/webhook-events.wrk")
DONE=$((s1 - s0))
RATE=$(awk -v n="$DONE" -v d="$((t1 - t0))" 'BEGIN { printf "%.0f\n", n / (d / 1e9) }')
FAILED=$(curl -s --max-time 5 "$URL/metrics" | awk '
  $1 ~ /^actiond_action_attempts_total\{action="bench",status="(failed|dead)"\}$/ { n += $2 }
  END { print n + 0 }')
log "deliveries: $DONE in $(awk -v d="$((t1 - t0))" 'BEGIN{printf "%.2f", d/1e9}') s = $RATE/s;" \
  "events acked $((ACKED * 100))/s; failed attempts $FAILED"
daemon_stop

# ---- 4. report ----
{
  echo "### Signed webhook deliveries (kind webhook -> nginx 204 on loopback, $(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "actiond --sync $SYNC, $(nproc) CPUs, load $(loadavg); events posted in batches of 100 (wrk -t2 -c16, $DURATION);"
  echo "each delivery is signed (HMAC-SHA256, Standard Webhooks headers) and sent by the curl-multi loop over kept-alive connections."
  echo
  echo "| figure | value |"
  echo "|---|---|"
  echo "| wrk ceiling against the same nginx (-t2 -c64, webhook-sized POST) | $(fmt "$CEIL") req/s (p99 $C_P99 ms) |"
  echo "| completed signed deliveries | **$(fmt "$RATE")/s** ($(fmt "$DONE") in the run, $FAILED failed attempts) |"
  echo "| ratio to the ceiling | $(ratio "$RATE" "$CEIL") |"
  echo "| events acknowledged by the API meanwhile | $(fmt $((ACKED * 100)))/s |"
} | tee "$MD"
