#!/usr/bin/env bash
# bench/plugins.sh BUILD_DIR [OUT_DIR]: plugin actions/s through the seed-2
# dispatcher (POST /api/plugins/events/automation) against a loopback plugin.
#
# Figures, all in the same run against the same daemon and plugin:
#   baseline   the seed's own performance-test-plugin-actions.sh (100
#              sequential curl calls of one event each), run unchanged but for
#              BASE_URL: plugin actions/s = 100 / its wall time;
#   batch x1   ROUNDS sequential requests of BATCH events each (sync mode: each
#              answer waits for every event's outcome);
#   batch xC   C clients doing the same at once.
# Every answer is checked afterwards (summary.successful == BATCH); a run with
# failures says so.  The plugin is a minimal Node HTTP server answering 200
# with a small JSON body (signatures are not verified: this measures actiond),
# or the Python stub of tests/integration when node is missing.
#
# Knobs: SYNC=full|normal (default full), BATCH (100), ROUNDS (20), CLIENTS (4).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_lock 900 "$@"

B=$(cd "${1:?usage: $0 BUILD_DIR [OUT_DIR]}" && pwd)
ACTIOND=$B/actiond
[ -x "$ACTIOND" ] || die "$ACTIOND missing: build first"
OUT=${2:-$(mktemp -d "$BENCH_TMP/actiond-bench-plugins.XXXXXX")}
mkdir -p "$OUT"
SYNC=${SYNC:-full}
BATCH=${BATCH:-100}
ROUNDS=${ROUNDS:-20}
CLIENTS=${CLIENTS:-4}
PID_PLUGIN=87312788-df51-4002-8eca-9cfc3e3f7d8e
SRC=$(cd "$BENCH_DIR/.." && pwd)
PPID_=""

cleanup() {
  daemon_cleanup
  if [ -n "$PPID_" ]; then
    kill "$PPID_" 2>/dev/null || true
    wait "$PPID_" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# ---- the loopback plugin ----
PORTFILE=$OUT/plugin.port
rm -f "$PORTFILE"
if command -v node >/dev/null; then
  PLUGIN_KIND=node
  node -e '
    const http = require("node:http");
    const body = JSON.stringify({success: true});
    const s = http.createServer((req, res) => {
      req.on("data", () => {});
      req.on("end", () => {
        res.writeHead(200, {"Content-Type": "application/json", "Content-Length": body.length});
        res.end(body);
      });
    });
    s.keepAliveTimeout = 60000;
    s.listen(0, "127.0.0.1", () => require("node:fs").writeFileSync(process.argv[1], String(s.address().port)));
  ' "$PORTFILE" &
  PPID_=$!
else
  PLUGIN_KIND=python
  python3 -c '
import sys, time
sys.path.insert(0, sys.argv[2])
from platform_stub import PluginStub
with PluginStub() as p:
    open(sys.argv[1], "w").write(str(p.port))
    while True:
        time.sleep(3600)
' "$PORTFILE" "$SRC/tests/integration" &
  PPID_=$!
fi
for ((i = 0; i < 100; i++)); do [ -s "$PORTFILE" ] && break; sleep 0.05; done
[ -s "$PORTFILE" ] || die "the plugin did not start"
PLUGIN_URL=http://127.0.0.1:$(cat "$PORTFILE")
log "plugin ($PLUGIN_KIND) at $PLUGIN_URL"

# ---- actiond with the seed's plugin ----
daemon_start "$SYNC"
api POST /api/plugins "{\"id\":\"$PID_PLUGIN\",\"name\":\"Email Automation Plugin\",\
\"slug\":\"email-automation\",\"api_endpoint\":\"$PLUGIN_URL\"}" >/dev/null ||
  die "cannot create the plugin"
api POST /api/plugins/email-automation/register-actions '{"actions":[{"action_type":
"send_welcome_email","title":"Send Welcome Email","category":"email","required_fields":
["user_id","email"],"endpoint":"/actions/send-welcome-email"}]}' >/dev/null ||
  die "cannot register the action"

# ---- baseline: the seed's script ----
t0=$(now_ns)
BASE_URL=$URL bash "$SRC/tests/integration/seed2/performance-test-plugin-actions.sh" \
  >"$OUT/seed-perf.out" 2>&1 || die "the seed's performance script failed"
t1=$(now_ns)
AID=$(curl -s "$URL/api/plugins/actions" | jq -r '.actions[0].action_id')
base_ok=$(curl -s "$URL/v1/executions?action_id=$AID&limit=1000" | jq '[.items[] |
  select(.status == "succeeded" and (.flow_execution_id | startswith("perf_test_")))] | length')
base_rate=$(awk -v n=100 -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
log "baseline: 100 sequential single-event calls in $(((t1 - t0) / 1000000)) ms"

# ---- batched ----
jq -n --arg pid "$PID_PLUGIN" --argjson n "$BATCH" '{flow_execution_id: "bench",
  events: [range($n) | {action_type: "send_welcome_email", plugin_id: $pid,
  payload: {user_id: "u\(.)", email: "u\(.)@example.com"}}]}' >"$OUT/batch.json"

# client K: ROUNDS requests, answers to OUT/ans.K.N
client() {
  local k=$1 r
  for ((r = 0; r < ROUNDS; r++)); do
    curl -sS --max-time 120 -H 'Content-Type: application/json' --data-binary "@$OUT/batch.json" \
      "$URL/api/plugins/events/automation" >"$OUT/ans.$k.$r" || true
  done
}

# check PREFIX COUNT: events that succeeded in answers OUT/PREFIX*
check() {
  cat "$OUT"/ans.* 2>/dev/null | jq -s '[.[].summary.successful // 0] | add // 0'
}

run_batched() {
  local c=$1 t0 t1 k pids=()
  rm -f "$OUT"/ans.*
  t0=$(now_ns)
  for ((k = 0; k < c; k++)); do
    client "$k" &
    pids+=($!)
  done
  wait "${pids[@]}"
  t1=$(now_ns)
  local total=$((c * ROUNDS * BATCH)) ok
  ok=$(check)
  awk -v n="$ok" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }'
  echo " $ok $total $(((t1 - t0) / 1000000))"
}

client 0 >/dev/null 2>&1 # warm-up (connections, page cache)
read -r r1 ok1 tot1 ms1 < <(run_batched 1)
read -r rc okc totc msc < <(run_batched "$CLIENTS")
log "batch x1: $ok1/$tot1 in $ms1 ms; batch x$CLIENTS: $okc/$totc in $msc ms"

{
  echo "## Plugin dispatcher throughput ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "actiond --sync $SYNC, $(nproc) CPUs, load $(loadavg); plugin: $PLUGIN_KIND loopback, 200 + small JSON."
  echo "Each figure counts plugin actions whose execution succeeded, over the wall time of the requests."
  echo
  echo "| run | requests | events/request | succeeded | wall ms | plugin actions/s | vs baseline |"
  echo "|---|---|---|---|---|---|---|"
  echo "| baseline: seed's 100 sequential calls | 100 | 1 | $base_ok | $(((t1 - t0) / 1000000)) | $(fmt "$base_rate") | 1.00 |"
  echo "| batch, 1 client | $ROUNDS | $BATCH | $ok1 / $tot1 | $ms1 | $(fmt "$r1") | $(ratio "$r1" "$base_rate") |"
  echo "| batch, $CLIENTS clients | $((ROUNDS * CLIENTS)) | $BATCH | $okc / $totc | $msc | $(fmt "$rc") | $(ratio "$rc" "$base_rate") |"
} | tee "$OUT/summary.md"
[ "$ok1" = "$tot1" ] && [ "$okc" = "$totc" ] && [ "$base_ok" = 100 ] ||
  { log "some plugin actions did not succeed: see $OUT"; exit 1; }
