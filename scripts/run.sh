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

# Start the daemon, load the example actions (idempotent), start the
# example remote plugin (plugins/email-automation, Node.js) with a local
# SMTP sink (aiosmtpd) so the seed-2 scripts work out of the box, then stay
# in the foreground until Ctrl-C / SIGTERM, which is passed on to all of
# them (actiond drains gracefully).
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$data_dir"
pids=""
stop_all() {
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap 'stop_all; exit 0' INT TERM

# The example platform API (platform actions of the dispatcher call it).
platform_port=${PLATFORM_PORT:-3200}
python3 "$root/examples/platform/platform_api.py" "$platform_port" >"$data_dir/platform.log" 2>&1 &
pids="$!"

# Loopback is admitted as an egress target (the example actions call the
# example platform and the SMTP sink on 127.0.0.1); ACTIOND_EGRESS_ALLOW
# replaces that.
"$bin" --listen "$listen" --data-dir "$data_dir" --plugins-dir "$build/plugins" \
    --platform-base-url "http://127.0.0.1:$platform_port" \
    --egress-allow "${ACTIOND_EGRESS_ALLOW:-127.0.0.1/32}" &
pid=$!
pids="$pids $pid"
tries=0
until curl -sf "$url/readyz" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "run: actiond did not become ready" >&2
        stop_all
        exit 1
    fi
    sleep 0.1
done

smtp_port=${SMTP_PORT:-2525}
plugin_port=${PLUGIN_PORT:-3100}

# The example actions (docs/examples.md), loaded with `actionctl apply`,
# which creates or updates them (so this can be repeated).  What the files
# expand: where their scripts are and write (the SQLite file of the sql
# examples must exist; an empty file is an empty database), and the local
# stand-ins for providers.  One apply per file, so a file that fails (say,
# its handler kind is not built) does not keep the others out.
examples_data=${EXAMPLES_DATA:-$(cd "$data_dir" && pwd)/examples}
mkdir -p "$examples_data"
[ -e "$examples_data/shop.db" ] || : >"$examples_data/shop.db"
platform_api="http://127.0.0.1:$platform_port/api"
export EXAMPLES_DIR="${EXAMPLES_DIR:-$root/examples}" EXAMPLES_DATA="$examples_data"
export SMTP_URL="${SMTP_URL:-smtp://127.0.0.1:$smtp_port}"
export WEBHOOK_URL="${WEBHOOK_URL:-$platform_api/partner-webhooks}"
export SHIPPING_API_URL="${SHIPPING_API_URL:-$platform_api}" CRM_BASE_URL="${CRM_BASE_URL:-$platform_api}"
export ANALYTICS_BASE_URL="${ANALYTICS_BASE_URL:-$platform_api}" CDN_API_URL="${CDN_API_URL:-$platform_api}"
for f in "$root/examples/bootstrap/actions.json" "$root"/examples/actions/*.json; do
    "$build/actionctl" --url "$url" apply "$f" || echo "run: $f not loaded (see above)" >&2
done
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
    mkdir -p "$data_dir/mail/tmp" "$data_dir/mail/new" "$data_dir/mail/cur"
    /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" \
        -c aiosmtpd.handlers.Mailbox "$data_dir/mail" >"$data_dir/smtp.log" 2>&1 &
    pids="$pids $!"
fi
if command -v node >/dev/null 2>&1 && [ -d "$root/plugins/email-automation/node_modules" ]; then
    ACTIOND_URL="$url" PORT="$plugin_port" SMTP_URL="smtp://127.0.0.1:$smtp_port" \
        SECRET_FILE="$data_dir/email-automation.secret" \
        node "$root/plugins/email-automation/server.js" >"$data_dir/email-plugin.log" 2>&1 &
    pids="$pids $!"
    echo "email-automation plugin on http://127.0.0.1:$plugin_port (mail lands in $data_dir/mail)"
else
    echo "run: node or the plugin's npm packages are missing (scripts/npm-deps.sh); no example plugin" >&2
fi

echo "actiond: serving $url (data in $data_dir); Ctrl-C stops it"
echo "try:  curl -s -XPOST $url/v1/events -H 'Content-Type: application/json' \\"
echo "        -d '{\"type\":\"orders.paid\",\"data\":{\"amount\":150}}'"
echo "      curl -s $url/api/plugins/actions"
echo "      $build/actionctl --url $url executions list"
wait "$pid"
stop_all
