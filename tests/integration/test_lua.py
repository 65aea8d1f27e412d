"""Integration: the `lua` handler kind and expression conditions against the real daemon.

- a lua action subscribed to an event produces the script's output;
- a syntax error is a 422 naming handler.source with Lua's message;
- a subscription with an expression condition matches or not, and
  POST /v1/match/explain shows the expression's reason;
- a runaway script (infinite loop, memory bomb) fails its execution with a
  clear error while the daemon keeps serving.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Daemon, Tap, wait_for  # noqa: E402

t = Tap()
FINAL = ("succeeded", "dead", "cancelled")

SCRIPT = """
local d = event.data
local total = 0
for _, item in ipairs(d.items) do total = total + item.qty * item.price end
if d.tier == 'blocked' then error('customer is blocked', 0) end
return {customer = d.customer, total = total, attempt = execution.attempt,
        currency = config.currency, note = input.data and input.data.note}
"""


def final(d, exec_id, timeout=30):
    def probe():
        r = d.request("GET", f"/v1/executions/{exec_id}")
        if r.status != 200:
            return None
        doc = r.json
        last = (doc.get("lineage") or [doc])[-1]
        if last.get("status") not in FINAL:
            return None
        if last.get("id") not in (None, doc.get("id")):
            r = d.request("GET", f"/v1/executions/{last['id']}")  # the whole last attempt
            doc = r.json if r.status == 200 else {}
        # the lineage summary may be written before the document itself
        return doc if doc.get("status") in FINAL else None
    return wait_for(probe, timeout, 0.05)


def action(d, name, handler, **extra):
    body = {"name": name, "action_type": "test", "category": "it", "handler": handler}
    body.update(extra)
    return d.request("POST", "/v1/actions", body)


def subscribe(d, action_id, patterns, conditions):
    return d.request("POST", "/v1/subscriptions", {"action_id": action_id,
                                                   "event_patterns": patterns,
                                                   "conditions": conditions})


def test_validation(d):
    r = action(d, "lua_bad", {"kind": "lua", "source": "return {"})
    t.ok(r.status == 422 and (r.json or {}).get("field") == "handler.source"
         and "script:1:" in (r.json or {}).get("detail", ""),
         "syntax error -> 422 on handler.source with Lua's message", f"{r}")
    r = d.request("GET", "/v1/handlers")
    kinds = {i.get("kind"): i for i in (r.json or {}).get("items", [])}
    t.ok("lua" in kinds and "sandboxed" in kinds["lua"].get("capabilities", []),
         "GET /v1/handlers lists lua as sandboxed", f"{r}")
    r = subscribe(d, "0190a0b0-1234-7abc-8def-0123456789ab", ["x"], "event.data.tier ==")
    t.ok(r.status == 400 and (r.json or {}).get("field") == "conditions"
         and "unexpected symbol" in (r.json or {}).get("detail", ""),
         "expression syntax error -> 400 on conditions", f"{r}")


def test_script_and_condition(d):
    r = action(d, "lua_orders", {"kind": "lua", "source": SCRIPT},
               config={"currency": "EUR"}, retry_policy={"max_retries": 0})
    t.ok(r.status == 201, "lua action created", f"{r}")
    act = r.json or {}
    cond = "event.data.tier == 'premium' and #event.data.items > 0"
    r = subscribe(d, act.get("id"), ["shop.order.*"], cond)
    t.ok(r.status == 201 and (r.json or {}).get("conditions") == cond,
         "subscription with an expression condition created, kept as given", f"{r}")
    sub = r.json or {}

    ev = {"type": "shop.order.paid", "data": {
        "customer": "ada", "tier": "premium",
        "items": [{"qty": 2, "price": 10}, {"qty": 1, "price": 5.5}]}}
    r = d.request("POST", "/v1/events", ev)
    ex = (r.json or {}).get("executions", [])
    t.ok(r.status == 202 and len(ex) == 1 and ex[0].get("subscription_id") == sub.get("id"),
         "matching event -> one execution", f"{r}")
    doc = final(d, ex[0]["id"]) if ex else None
    t.ok(doc and doc.get("status") == "succeeded", "the lua execution succeeds", f"{doc}")
    t.is_((doc or {}).get("output"),
          {"customer": "ada", "total": 25.5, "attempt": 1, "currency": "EUR"},
          "its output is the script's return value")

    ev["data"]["tier"] = "basic"
    r = d.request("POST", "/v1/events", ev)
    t.ok(r.status == 202 and (r.json or {}).get("executions") == [],
         "non-matching expression -> no execution", f"{r}")

    r = d.request("POST", "/v1/match/explain", ev)
    cons = {c.get("subscription_id"): c for c in (r.json or {}).get("considered", [])}
    reason = cons.get(sub.get("id"), {}).get("reason", "")
    t.ok(r.status == 200 and cons.get(sub.get("id"), {}).get("matched") is False
         and reason == f"expression `{cond}`: false",
         "explain shows the expression's reason", f"{r}")
    ev["data"].pop("items")
    r = d.request("POST", "/v1/match/explain", ev | {"data": {"tier": "premium"}})
    cons = {c.get("subscription_id"): c for c in (r.json or {}).get("considered", [])}
    reason = cons.get(sub.get("id"), {}).get("reason", "")
    t.ok("error:" in reason and "attempt to get length of a nil value" in reason,
         "explain shows a runtime error as the reason", reason)

    r = d.request("POST", "/v1/events", {"type": "shop.order.paid", "data": {
        "customer": "eve", "tier": "premium", "items": [{"qty": 1, "price": 1}]}})
    r2 = d.request("POST", f"/v1/actions/{act.get('id')}/execute",
                   {"input": {"type": "manual", "data": {"tier": "blocked", "items": []}}})
    eid = (r2.json or {}).get("execution_id")
    doc = final(d, eid) if eid else None
    t.ok(doc and doc.get("status") == "dead"
         and "attempt to index a nil value" in str(doc.get("error")),
         "a manual run has event = nil: the script's error fails the execution", f"{doc}")


def test_runaway(d):
    cases = [("lua_loop", {"kind": "lua", "source": "while true do end",
                           "max_instructions": 1000000},
              "lua: instruction budget of 1000000 exceeded"),
             ("lua_hog", {"kind": "lua", "source": "local t = {} for i = 1, 1e9 do t[i] = i end",
                          "max_memory_bytes": 1048576, "max_instructions": 10000000000},
              "lua: memory limit of 1048576 bytes exceeded"),
             ("lua_pcall", {"kind": "lua", "source":
                            "while true do pcall(function() while true do end end) end"},
              "lua: instruction budget of 10000000 exceeded"),
             ("lua_escape", {"kind": "lua", "source": "return os.execute('touch /tmp/pwned')"},
              "attempt to call a nil value (field 'execute')")]
    for name, handler, want in cases:
        r = action(d, name, handler, retry_policy={"max_retries": 2, "initial_delay_ms": 10})
        if not t.ok(r.status == 201, f"{name}: created", f"{r}"):
            continue
        r = d.request("POST", f"/v1/actions/{r.json['id']}/execute", {"input": {}})
        eid = (r.json or {}).get("execution_id")
        doc = final(d, eid) if eid else None
        t.ok(doc and doc.get("status") == "dead" and want in str(doc.get("error")),
             f"{name}: the execution fails with '{want}'", f"{doc}")
    r = d.request("GET", "/readyz")
    t.is_(r.status, 200, "the daemon keeps serving after runaway scripts")
    r = action(d, "lua_after", {"kind": "lua", "source": "return 6 * 7"})
    r = d.request("POST", f"/v1/actions/{(r.json or {}).get('id')}/execute", {"input": {}})
    doc = final(d, (r.json or {}).get("execution_id", "x"))
    t.ok(doc and doc.get("status") == "succeeded" and doc.get("output") == 42,
         "and still runs scripts", f"{doc}")


def main():
    try:
        d = Daemon()
        d.start()
    except Exception as e:  # noqa: BLE001
        t.ok(False, "actiond starts", str(e))
        return t.done()
    try:
        for section in (test_validation, test_script_and_condition, test_runaway):
            try:
                section(d)
            except Exception:  # noqa: BLE001
                import traceback
                t.ok(False, f"{section.__name__} raised", traceback.format_exc())
    finally:
        rc = d.stop()
        t.is_(rc, 0, "actiond exits 0")
        if t.failed:
            t.diag("daemon log tail:\n" + d.log_tail())
        d.cleanup()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
