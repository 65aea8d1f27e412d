#!/bin/bash
# bench/latency.sh BUILD_DIR [OUT_DIR]: start latency, POST to handler start.
#
# For each sync mode (SYNCS, default "normal full") and offered rate (RATES,
# default "1000 10000" events/s), on a fresh daemon with a noop action
# subscribed to `bench.*`:
#  1. baseline: `loadgen get` offers GET /livez at the same rate on the same
#     connections for SECS: the HTTP round trip of the same server, the floor
#     under any POST-to-handler latency;
#  2. `loadgen events` offers single-event POSTs open-loop at RATE for SECS
#     on CONNS keep-alive connections, each event carrying
#     data.sent_us = CLOCK_REALTIME just before write(2);
#  3. after the backlog drains and the daemon stops, the latency of every
#     succeeded execution is executions.started_at - data.sent_us (both wall
#     clock, microseconds), read from the SQLite file with the sqlite3 CLI.
#     Reported: p50/p99/max, p99 measured from the scheduled send time
#     instead (data.sched_us: includes any wait for a free connection, i.e.
#     free of coordinated omission), the achieved send rate and POST ack p99.
#
# Knobs: SYNCS, RATES, SECS (default 10), CONNS (default 64), and lib.sh's.
# Output: OUT_DIR/latency.md and raw logs.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bench_lock "${SCRIPT_TIMEOUT:-900}" "$@"
resolve_build "${1:-}"
OUT=${2:-$(mktemp -d /tmp/actiond-bench-out.XXXXXX)}
mkdir -p "$OUT"
SYNCS=${SYNCS:-normal full}
RATES=${RATES:-1000 10000}
SECS=${SECS:-10}
CONNS=${CONNS:-64}
MD=$OUT/latency.md

# kv KEY LINE: the value of KEY=... in a loadgen output line.
kv() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# The percentiles, in ms, over every succeeded bench.lat execution:
# "N P50 P99 MAX P99_FROM_SCHEDULE".
LAT_SQL="
CREATE TEMP TABLE l AS
  SELECT x.started_at - json_extract(e.doc, '\$.data.sent_us') AS d,
         x.started_at - json_extract(e.doc, '\$.data.sched_us') AS s
  FROM executions x JOIN events e ON e.id = x.event_id
  WHERE x.status = 3 AND e.type = 'bench.lat';
CREATE TEMP TABLE n AS SELECT count(*) AS c FROM l;
SELECT (SELECT c FROM n),
  printf('%.2f', (SELECT d FROM l ORDER BY d LIMIT 1 OFFSET (SELECT (c - 1) * 50 / 100 FROM n)) / 1000.0),
  printf('%.2f', (SELECT d FROM l ORDER BY d LIMIT 1 OFFSET (SELECT (c - 1) * 99 / 100 FROM n)) / 1000.0),
  printf('%.2f', (SELECT max(d) FROM l) / 1000.0),
  printf('%.2f', (SELECT s FROM l ORDER BY s LIMIT 1 OFFSET (SELECT (c - 1) * 99 / 100 FROM n)) / 1000.0);"

{
  echo "### Start latency, POST to handler start (open loop, $SECS s, $CONNS keep-alive connections)"
  echo
  echo "| sync | offered/s | achieved/s | p50 ms | p99 ms | max ms | p99 from schedule ms | POST ack p99 ms | baseline: GET /livez RTT p50 / p99 ms, same rate | p99 / livez p99 |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$MD"

for sync in $SYNCS; do
  for rate in $RATES; do
    log "== latency sync=$sync rate=$rate (load $(loadavg))"
    daemon_start "$sync"
    setup_noop 'bench.*' >/dev/null
    base=$(timeout $((SECS + 30)) "$LOADGEN" get 127.0.0.1 "$DPORT" "$rate" "$SECS" "$CONNS" /livez)
    echo "$base" >>"$OUT/latency-$sync-$rate.txt"
    ev=$(timeout $((SECS + 30)) "$LOADGEN" events 127.0.0.1 "$DPORT" "$rate" "$SECS" "$CONNS")
    rc=$?
    echo "$ev" >>"$OUT/latency-$sync-$rate.txt"
    [ $rc = 0 ] || log "loadgen events exited $rc: $ev"
    read -r _ _ < <(wait_drain 120)
    daemon_stop
    read -r n p50 p99 pmax p99s < <(sqlite3 -separator ' ' "$DDIR/actiond.db" "$LAT_SQL")
    echo "store: n=$n p50=$p50 p99=$p99 max=$pmax p99_sched=$p99s" >>"$OUT/latency-$sync-$rate.txt"
    daemon_cleanup
    log "n=$n p50=$p50 p99=$p99 max=$pmax ms; $ev"
    echo "lat_p50_${sync}_$rate=$p50 lat_p99_${sync}_$rate=$p99" >>"$OUT/figures.env"
    bp50=$(kv ack_p50_ms "$base")
    bp99=$(kv ack_p99_ms "$base")
    remark=""
    [ $rc = 0 ] || remark=" (incomplete: loadgen exit $rc, see log)"
    [ "$(kv bad "$ev")" = 0 ] || remark="$remark ($(kv bad "$ev") errors)"
    [ "$n" = "$(kv sent "$ev")" ] || remark="$remark ($n of $(kv sent "$ev") executed)"
    echo "| $sync | $(fmt "$rate") | $(fmt "$(kv achieved "$ev")")$remark | $p50 | **$p99** | $pmax" \
      "| $p99s | $(kv ack_p99_ms "$ev") | $bp50 / $bp99 | $(ratio "$p99" "$bp99") |" >>"$MD"
  done
done
cat "$MD"
