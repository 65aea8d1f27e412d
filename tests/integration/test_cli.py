#!/usr/bin/env python3
"""actionctl against the real daemon: the subcommands of issue 2 (actions
list/create/get, events send, executions get/list, subscriptions create), its
summaries and --json output, and its error contract (problem details on
stderr with exit 1, exit 2 when the daemon cannot be reached, 64 on usage
errors)."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Daemon, Tap, build_dir, wait_for  # noqa: E402

t = Tap()


def ctl(d, *args, stdin=None, url=None):
    cmd = [os.path.join(build_dir(), "actionctl"), "--url",
           url or ("http://127.0.0.1:%d" % d.port)] + list(args)
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def main():
    with Daemon() as d, tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "action.json")
        with open(path, "w") as f:
            json.dump({"name": "cli-echo", "handler": {"kind": "echo"}}, f)
        rc, out, err = ctl(d, "actions", "create", path)
        t.is_(rc, 0, "actions create exits 0")
        m = re.search(r"created action (\S+) \(cli-echo\)", out)
        t.ok(m, "actions create prints the new id", out, err)
        aid = m.group(1) if m else ""

        rc, out, err = ctl(d, "subscriptions", "create", "-",
                           stdin=json.dumps({"action_id": aid, "event_patterns": ["cli.*"]}))
        t.ok(rc == 0 and "created subscription" in out, "subscriptions create from stdin", out, err)

        rc, out, _ = ctl(d, "actions", "list")
        t.ok(rc == 0 and "cli-echo" in out and aid in out, "actions list shows it", out)
        rc, out, _ = ctl(d, "--json", "actions", "get", aid)
        t.ok(rc == 0 and json.loads(out).get("name") == "cli-echo", "actions get --json is the document")

        rc, out, err = ctl(d, "events", "send", "cli.hello", "--data", '{"n": 7}', "--id", "c-1",
                           "--source", "/cli")
        t.ok(rc == 0 and "accepted, 1 execution" in out, "events send reports one execution", out, err)
        rc, out, _ = ctl(d, "--json", "events", "send", "cli.hello", "--data", '{"n": 7}',
                         "--id", "c-1", "--source", "/cli")
        reply = json.loads(out) if rc == 0 else {}
        t.ok(reply.get("duplicate") is True, "the same source+id again is a duplicate")
        xid = (reply.get("executions") or [{}])[0].get("id", "")

        def done():
            rc2, o, _ = ctl(d, "--json", "executions", "get", xid)
            return rc2 == 0 and json.loads(o).get("status") == "succeeded" and json.loads(o)
        x = wait_for(done, 20, 0.1)
        t.ok(x and x.get("output") == {"n": 7}, "executions get: succeeded with the echoed data")
        rc, out, _ = ctl(d, "executions", "list", "--action-id", aid)
        t.ok(rc == 0 and xid in out and "succeeded" in out, "executions list --action-id", out)

        with open(path, "w") as f:
            json.dump({"name": "bad", "handler": {"kind": "noop"},
                       "retry_policy": {"max_retries": -1}}, f)
        rc, out, err = ctl(d, "actions", "create", path)
        t.is_(rc, 1, "a rejected body exits 1")
        t.ok("field: retry_policy.max_retries" in err, "the problem names the field", err)
        rc, _, err = ctl(d, "executions", "get", "01890000-0000-7000-8000-000000000000")
        t.ok(rc == 1 and "not found" in err.lower(), "unknown execution: exit 1, not found", err)
        rc, _, err = ctl(d, "frobnicate")
        t.is_(rc, 64, "unknown command exits 64")
        rc, _, err = ctl(d, "events", "send", "x.y", "--data", "{not json")
        t.is_(rc, 64, "--data that is not JSON exits 64")
        rc, _, err = ctl(d, "actions", "list", url="http://127.0.0.1:1")
        t.ok(rc == 2 and err.strip(), "unreachable daemon exits 2 with a message", err)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
