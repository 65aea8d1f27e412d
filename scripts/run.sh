#!/bin/sh
# Start actiond in the foreground for `make run`.
# usage: scripts/run.sh BUILD_DIR LISTEN DATA_DIR
#   e.g. scripts/run.sh build 127.0.0.1:8080 ./var
# Extra configuration comes from the environment (ACTIOND_*) or a file
# named by ACTIOND_CONFIG; see docs/configuration.md.
set -eu

if [ "$#" -ne 3 ]; then
    echo "usage: $0 BUILD_DIR LISTEN DATA_DIR" >&2
    exit 64
fi
build=$1
listen=$2
data_dir=$3

bin="$build/actiond"
if [ ! -x "$bin" ]; then
    echo "run: $bin not found; build it first (make build)" >&2
    exit 1
fi

# The URL to show: ":PORT" listens on every interface, reachable on loopback;
# an IPv6 listen address is already bracketed.
case "$listen" in
    :*) url="http://127.0.0.1$listen" ;;
    0.0.0.0:*) url="http://127.0.0.1:${listen#0.0.0.0:}" ;;
    *) url="http://$listen" ;;
esac

# Start the daemon, load the example actions (idempotent), then stay in the
# foreground until Ctrl-C / SIGTERM, which is passed on for a graceful drain.
"$bin" --listen "$listen" --data-dir "$data_dir" --plugins-dir "$build/plugins" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 0' INT TERM
tries=0
until curl -sf "$url/readyz" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "run: actiond did not become ready" >&2
        exit 1
    fi
    sleep 0.1
done
python3 "$(dirname "$0")/bootstrap.py" "$url" "$(dirname "$0")/../examples/bootstrap/actions.json" || true

echo "actiond: serving $url (data in $data_dir); Ctrl-C stops it"
echo "try:  curl -s -XPOST $url/v1/events -H 'Content-Type: application/json' \\"
echo "        -d '{\"type\":\"orders.paid\",\"data\":{\"amount\":150}}'"
echo "      $build/actionctl --url $url executions list"
wait "$pid"
