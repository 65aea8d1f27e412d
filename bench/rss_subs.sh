#!/bin/bash
# bench/rss_subs.sh BUILD_DIR [OUT_DIR]: resident memory with many subscriptions.
#
# A fresh daemon (sync SYNC, default normal: RSS does not depend on it, but
# with full every creation waits for its own fsync, ~700/s here) with one noop action; baseline:
# VmRSS once idle with 0 subscriptions.  Then `loadgen subs` creates N
# (default 100,000) subscriptions for that action through POST
# /v1/subscriptions on CONNS (default 16) keep-alive connections, with a
# fixed mix of patterns (40 % exact, 20 % `*`, 10 % `**`, 10 % globs, 10 %
# with a condition, 10 % two patterns, 1 % PCRE2 regexes: see loadgen.c).
# After 2 s idle: VmRSS and VmHWM.  A check event `svc0.obj0.created` must
# then match the subscription created first, so the figures are those of a
# live index, and the store must hold N subscriptions.
#
# Knobs: N, CONNS, SYNC, and lib.sh's.  Output: OUT_DIR/rss_subs.md, raw logs.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bench_lock "${SCRIPT_TIMEOUT:-900}" "$@"
resolve_build "${1:-}"
OUT=${2:-$(mktemp -d /tmp/actiond-bench-out.XXXXXX)}
mkdir -p "$OUT"
N=${N:-100000}
CONNS=${CONNS:-16}
SYNC=${SYNC:-normal}
MD=$OUT/rss_subs.md

log "== rss_subs n=$N sync=$SYNC (load $(loadavg))"
daemon_start "$SYNC"
A=$(setup_noop '')
sleep 2
RSS0=$(rss_kb "$DPID")
log "baseline VmRSS ${RSS0} kB with 0 subscriptions"
R=$(timeout 900 "$LOADGEN" subs 127.0.0.1 "$DPORT" "$N" "$CONNS" "$A")
echo "$R" >"$OUT/rss_subs.txt"
log "$R"
sleep 2
RSS1=$(rss_kb "$DPID")
HWM=$(rss_kb "$DPID" VmHWM)
MATCHED=$(api POST /v1/events '{"type":"svc0.obj0.created","data":{}}' | jq '.executions | length')
daemon_stop
STORED=$(sqlite3 "$DDIR/actiond.db" 'SELECT count(*) FROM subscriptions')
daemon_cleanup
echo "VmRSS0=$RSS0 VmRSS=$RSS1 VmHWM=$HWM matched=$MATCHED stored=$STORED" >>"$OUT/rss_subs.txt"
log "VmRSS $RSS1 kB (HWM $HWM kB); check event matched $MATCHED; store holds $STORED"

remark=""
[ "$STORED" = "$N" ] || remark=" (store holds $STORED)"
[ "$MATCHED" = 1 ] || remark="$remark (check event matched $MATCHED, expected 1)"
per_s=$(sed -n 's/.* per_s=\([0-9]*\).*/\1/p' <<<"$R")
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
  echo "### Memory with $(fmt "$N") subscriptions (one noop action, mixed patterns, sync $SYNC)"
  echo
  echo "| figure | value | baseline (same run) | ratio |"
  echo "|---|---|---|---|"
  echo "| VmRSS after creating $(fmt "$N") subscriptions$remark | **$(mb "$RSS1") MB** (peak $(mb "$HWM") MB)" \
    "| $(mb "$RSS0") MB with 0 subscriptions, same daemon | $(ratio "$RSS1" "$RSS0")x;" \
    "$(awk -v a="$RSS1" -v b="$RSS0" -v n="$N" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }') bytes per subscription |"
  echo "| creation rate, POST /v1/subscriptions, $CONNS connections | $(fmt "$per_s")/s | - | - |"
} >"$MD"
cat "$MD"
