#!/bin/bash
# bench/command.sh BUILD_DIR [OUT_DIR]: command-family executions per second
# (kinds command, javascript, python) through the daemon, each against a
# baseline measured in the same run on the same program.
#
#  1. baselines, each measured right before its handler (same load):
#     spawn_baseline (bench/spawn_baseline.c) runs the program in a C loop,
#     fork + exec + a JSON document on stdin + stdout read to EOF + waitpid,
#     on CONC threads for SECS seconds:
#       command:    /bin/sh -c 'cat >/dev/null; echo {}'
#       javascript: node -e <read stdin, print {}>
#       python:     python3 -I -c <read stdin, print {}>
#  2. for each handler (command with seccomp none, command with the default
#     profile, javascript and python on a module whose function returns {}),
#     a fresh actiond (--workers CONC, --sync SYNC) with that action "bench"
#     subscribed to bench.*; N events (N_RT for the runtimes) are posted in
#     batches of 100 and the figure is completed executions / the time from
#     the first post until /metrics shows every created execution succeeded;
#  3. the ratio executions/s : baseline spawns/s.
# Each runtime baseline is the bare interpreter (same path the daemon finds
# on PATH) without actiond's runner, so its ratio also prices the runner.
#
# Knobs: N (events per command handler, default 2000), N_RT (per runtime,
# default 500), SECS (baseline seconds, 5), CONC (threads and workers,
# default nproc), SYNC (normal), and lib.sh's.
# Output: OUT_DIR/command.md and raw logs.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
bench_lock "${SCRIPT_TIMEOUT:-1200}" "$@"
B=$(cd "${1:?usage: $0 BUILD_DIR [OUT_DIR]}" 2>/dev/null && pwd) || die "no build dir '$1'"
ACTIOND=$B/actiond
BASELINE=$B/spawn_baseline
for f in "$ACTIOND" "$BASELINE"; do
  [ -x "$f" ] || die "$f missing: build everything first (cmake --build $1)"
done
OUT=${2:-$(mktemp -d /tmp/actiond-bench-out.XXXXXX)}
mkdir -p "$OUT"
N=${N:-2000}
N_RT=${N_RT:-500}
SECS=${SECS:-5}
CONC=${CONC:-$(nproc)}
SYNC=${SYNC:-normal}
export WORKERS=$CONC
MD=$OUT/command.md
SCRIPT='cat >/dev/null; echo {}'
NODE=$(command -v node) || die "node is missing"
PY=$(command -v python3) || die "python3 is missing"
HDIR=$(mktemp -d "$BENCH_TMP/actiond-bench-handlers.XXXXXX")
trap 'daemon_cleanup; rm -rf "$HDIR"' EXIT

printf 'export function handler() { return {}; }\n' >"$HDIR/noop.mjs"
printf 'def handler(input, ctx):\n    return {}\n' >"$HDIR/noop.py"
awk 'BEGIN {
  printf "{\"events\":["
  for (i = 1; i <= 100; i++)
    printf "%s{\"type\":\"bench.e\",\"data\":{\"i\":%d,\"user\":\"u-%05d\",\"amount\":%d}}",
           (i > 1 ? "," : ""), i, i, (i * 7) % 1000
  printf "]}"
}' >"$HDIR/batch.json"

# ---- 1. baselines (each run right before its handler, so both see the same load) ----
baseline() { # NAME PROG ARGS...: prints spawns/s
  local name=$1
  shift
  # the environment the command kinds give a child: PATH, HOME, LANG, TZ only
  # (e.g. NODE_EXTRA_CA_CERTS alone costs node ~85 ms per start)
  timeout $((SECS + 60)) env -i PATH="$PATH" HOME="$HOME" ${LANG:+LANG="$LANG"} ${TZ:+TZ="$TZ"} \
    "$BASELINE" "$SECS" "$CONC" "$@" >"$OUT/baseline-$name.txt" \
    2>"$OUT/baseline-$name.err" || log "baseline $name failed: $(cat "$OUT/baseline-$name.err")"
  awk '{ print $3 }' "$OUT/baseline-$name.txt"
}

# ---- 2. through actiond ----
# run_handler NAME EVENTS HANDLER_JSON: sets RATE DONE FAILED
run_handler() {
  local name=$1 events=$2 handler=$3 a s0 s1 t0 t1 i
  daemon_start "$SYNC"
  a=$(api POST /v1/actions "{\"name\":\"bench\",\"handler\":$handler,\
\"retry_policy\":{\"max_retries\":0}}" | jq -r .id) || die "$name: cannot create the action"
  api POST /v1/subscriptions "{\"action_id\":\"$a\",\"event_patterns\":[\"bench.*\"]}" \
    >/dev/null || die "$name: cannot create the subscription"
  api POST /v1/events '{"type":"bench.warmup","data":{}}' >/dev/null
  read -r s0 _ < <(wait_drain 60) || die "$name: the warm-up execution did not succeed: see $DDIR/daemon.log"
  t0=$(now_ns)
  for ((i = 0; i < events / 100; i++)); do
    curl -sS --fail --max-time 30 -H 'Content-Type: application/json' \
      --data-binary "@$HDIR/batch.json" "$URL/v1/events" >/dev/null || log "$name: a batch failed"
  done
  read -r s1 t1 < <(wait_drain 900)
  DONE=$((s1 - s0))
  RATE=$(awk -v n="$DONE" -v d="$((t1 - t0))" 'BEGIN { printf "%.0f\n", n / (d / 1e9) }')
  FAILED=$(curl -s --max-time 5 "$URL/metrics" | awk '
    $1 ~ /^actiond_action_attempts_total\{action="bench",status="(failed|dead)"\}$/ { n += $2 }
    END { print n + 0 }')
  log "$name: $DONE executions in $(awk -v d="$((t1 - t0))" 'BEGIN{printf "%.2f", d/1e9}') s = $RATE/s; failed attempts $FAILED"
  cp "$DDIR/daemon.log" "$OUT/daemon-$name.log" 2>/dev/null
  daemon_cleanup
}

SH_ARGV="[\"/bin/sh\",\"-c\",\"$SCRIPT\"]"
B_SH=$(baseline sh /bin/sh -c "$SCRIPT")
log "baseline sh: $B_SH spawns/s ($CONC threads)"
run_handler command-none "$N" "{\"kind\":\"command\",\"argv\":$SH_ARGV,\"seccomp\":\"none\"}"
R_NONE=$RATE D_NONE=$DONE F_NONE=$FAILED
run_handler command "$N" "{\"kind\":\"command\",\"argv\":$SH_ARGV}"
R_CMD=$RATE D_CMD=$DONE F_CMD=$FAILED
B_NODE=$(baseline node "$NODE" -e 'process.stdin.resume(); process.stdin.on("end", () => console.log("{}"))')
log "baseline node: $B_NODE spawns/s"
run_handler javascript "$N_RT" "{\"kind\":\"javascript\",\"module\":\"$HDIR/noop.mjs\"}"
R_JS=$RATE D_JS=$DONE F_JS=$FAILED
B_PY=$(baseline python "$PY" -I -c 'import sys; sys.stdin.read(); print("{}")')
log "baseline python3: $B_PY spawns/s"
run_handler python "$N_RT" "{\"kind\":\"python\",\"module\":\"$HDIR/noop.py\"}"
R_PY=$RATE D_PY=$DONE F_PY=$FAILED

# ---- 3. report ----
{
  echo "### Command-family executions (kinds command, javascript, python; $(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "actiond --sync $SYNC --workers $CONC, $(nproc) CPUs, load $(loadavg); $N events per command handler and $N_RT per runtime posted in batches of 100,"
  echo "one execution each (no retries); baseline: spawn_baseline, fork + exec + stdin JSON + stdout + waitpid of the same"
  echo "program in a C loop on $CONC threads for $SECS s, with the environment a command child gets. node $($NODE --version), $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])' 2>/dev/null) (found as $PY)."
  echo
  echo "| handler | program | baseline spawns/s | executions/s through actiond | ratio |"
  echo "|---|---|---|---|---|"
  echo "| command, seccomp none | /bin/sh -c 'cat >/dev/null; echo {}' | $(fmt "$B_SH") | **$(fmt "$R_NONE")** ($D_NONE, $F_NONE failed) | $(ratio "$R_NONE" "$B_SH") |"
  echo "| command, seccomp default | same | $(fmt "$B_SH") | **$(fmt "$R_CMD")** ($D_CMD, $F_CMD failed) | $(ratio "$R_CMD" "$B_SH") |"
  echo "| javascript (default seccomp) | module returning {} / bare node reading stdin | $(fmt "$B_NODE") | **$(fmt "$R_JS")** ($D_JS, $F_JS failed) | $(ratio "$R_JS" "$B_NODE") |"
  echo "| python (default seccomp) | module returning {} / bare python3 -I reading stdin | $(fmt "$B_PY") | **$(fmt "$R_PY")** ($D_PY, $F_PY failed) | $(ratio "$R_PY" "$B_PY") |"
} | tee "$MD"
