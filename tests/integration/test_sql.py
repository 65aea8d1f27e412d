#!/usr/bin/env python3
"""Integration test of handler kind `sql` against a real PostgreSQL server
started on loopback by tests/integration/pg.py (a throwaway cluster with
SCRAM passwords) and a real actiond.

- An action of kind sql subscribed to `users.signup` inserts the event's
  data (handler.params rendered from {{ event.data.x }} templates, and an
  :input.x lookup; bound, never spliced) and returns the new row; psql sees
  the row with its types.
- A read-only action returns the row typed (integer, numeric, jsonb, bool,
  text) and refuses a write with PostgreSQL's read-only error.
- statement_timeout_ms with pg_sleep fails the attempt with SQLSTATE 57014
  well before the sleep would end; bad SQL fails with PostgreSQL's syntax
  error, dead at once (permanent); a failing second statement rolls the
  first back.
- A hostile value stays data; config.password is masked in the API, and a
  wrong password fails without appearing in the error or the daemon's log.
- 20 events at once succeed; connections opened before the burst stay
  open and fewer new ones than workers appear (the pool); after a server
  restart the dead pooled connection is replaced within the same attempt.

Never skips: without PostgreSQL binaries it fails (scripts/deps.sh, which
`make test` runs first, installs them).  Emits TAP.
"""

import os
import sys
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Daemon, Tap, chain_final, wait_final  # noqa: E402
from pg import Postgres  # noqa: E402

FINAL = {"succeeded", "dead", "cancelled"}
WORKERS = 4
t = Tap()


def is_(got, want, name, *diag):
    """t.is_ with extra diagnostics on failure."""
    return t.ok(got == want, name, f"got:      {got!r}", f"expected: {want!r}", *diag)



def last_attempt(d, doc):
    """The full document of the chain's last attempt."""
    last = chain_final(doc)
    if last.get("id") and last["id"] != doc.get("id"):
        r = d.request("GET", f"/v1/executions/{last['id']}")
        if r.status == 200:
            return r.json
    return doc


def create_action(d, name, handler, config=None, **extra):
    body = {"name": name, "action_type": "database_operation", "category": "it",
            "handler": handler, "retry_policy": {"max_retries": 0}}
    if config is not None:
        body["config"] = config
    body.update(extra)
    r = d.request("POST", "/v1/actions", body)
    if r.status != 201:
        t.diag(f"create {name}: {r}")
        return None
    return r.json


def execute(d, action, payload=None):
    """Run an action manually; the final execution document (or None)."""
    r = d.request("POST", f"/v1/actions/{action['id']}/execute", {"input": payload or {}})
    if r.status != 202:
        t.diag(f"execute {action['name']}: {r}")
        return None
    doc = wait_final(d, r.json["execution_id"])
    return last_attempt(d, doc) if doc else None


def sql_handler(pg, sql, **kw):
    h = {"kind": "sql", "dsn": pg.dsn, "sql": sql}
    h.update(kw)
    return h


def test_subscribed_insert(d, pg, cfg):
    pg.psql("CREATE TABLE signups(id serial PRIMARY KEY, email text NOT NULL, tier text, "
            "amount numeric, meta jsonb, source text, created_at timestamptz DEFAULT now())")
    ins = create_action(d, "store_signup", sql_handler(
        pg, "INSERT INTO signups(email, tier, amount, meta, source) "
            "VALUES (:email, :input.tier, :amount, :meta, :source) RETURNING id, email",
        params={"email": "{{ event.data.email }}", "amount": "{{ event.data.amount }}",
                "meta": "{{ event.data.meta }}", "source": "actiond-it"}), cfg)
    t.ok(ins is not None, "sql action created")
    if not ins:
        return None
    r = d.request("POST", "/v1/subscriptions",
                  {"action_id": ins["id"], "event_patterns": ["users.signup"]})
    is_(r.status, 201, "subscription created")
    r = d.request("POST", "/v1/events", {"type": "users.signup", "data": {
        "email": "ada@example.com", "tier": "gold", "amount": 12.5, "meta": {"k": [1, 2]}}})
    is_(r.status, 202, "event accepted")
    execs = (r.json or {}).get("executions") or []
    is_(len(execs), 1, "one execution for the subscription")
    if not execs:
        return ins
    doc = wait_final(d, execs[0]["id"])
    doc = last_attempt(d, doc) if doc else {}
    is_(doc.get("status"), "succeeded", "insert succeeded", f"error: {doc.get('error')}")
    out = doc.get("output") or {}
    is_(out.get("rows"), [{"id": 1, "email": "ada@example.com"}],
          "RETURNING row as output (id an integer)", repr(out))
    is_((out.get("row_count"), out.get("affected")), (1, 1), "row_count 1, affected 1")
    row = pg.psql("SELECT email, tier, amount, meta::text, source FROM signups")
    is_(row, 'ada@example.com|gold|12.5|{"k": [1, 2]}|actiond-it',
          "psql sees the row with the event's data, typed")
    return ins


def test_read_only_select(d, pg, cfg):
    sel = create_action(d, "find_signup", sql_handler(
        pg, "SELECT id, email, amount, meta, tier = 'gold' AS gold, 2.5::float8 AS f, "
            "NULL::text AS nothing, 10000000000::int8 AS big FROM signups WHERE email = :email",
        params={"email": "ada@example.com"}, read_only=True), cfg)
    doc = execute(d, sel) if sel else None
    is_((doc or {}).get("status"), "succeeded", "read-only select succeeded",
          f"error: {(doc or {}).get('error')}")
    out = (doc or {}).get("output") or {}
    is_(out.get("rows"), [{"id": 1, "email": "ada@example.com", "amount": 12.5,
                             "meta": {"k": [1, 2]}, "gold": True, "f": 2.5, "nothing": None,
                             "big": 10000000000}],
          "the row comes back typed by column type", repr(out))
    is_(out.get("affected"), 0, "a select changes nothing")

    wr = create_action(d, "ro_delete", sql_handler(pg, "DELETE FROM signups", read_only=True),
                       cfg)
    doc = execute(d, wr) if wr else None
    err = (doc or {}).get("error") or ""
    is_((doc or {}).get("status"), "dead", "a write in a read-only action fails (permanent)")
    t.ok("read-only transaction" in str(err) and "25006" in str(err),
         "with PostgreSQL's read-only error", f"error: {err}")
    is_(pg.psql("SELECT count(*) FROM signups"), "1", "nothing was deleted")


def test_failures(d, pg, cfg):
    slow = create_action(d, "slow", sql_handler(pg, "SELECT pg_sleep(5)",
                                                statement_timeout_ms=300), cfg)
    t0 = time.monotonic()
    doc = execute(d, slow) if slow else None
    took = time.monotonic() - t0
    err = str((doc or {}).get("error") or "")
    t.ok((doc or {}).get("status") in ("dead", "failed"), "pg_sleep past the timeout fails",
         repr(doc))
    t.ok("statement timeout" in err and "57014" in err, "with the statement timeout error",
         f"error: {err}")
    t.ok(took < 4.5, "long before the sleep would end", f"took {took:.1f}s")

    bad = create_action(d, "bad_sql", sql_handler(pg, "SELEC id FROM signups"), cfg)
    doc = execute(d, bad) if bad else None
    err = str((doc or {}).get("error") or "")
    is_((doc or {}).get("status"), "dead", "bad SQL fails, dead at once")
    t.ok('syntax error at or near "SELEC"' in err and "42601" in err and "statement 1" in err,
         "with PostgreSQL's error and the statement index", f"error: {err}")

    two = create_action(d, "two_statements", sql_handler(
        pg, "INSERT INTO signups(email) VALUES ('second@example.com'); "
            "INSERT INTO no_such_table VALUES (1)"), cfg)
    doc = execute(d, two) if two else None
    err = str((doc or {}).get("error") or "")
    t.ok("statement 2" in err and "no_such_table" in err, "the second statement's error",
         f"error: {err}")
    is_(pg.psql("SELECT count(*) FROM signups"), "1", "the first statement was rolled back")


def test_injection(d, pg, cfg):
    evil = "x'); DROP TABLE signups; --"
    act = create_action(d, "inject", sql_handler(
        pg, "INSERT INTO signups(email) VALUES (:input.email) RETURNING email"), cfg)
    doc = execute(d, act, {"email": evil}) if act else None
    rows = ((doc or {}).get("output") or {}).get("rows")
    is_(rows, [{"email": evil}], "a hostile value is stored as data", repr(doc))
    is_(pg.psql("SELECT count(*) FROM signups"), "2", "the table is still there")


def test_secrets(d, pg, cfg):
    r = d.request("GET", "/v1/actions?limit=100")
    items = (r.json or {}).get("items") or []
    shown = [a.get("config", {}).get("password") for a in items if a["name"] == "store_signup"]
    is_(shown, ["***"], "config.password is masked in the API")
    t.ok(pg.password not in r.text, "the password appears nowhere in the listing")

    wrong = "Wr0ng-" + pg.password[::-1]
    act = create_action(d, "wrong_password", sql_handler(pg, "SELECT 1"), {"password": wrong})
    doc = execute(d, act) if act else None
    err = str((doc or {}).get("error") or "")
    t.ok((doc or {}).get("status") in ("dead", "failed"), "a wrong password fails the attempt")
    t.ok("password authentication failed" in err, "with the server's reason", f"error: {err}")
    t.ok(wrong not in err and wrong not in str(doc), "the password is not in the execution")
    with open(d.log_path, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    t.ok(wrong not in log and pg.password not in log, "nor in the daemon's log")


def pids(pg):
    out = pg.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'actiond'")
    return {int(x) for x in out.split()}


def test_pool(d, pg, cfg, ins):
    before = pids(pg)
    ids = []
    for i in range(20):
        r = d.request("POST", "/v1/events", {"type": "users.signup", "data": {
            "email": f"u{i}@example.com", "tier": "basic", "amount": i, "meta": None}})
        ids += [x["id"] for x in (r.json or {}).get("executions") or []]
    docs = [wait_final(d, x) for x in ids]
    good = [x for x in docs if x and chain_final(x).get("status") == "succeeded"]
    is_(len(good), 20, "20 events at once: all inserts succeed")
    is_(pg.psql("SELECT count(*) FROM signups WHERE tier = 'basic'"), "20", "20 rows stored")
    after = pids(pg)
    t.ok(before and before <= after, "connections opened before the burst are kept (pooled)",
         f"before {sorted(before)}, after {sorted(after)}")
    t.ok(len(after - before) < WORKERS, f"the burst opened fewer than {WORKERS} (workers) "
         "new connections", f"before {sorted(before)}, after {sorted(after)}")


def test_reconnect(d, pg, cfg, ins):
    pg.restart()
    r = d.request("POST", "/v1/events", {"type": "users.signup", "data": {
        "email": "after-restart@example.com", "tier": "late", "amount": 1, "meta": None}})
    ids = [x["id"] for x in (r.json or {}).get("executions") or []]
    doc = wait_final(d, ids[0]) if ids else None
    doc = last_attempt(d, doc) if doc else {}
    is_(doc.get("status"), "succeeded",
        "after a server restart the pooled connection is replaced and the insert succeeds",
        f"error: {doc.get('error')}")
    is_(doc.get("attempt"), 1, "in the first attempt (no retry needed)")
    is_(pg.psql("SELECT count(*) FROM signups WHERE tier = 'late'"), "1", "the row is there")


def main():
    pg = Postgres()
    try:
        pg.start()
    except Exception as e:  # noqa: BLE001
        t.ok(False, "PostgreSQL started", str(e))
        return t.done()
    t.ok(True, f"PostgreSQL started on 127.0.0.1:{pg.port}")
    cfg = {"password": pg.password}
    try:
        with Daemon(extra_args=["--workers", str(WORKERS)]) as d:
            ins = test_subscribed_insert(d, pg, cfg)
            test_read_only_select(d, pg, cfg)
            test_failures(d, pg, cfg)
            test_injection(d, pg, cfg)
            test_secrets(d, pg, cfg)
            if ins:
                test_pool(d, pg, cfg, ins)
                test_reconnect(d, pg, cfg, ins)
            if t.failed:
                t.diag(d.log_tail())
    except Exception:  # noqa: BLE001
        t.ok(False, "no exception", traceback.format_exc())
        t.diag(pg.log_tail())
    finally:
        pg.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
