#!/usr/bin/env python3
"""The example actions of examples/actions/ (one per action type of seed 1)
and `actionctl apply`, against a real daemon.

- Every seed type has its file; `actionctl apply examples/actions/` (the one
  command of docs/examples.md) creates every action with its handler kind,
  action_type and subscriptions; a second apply changes nothing (no new
  action or subscription, every line "unchanged"); secrets read back masked.
- The examples that need no outside provider run for real on loopback and
  their executions are checked: database_operation and report_generation
  (sql on a SQLite file), function_execution (lua), background_job,
  security_scan and backup_operation (command + python3 scripts of
  examples/handlers), webhook and the external_api ones (external_api,
  crm_sync, analytics_tracking, cache_invalidation) against
  examples/platform/platform_api.py, the example platform of `make run`,
  which here plays the providers (an imitation: it stores what it is sent),
  and email against a real SMTP server (aiosmtpd).  sms, push_notification
  and slack_notification talk to real providers only and are loaded, not run.
- A handler kind an example needs that the daemon lacks is a failure naming
  the kind (GET /v1/handlers), never a skip.
- apply itself: updates (full replacement), --prune, the {"actions": [...]}
  form with "subscribe" (examples/bootstrap/actions.json, `make run`'s file),
  ${VAR} expansion and its errors, and the first failure stopping the run
  with the server's problem and the file's name.
Emits TAP.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import traceback
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Daemon, Tap, build_dir, source_dir, wait_for  # noqa: E402

SEED_TYPES = ["email", "sms", "push_notification", "webhook", "slack_notification",
              "database_operation", "function_execution", "background_job", "cache_invalidation",
              "security_scan", "external_api", "crm_sync", "analytics_tracking",
              "report_generation", "backup_operation"]
FINAL = {"succeeded", "dead", "cancelled"}
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with aiosmtpd
ROOT = source_dir()
EXAMPLES = os.path.join(ROOT, "examples", "actions")
t = Tap()


def is_(got, want, name, *diag):
    return t.ok(got == want, name, f"got:      {got!r}", f"expected: {want!r}", *diag)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


class World:
    """The daemon, the peers, the environment apply expands, the files."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.data = os.path.join(tmp, "examples-data")
        os.makedirs(self.data)
        open(os.path.join(self.data, "shop.db"), "wb").close()  # as `make run` does
        self.maildir = os.path.join(tmp, "mail")
        self.procs = []
        self.platform_port = free_port()
        self.smtp_port = free_port()
        api = f"http://127.0.0.1:{self.platform_port}/api"
        self.env = dict(os.environ, EXAMPLES_DATA=self.data,
                        EXAMPLES_DIR=os.path.join(ROOT, "examples"),
                        SMTP_URL=f"smtp://127.0.0.1:{self.smtp_port}",
                        WEBHOOK_URL=f"{api}/partner-webhooks", SHIPPING_API_URL=api,
                        CRM_BASE_URL=api, ANALYTICS_BASE_URL=api, CDN_API_URL=api)
        self.d = None
        self.action_names = {}

    def start_peers(self):
        self.spawn("platform", [sys.executable, os.path.join(ROOT, "examples", "platform",
                                                             "platform_api.py"),
                                str(self.platform_port)])
        if os.path.exists(SYSTEM_PYTHON):
            self.spawn("smtp", [SYSTEM_PYTHON, "-m", "aiosmtpd", "-n", "-l",
                                f"127.0.0.1:{self.smtp_port}", "-c", "aiosmtpd.handlers.Mailbox",
                                self.maildir])
        t.ok(wait_for(lambda: port_open(self.platform_port), 15),
             "the example platform API listens (the providers' stand-in)")
        t.ok(wait_for(lambda: port_open(self.smtp_port), 15),
             "the SMTP server (aiosmtpd) listens", "needs python3-aiosmtpd (scripts/deps.sh)")

    def spawn(self, name, argv):
        log = open(os.path.join(self.tmp, name + ".log"), "wb")
        self.procs.append((subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT), log))

    def stop_peers(self):
        for p, log in self.procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.close()

    def ctl(self, *args, env=None):
        cmd = [os.path.join(build_dir(), "actionctl"), "--url",
               f"http://127.0.0.1:{self.d.port}"] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT,
                           env=env or self.env)
        return p.returncode, p.stdout, p.stderr

    def platform(self, collection):
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.platform_port}/api/{collection}", timeout=10) as r:
            return json.loads(r.read())

    def get(self, path):
        r = self.d.request("GET", path)
        return r.json if r.status == 200 else None

    def list_all(self, path):
        items, cursor = [], None
        while True:
            sep = "&" if "?" in path else "?"
            doc = self.get(path + sep + "limit=1000" + (f"&cursor={cursor}" if cursor else ""))
            items += doc["items"]
            cursor = doc.get("next_cursor")
            if not cursor:
                return items

    def action(self, name):
        for a in self.list_all("/v1/actions"):
            if a["name"] == name:
                return a
        return None

    def subs(self, action_id):
        return self.list_all(f"/v1/subscriptions?action_id={action_id}")

    def send(self, etype, data, **extra):
        """Post one event; {action name: execution id}."""
        body = dict({"type": etype, "data": data}, **extra)
        r = self.d.request("POST", "/v1/events", body)
        if r.status != 202:
            t.diag(f"POST /v1/events {etype}: {r}")
            return {}
        names = {a["id"]: a["name"] for a in self.list_all("/v1/actions")}
        return {names.get(x["action_id"]): x["id"] for x in r.json.get("executions", [])}

    def final(self, exec_id, timeout=60):
        """The last attempt of the execution chain once it is final, or {}."""
        def probe():
            doc = self.get(f"/v1/executions/{exec_id}")
            if not doc:
                return None
            lineage = doc.get("lineage") or []
            last = lineage[-1] if lineage else doc
            if last.get("status") not in FINAL:
                return None
            return self.get(f"/v1/executions/{last['id']}") if last.get("id") else doc
        return wait_for(probe, timeout, 0.05) or {}


def example_files():
    return sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".json"))


def load_example(fname):
    with open(os.path.join(EXAMPLES, fname)) as f:
        return json.load(f)


def check_kinds(w):
    """Fail (never skip) for each handler kind an example needs and the daemon
    lacks; the set of files whose kinds exist."""
    r = w.d.request("GET", "/v1/handlers")
    kinds = {h["kind"] for h in r.json["items"] if h.get("available", True)}
    ok_files = []
    for fname in example_files():
        kind = load_example(fname)["action"]["handler"]["kind"]
        if t.ok(kind in kinds, f"handler kind '{kind}' needed by examples/actions/{fname} exists",
                f"GET /v1/handlers lists {sorted(kinds)}: the example cannot be loaded until "
                f"kind '{kind}' is built and registered"):
            ok_files.append(fname)
    return ok_files


def test_files_and_apply(w):
    files = example_files()
    is_(sorted(f[:-5] for f in files), sorted(SEED_TYPES),
        "examples/actions has exactly one file per seed action type")
    for fname in files:
        doc = load_example(fname)
        a = doc["action"]
        t.ok(a.get("action_type") == fname[:-5] and a.get("name") and doc.get("subscriptions"),
             f"{fname}: action_type {fname[:-5]}, a name and subscriptions")

    ok_files = check_kinds(w)
    if len(ok_files) == len(files):
        rc, out, err = w.ctl("apply", "examples/actions/")  # the one command, as documented
    else:
        rc, out, err = w.ctl("apply", *[os.path.join("examples/actions", f) for f in ok_files])
    is_(rc, 0, "actionctl apply examples/actions/ exits 0", out, err)
    lines = out.strip().splitlines()
    is_(len(lines), len(ok_files), "one line per action", out)
    t.ok(all(line.startswith("created ") and "1 created, 0 unchanged" in line for line in lines),
         "each line says created, with its subscription", out)

    for fname in ok_files:
        doc = load_example(fname)
        want = doc["action"]
        a = w.action(want["name"])
        if not t.ok(a is not None, f"{fname}: action {want['name']} exists"):
            continue
        w.action_names[fname[:-5]] = want["name"]
        t.ok(a["handler"]["kind"] == want["handler"]["kind"]
             and a["action_type"] == fname[:-5],
             f"{fname}: stored with kind {want['handler']['kind']} and its action_type", repr(a))
        subs = w.subs(a["id"])
        is_(sorted(json.dumps(s["event_patterns"]) for s in subs),
            sorted(json.dumps(s["event_patterns"]) for s in doc["subscriptions"]),
            f"{fname}: its subscriptions exist with the file's patterns")
        if "slack_notification" in fname and a:
            is_(a["config"].get("webhook_url"), "***", "the Slack webhook URL reads back masked")
        if fname == "sms.json" and a:
            is_(a["config"].get("auth_token"), "***", "the Twilio auth token reads back masked")

    n_actions = len(w.list_all("/v1/actions"))
    n_subs = len(w.list_all("/v1/subscriptions"))
    rc, out, err = w.ctl("apply", *[os.path.join("examples/actions", f) for f in ok_files])
    is_(rc, 0, "apply again exits 0", out, err)
    lines = out.strip().splitlines()
    t.ok(len(lines) == len(ok_files) and all(
        line.startswith("unchanged ") and "0 created, 1 unchanged" in line for line in lines),
        "the second apply reports every action and subscription unchanged", out)
    is_(len(w.list_all("/v1/actions")), n_actions, "no action was duplicated")
    is_(len(w.list_all("/v1/subscriptions")), n_subs, "no subscription was duplicated")


def run_ok(w, name, x, what):
    if not t.ok(x, f"{what}: an execution of {name} was created"):
        return {}
    doc = w.final(x)
    is_(doc.get("status"), "succeeded", f"{what} succeeded",
        f"error: {doc.get('error')}", f"detail: {doc.get('error_detail')}")
    return doc.get("output") or {}


def test_local_runs(w):
    names = w.action_names
    orders = [("o-1", "ada", 1250, "EUR"), ("o-2", "bob", 800, "EUR"), ("o-3", "ada", 5000, "USD")]
    if "database_operation" in names:
        for oid, who, cents, cur in orders:
            ex = w.send("orders.placed", {"order_id": oid, "customer": who,
                                          "amount_cents": cents, "currency": cur, "user_id": who})
            out = run_ok(w, names["database_operation"], ex.get(names["database_operation"]),
                         f"database_operation for {oid}")
            rows = out.get("rows") or [{}]
            is_((rows[0].get("order_id"), rows[0].get("amount_cents"), rows[0].get("currency")),
                (oid, cents, cur), f"the stored row of {oid} is returned")
            if "analytics_tracking" in names:
                out = run_ok(w, names["analytics_tracking"], ex.get(names["analytics_tracking"]),
                             f"analytics_tracking of orders.placed {oid}")
                t.ok(out.get("event") == "orders.placed" and out.get("userId") == who
                     and out.get("properties", {}).get("order_id") == oid,
                     "the Segment-shaped track call carried event, userId and properties",
                     repr(out))
        with sqlite3.connect(os.path.join(w.data, "shop.db")) as db:
            is_(db.execute("SELECT count(*) FROM orders").fetchone()[0], 3,
                "shop.db holds the three orders")

    if "report_generation" in names:
        ex = w.send("reports.sales_requested", {})
        out = run_ok(w, names["report_generation"], ex.get(names["report_generation"]),
                     "report_generation")
        is_([(r["currency"], r["orders"], r["customers"], r["revenue_cents"],
              r["avg_order_cents"]) for r in out.get("rows", [])],
            [("USD", 1, 1, 5000, 5000), ("EUR", 2, 2, 2050, 1025)],
            "the sales report aggregates per currency, by revenue", repr(out))

    if "function_execution" in names:
        n = names["function_execution"]
        ex = w.send("carts.checkout", {"cart_id": "c-1", "tier": "gold", "items": [
            {"sku": "A", "qty": 2, "unit_cents": 1000}, {"sku": "B", "qty": 1, "unit_cents": 550}]})
        out = run_ok(w, n, ex.get(n), "function_execution")
        is_((out.get("subtotal_cents"), out.get("discount_cents"), out.get("vat_cents"),
             out.get("total_cents")), (2550, 255, 459, 2754),
            "the checkout is priced: 10% gold discount, 20% VAT", repr(out))
        ex = w.send("carts.checkout", {"cart_id": "c-2", "items": []})
        doc = w.final(ex.get(n)) if ex.get(n) else {}
        t.ok(doc.get("status") == "dead" and "the cart has no items" in (doc.get("error") or ""),
             "an empty cart fails with the function's error", repr(doc.get("error")))

    if "background_job" in names:
        n = names["background_job"]
        ex = w.send("exports.requested", {"export_id": "exp-1", "columns": ["sku", "qty"],
                                          "rows": [{"sku": "A-1", "qty": 2},
                                                   {"sku": "B,2", "qty": 1}]})
        out = run_ok(w, n, ex.get(n), "background_job")
        want = b'sku,qty\nA-1,2\n"B,2",1\n'
        path = os.path.join(w.data, "exports", "exp-1.csv")
        got = open(path, "rb").read() if os.path.exists(path) else None
        is_(got, want, "the CSV export was written (quoted where needed)")
        is_((out.get("rows"), out.get("bytes"), out.get("sha256")),
            (2, len(want), hashlib.sha256(want).hexdigest()), "the job reports rows, size, hash")
        ex = w.send("exports.requested", {"export_id": "../escape", "columns": ["a"], "rows": []})
        doc = w.final(ex.get(n)) if ex.get(n) else {}
        t.ok(doc.get("status") == "dead" and doc.get("attempt") == 1
             and "export_id must be" in (doc.get("error") or ""),
             "a bad export_id is refused at once (exit 64: permanent)", repr(doc.get("error")))

    if "security_scan" in names:
        n = names["security_scan"]
        key = "AKIAIOSFODNN7EXAMPLE"
        ex = w.send("code.pushed", {"repository": "shop", "commit": "abc123", "files": [
            {"path": "README.md", "content": "nothing to see"},
            {"path": "settings.py", "content": f"DEBUG = True\nAWS_KEY = '{key}'\n"
                                               "db_password = 'hunter2hunter2'\n"}]})
        out = run_ok(w, n, ex.get(n), "security_scan of a leaky push")
        found = {(f["path"], f["rule"], f["line"]) for f in out.get("findings", [])}
        t.ok(out.get("clean") is False
             and ("data.files[1].content", "aws_access_key_id", 2) in found
             and ("data.files[1].content", "password_assignment", 3) in found,
             "the AWS key and the password are found with path, rule and line", repr(out))
        t.ok(key not in json.dumps(out) and "hunter2hunter2" not in json.dumps(out),
             "the report masks what it found")
        ex = w.send("code.pushed", {"files": [{"path": "a.txt", "content": "hello world"}]})
        out = run_ok(w, n, ex.get(n), "security_scan of a clean push")
        is_((out.get("clean"), out.get("findings")), (True, []), "a clean push is clean")

    if "backup_operation" in names:
        n = names["backup_operation"]
        outs = []
        for _ in range(3):
            ex = w.send("backups.requested", {"keep": 2})
            outs.append(run_ok(w, n, ex.get(n), "backup_operation"))
        last = outs[-1]
        t.ok(all(o.get("integrity") == "ok" for o in outs), "every backup passed integrity_check")
        bdir = os.path.join(w.data, "backups")
        left = sorted(os.listdir(bdir)) if os.path.isdir(bdir) else []
        t.ok(len(left) == 2 and all(re.fullmatch(r"shop-\d{8}T\d{12}Z\.db", f) for f in left),
             "timestamped backups, only the newest 2 kept", repr(left))
        t.ok(len(last.get("pruned", [])) == 1, "the third run pruned the oldest", repr(last))
        if last.get("backup") and os.path.exists(last["backup"]) and \
                "database_operation" in names:
            with sqlite3.connect(last["backup"]) as db:
                is_(db.execute("SELECT count(*) FROM orders").fetchone()[0], 3,
                    "the backup holds the orders")

    if "webhook" in names:
        n = names["webhook"]
        ex = w.send("orders.created", {"order_id": "o-9", "amount": 42.5, "currency": "EUR"})
        out = run_ok(w, n, ex.get(n), "webhook")
        got = [x for x in w.platform("partner-webhooks") if x.get("order_id") == "o-9"]
        t.ok(len(got) == 1 and got[0].get("type") == "order.created" and got[0]["total"] == 42.5,
             "the partner endpoint received the rendered body (total typed)", repr(got))

    if "external_api" in names:
        n = names["external_api"]
        ex = w.send("shipments.requested", {"order_id": "o-1", "address": {"city": "Lyon"},
                                            "parcels": [{"kg": 1.5}]})
        out = run_ok(w, n, ex.get(n), "external_api")
        got = [x for x in w.platform("v1/shipments") if x.get("reference") == "o-1"]
        t.ok(len(got) == 1 and got[0].get("to") == {"city": "Lyon"}
             and got[0].get("service") == "standard",
             "the shipping API received the shipment", repr(got))

    if "crm_sync" in names:
        n = names["crm_sync"]
        ex = w.send("users.updated", {"email": "ada@example.com", "first_name": "Ada",
                                      "last_name": "Lovelace"})
        out = run_ok(w, n, ex.get(n), "crm_sync")
        got = w.platform("crm/v3/objects/contacts/batch/upsert")
        props = [i["properties"] for x in got for i in x.get("inputs", [])
                 if i.get("id") == "ada@example.com"]
        t.ok(props and props[0].get("firstname") == "Ada" and props[0]["lifecyclestage"] ==
             "customer", "the CRM received a HubSpot-shaped upsert keyed by email", repr(got))

    if "cache_invalidation" in names:
        n = names["cache_invalidation"]
        ex = w.send("products.updated", {"product_id": "p-7"})
        out = run_ok(w, n, ex.get(n), "cache_invalidation")
        got = w.platform("client/v4/zones/example-zone/purge_cache")
        t.ok(any(x.get("tags") == ["product-p-7"] and
                 x.get("files") == ["https://shop.example.com/products/p-7"] for x in got),
             "the CDN received a purge by tag and URL", repr(got))

    if "email" in names:
        n = names["email"]
        ex = w.send("users.signed_up", {"email": "ada@example.com", "name": "Ada",
                                        "user_id": "u-1"})
        out = run_ok(w, n, ex.get(n), "email")
        t.ok("ada@example.com" in json.dumps(out.get("accepted")), "the SMTP server accepted it",
             repr(out))

        def mail():
            new = os.path.join(w.maildir, "new")
            files = os.listdir(new) if os.path.isdir(new) else []
            return [open(os.path.join(new, f), "rb").read() for f in files]
        msgs = wait_for(mail, 10) or []
        t.ok(any(b"Subject: Welcome, Ada!" in m and b"ada@example.com" in m for m in msgs),
             "the welcome mail arrived with its subject", repr(msgs[:1])[:500])


def write(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def test_apply_behaviour(w):
    tmp = os.path.join(w.tmp, "apply")
    os.makedirs(tmp)
    f = write(os.path.join(tmp, "a.json"), {
        "action": {"name": "apply-echo", "description": "first", "timeout_ms": 5000,
                   "handler": {"kind": "echo"}},
        "subscriptions": [{"event_patterns": ["apply.x"]}]})
    rc, out, err = w.ctl("apply", f)
    t.ok(rc == 0 and out.startswith("created ") and "apply-echo (echo)" in out,
         "apply creates a new action", out, err)
    a = w.action("apply-echo")

    write(f, {"action": {"name": "apply-echo", "description": "second",
                         "handler": {"kind": "echo"}},
              "subscriptions": [{"event_patterns": ["apply.y"]}]})
    rc, out, err = w.ctl("apply", f)
    t.ok(rc == 0 and out.startswith("updated ") and "1 created, 0 unchanged" in out,
         "a changed file updates the action and adds the new subscription", out, err)
    b = w.action("apply-echo")
    is_((b["id"], b["description"], b["timeout_ms"]), (a["id"], "second", 30000),
        "same action; PUT replaced it (the left-out timeout_ms is the default again)")
    is_(len(w.subs(a["id"])), 2, "without --prune the old subscription stays")
    rc, out, err = w.ctl("apply", "--prune", f)
    t.ok(rc == 0 and "0 created, 1 unchanged, 1 removed" in out, "--prune removes it", out, err)
    is_([s["event_patterns"] for s in w.subs(a["id"])], [["apply.y"]],
        "only the file's subscription is left")

    # The bootstrap form ({"actions": [...]}, "subscribe"), as `make run` loads it.
    rc, out, err = w.ctl("apply", os.path.join("examples", "bootstrap", "actions.json"))
    is_(rc, 0, "apply loads examples/bootstrap/actions.json (the {\"actions\"} form)", out, err)
    is_(len(out.strip().splitlines()), 4, "one line for each of its 4 actions", out)

    # ${VAR} expansion: defaults, values, $${ and errors.
    g = write(os.path.join(tmp, "vars.json"), {"action": {
        "name": "apply-vars", "handler": {"kind": "noop"},
        "description": "${APPLY_T1:-fallback} ${APPLY_T2} $${LITERAL} cost $5"}})
    env = dict(w.env, APPLY_T2="two")
    env.pop("APPLY_T1", None)
    rc, out, err = w.ctl("apply", g, env=env)
    is_((rc, (w.action("apply-vars") or {}).get("description")),
        (0, "fallback two ${LITERAL} cost $5"), "${VAR:-default}, ${VAR} and $${ expand", err)
    env.pop("APPLY_T2")
    rc, out, err = w.ctl("apply", g, env=env)
    t.ok(rc == 1 and "vars.json" in err and "${APPLY_T2} is not set" in err,
         "an unset variable is an error naming the file and the variable", err)

    # The first failure stops the run; the server's problem is printed.
    d2 = os.path.join(tmp, "dir")
    os.makedirs(d2)
    write(os.path.join(d2, "1-good.json"), {"action": {"name": "apply-good",
                                                       "handler": {"kind": "noop"}}})
    write(os.path.join(d2, "2-bad.json"), {"action": {"name": "apply-bad",
                                                      "handler": {"kind": "noop", "x": 1}}})
    write(os.path.join(d2, "3-later.json"), {"action": {"name": "apply-later",
                                                        "handler": {"kind": "noop"}}})
    with open(os.path.join(d2, "notes.txt"), "w") as fh:
        fh.write("not json, not loaded")
    rc, out, err = w.ctl("apply", d2)
    t.ok(rc == 1 and "handler.x" in err and "2-bad.json" in err and "apply-bad" in err,
         "a rejected action exits 1 with the problem (field) and the file", out, err)
    t.ok(w.action("apply-good") is not None and w.action("apply-later") is None,
         "the files before it were applied, the ones after it were not")

    # Local mistakes are found before anything is sent.
    write(os.path.join(d2, "1-good.json"), {"action": {"name": "apply-good2",
                                                       "handler": {"kind": "noop"}},
                                            "subscription": []})
    rc, out, err = w.ctl("apply", d2)
    t.ok(rc == 1 and "unknown member 'subscription'" in err and "1-good.json" in err,
         "an unknown member is refused, naming the file", err)
    is_(w.action("apply-good2"), None, "and nothing was sent")
    rc, out, err = w.ctl("apply", os.path.join(tmp, "missing.json"))
    t.ok(rc == 1 and "missing.json" in err, "a missing path exits 1 naming it", err)
    rc, out, err = w.ctl("apply")
    is_(rc, 64, "apply without a path is a usage error")


def main():
    tmp = tempfile.mkdtemp(prefix="actiond-examples-it-")
    w = World(tmp)
    try:
        w.start_peers()
        with Daemon(extra_args=["--egress-allow", "127.0.0.0/8",
                                "--plugins-dir", os.path.join(build_dir(), "plugins")]) as d:
            w.d = d
            test_files_and_apply(w)
            test_local_runs(w)
            test_apply_behaviour(w)
    except Exception:  # a crash is a failure with its traceback, never a skip
        t.ok(False, "the test ran to the end", traceback.format_exc())
    finally:
        w.stop_peers()
        if os.environ.get("ACT_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
