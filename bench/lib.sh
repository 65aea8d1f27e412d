# shellcheck shell=bash
# bench/lib.sh: shared helpers for the benchmark scripts (sourced, not run).
#
# Rules every script follows through these helpers:
#  * the whole timed script runs under `flock /tmp/bench.lock` (bench_lock),
#    so it never overlaps another timed run on the machine, and under
#    `timeout` (SCRIPT_TIMEOUT seconds), and each tool run has its own timeout;
#  * every daemon listens on 127.0.0.1 only, on a port the kernel picks, with
#    a fresh temporary data dir (daemon_start) that is removed afterwards
#    unless KEEP_DATA=1;
#  * the daemon is stopped by its own PID (never by name), also when the
#    script fails or is interrupted (EXIT trap).
#
# Knobs (environment): BENCH_TMP (where data dirs go, default /tmp),
# WORKERS and HTTP_THREADS (passed to actiond when set), KEEP_DATA=1,
# LOCK_WAIT (seconds to wait for the lock, default 3600).

export BENCH_DIR
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_LOCK=${BENCH_LOCK:-/tmp/bench.lock}
BENCH_TMP=${BENCH_TMP:-/tmp}
DPID=""
DDIR=""
URL=""
DPORT=""

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# bench_lock TIMEOUT_SECONDS "$@": re-run the calling script under the lock
# and a timeout, once (BENCH_LOCKED marks the inner run).  On expiry timeout
# sends SIGTERM to the whole process group (script, tools, daemon); the
# script's EXIT trap then stops the daemon (up to 30 s) and removes its data
# dir, and only 60 s later does timeout send SIGKILL.
bench_lock() {
  local t=$1
  shift
  if [ "${BENCH_LOCKED:-}" != 1 ]; then
    export BENCH_LOCKED=1
    log "waiting for $BENCH_LOCK"
    exec flock -w "${LOCK_WAIT:-3600}" "$BENCH_LOCK" timeout -k 60 "$t" bash "$0" "$@"
  fi
}

# resolve_build BUILD_DIR: sets ACTIOND, LOADGEN, CEILING (absolute paths).
resolve_build() {
  local b
  b=$(cd "${1:?usage: $0 BUILD_DIR [OUT_DIR]}" 2>/dev/null && pwd) || die "no build dir '$1'"
  ACTIOND=$b/actiond
  LOADGEN=$b/loadgen
  CEILING=$b/sqlite_ceiling
  local f
  for f in "$ACTIOND" "$LOADGEN" "$CEILING"; do
    [ -x "$f" ] || die "$f missing: build everything first (cmake --build $1)"
  done
}

now_ns() { date +%s%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# daemon_start SYNC [extra actiond args...]: sets DPID DDIR DPORT URL.
daemon_start() {
  local sync=$1 i
  shift
  DDIR=$(mktemp -d "$BENCH_TMP/actiond-bench.XXXXXX")
  "$ACTIOND" --listen 127.0.0.1:0 --data-dir "$DDIR" --sync "$sync" --port-file "$DDIR/port" \
    --log-level warn ${WORKERS:+--workers "$WORKERS"} ${HTTP_THREADS:+--http-threads "$HTTP_THREADS"} \
    "$@" >"$DDIR/daemon.log" 2>&1 &
  DPID=$!
  for ((i = 0; i < 200; i++)); do
    [ -s "$DDIR/port" ] && break
    kill -0 "$DPID" 2>/dev/null || { cat "$DDIR/daemon.log" >&2; DPID=""; die "actiond exited at start"; }
    sleep 0.05
  done
  [ -s "$DDIR/port" ] || die "actiond wrote no port file within 10 s"
  DPORT=$(cat "$DDIR/port")
  URL=http://127.0.0.1:$DPORT
  log "actiond pid $DPID port $DPORT sync $sync data $DDIR"
}

# daemon_stop: SIGTERM, wait up to 30 s, then SIGKILL; keeps DDIR.
daemon_stop() {
  local i
  [ -n "$DPID" ] || return 0
  kill -TERM "$DPID" 2>/dev/null
  for ((i = 0; i < 300; i++)); do
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$DPID" 2>/dev/null; then
    log "actiond $DPID did not stop in 30 s: SIGKILL"
    kill -KILL "$DPID" 2>/dev/null
  fi
  wait "$DPID" 2>/dev/null
  DPID=""
}

# daemon_cleanup: stop the daemon and remove its data dir (unless KEEP_DATA=1).
daemon_cleanup() {
  daemon_stop
  if [ -n "$DDIR" ] && [ "${KEEP_DATA:-0}" != 1 ]; then
    rm -rf "$DDIR"
  fi
  DDIR=""
}
trap daemon_cleanup EXIT
# A signal (timeout's TERM, Ctrl-C) exits through the EXIT trap too.
trap 'exit 143' TERM
trap 'exit 130' INT

# api METHOD PATH [JSON]: one request, body on stdout; fails on HTTP >= 400.
api() {
  curl -sS --fail-with-body --max-time 10 -X "$1" -H 'Content-Type: application/json' \
    "$URL$2" ${3:+-d "$3"}
}

# setup_noop PATTERN: a noop action "bench" subscribed to PATTERN; prints its id.
setup_noop() {
  local a
  a=$(api POST /v1/actions '{"name":"bench","handler":{"kind":"noop"}}' | jq -r .id) ||
    die "cannot create the action"
  if [ -n "${1:-}" ]; then
    api POST /v1/subscriptions "{\"action_id\":\"$a\",\"event_patterns\":[\"$1\"]}" >/dev/null ||
      die "cannot create the subscription"
  fi
  echo "$a"
}

# counts: "SUCCEEDED CREATED" for action "bench" from /metrics.
counts() {
  curl -s --max-time 5 "$URL/metrics" | awk '
    $1 == "actiond_action_attempts_total{action=\"bench\",status=\"succeeded\"}" { s = $2 }
    $1 == "actiond_action_executions_created_total{action=\"bench\"}" { c = $2 }
    END { printf "%d %d\n", s, c }'
}

# wait_drain MAX_SECONDS: poll /metrics every 20 ms until every created
# execution of "bench" succeeded and no new one appeared for 500 ms (requests
# still in flight when the client stopped are ingested after it exits).
# Prints "SUCCEEDED T_NS" where T_NS is the time of the poll that first saw
# that final count; returns 1 on timeout or when nothing progressed for 15 s.
wait_drain() {
  local max_ns=$(($1 * 1000000000)) start last_ns s c last_s=-1 t done_s=-1 done_t=0
  start=$(now_ns)
  last_ns=$start
  while :; do
    read -r s c < <(counts)
    t=$(now_ns)
    if [ "$s" -ge "$c" ] && [ "$c" -gt 0 ]; then
      if [ "$s" != "$done_s" ]; then
        done_s=$s
        done_t=$t
      elif ((t - done_t >= 500000000)); then
        echo "$done_s $done_t"
        return 0
      fi
    fi
    if [ "$s" != "$last_s" ]; then
      last_s=$s
      last_ns=$t
    fi
    if ((t - start > max_ns || t - last_ns > 15000000000)); then
      log "backlog not drained: succeeded $s of $c created"
      echo "$s $t"
      return 1
    fi
    sleep 0.02
  done
}

# rss_kb PID [FIELD]: VmRSS (or FIELD, e.g. VmHWM) of PID in kB.
rss_kb() { awk -v f="${2:-VmRSS}:" '$1 == f { print $2 }' "/proc/$1/status"; }

# wrk_field FILE: "REQ_PER_S NON2XX SOCKET_ERRORS P99_MS" from wrk output
# (P99 only when wrk ran with --latency).
wrk_field() {
  awk '
    /^Requests\/sec:/ { r = $2 }
    /Non-2xx or 3xx responses:/ { n = $NF }
    /Socket errors:/ { gsub(",", ""); e = $4 + $6 + $8 + $10 }
    $1 == "99%" { p = $2 }
    END {
      ms = p
      if (p ~ /us$/) ms = substr(p, 1, length(p) - 2) / 1000
      else if (p ~ /ms$/) ms = substr(p, 1, length(p) - 2) + 0
      else if (p ~ /s$/) ms = substr(p, 1, length(p) - 1) * 1000
      printf "%.0f %d %d %s\n", r, n, e, (p == "" ? "-" : sprintf("%.2f", ms))
    }' "$1"
}

# fmt N: integer with thousands separators (12,345).
fmt() { printf '%s\n' "$1" | sed -E ':a;s/^([0-9]+)([0-9]{3})/\1,\2/;ta'; }

# ratio A B: A/B with 2 decimals ("-" when B is 0 or empty).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a !~ /^[0-9.]+$/) print "-"; else printf "%.2f\n", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a !~ /^[0-9.]+$/) print "-"; else printf "%.0f %%\n", 100 * a / b }'; }
