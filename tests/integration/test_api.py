#!/usr/bin/env python3
"""Integration test of the REST API v1 (shared/API.md) against a real actiond.

Starts $ACT_BUILD_DIR/actiond on 127.0.0.1:0 with a temporary data dir and
drives every resource: actions, subscriptions, events in every mode,
duplicates, executions (filters, cursor pagination, cancel), matching
explain, per-action metrics, dead letters (lineage, replay, bulk replay),
request limits (413, 415, malformed JSON) and the service routes.  Emits
TAP.  Ends with SIGTERM and expects exit code 0 within 10 s.
"""

import os
import sys
import traceback
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Daemon, Tap, chain_final, wait_final  # noqa: E402

t = Tap()
PROBLEM = "application/problem+json"
FINAL = ("succeeded", "dead", "cancelled")


def is_problem(r, status, name, field=None):
    """A problem response: status, content type, members, optional field."""
    good = (r.status == status and r.content_type.startswith(PROBLEM)
            and isinstance(r.json, dict) and r.json.get("status") == status
            and str(r.json.get("type", "")).startswith("https://")
            and isinstance(r.json.get("title"), str) and isinstance(r.json.get("detail"), str))
    if field is not None:
        good = good and r.json.get("field") == field
    return t.ok(good, name, f"status {r.status}, type {r.content_type}", f"body {r.text[:400]}",
                f"expected field {field!r}" if field is not None else "")



def create_action(d, name, handler, **extra):
    body = {"name": name, "action_type": "test", "category": "it", "handler": handler}
    body.update(extra)
    r = d.request("POST", "/v1/actions", body)
    if r.status != 201:
        t.diag(f"create {name}: {r}")
        return None
    return r.json


# ---------------------------------------------------------------- service

def test_service(d):
    r = d.request("GET", "/livez")
    t.is_((r.status, r.json), (200, {"status": "ok"}), "GET /livez -> 200 {status: ok}")
    r = d.request("GET", "/readyz")
    t.is_(r.status, 200, "GET /readyz -> 200 once ready")
    r = d.request("GET", "/v1/handlers")
    kinds = {h.get("kind") for h in (r.json or {}).get("items", [])}
    t.ok(r.status == 200 and {"noop", "echo", "command", "native"} <= kinds,
         "GET /v1/handlers lists noop, echo, command, native", f"kinds: {sorted(kinds)}")
    r = d.request("GET", "/openapi.json")
    t.ok(r.status == 200 and isinstance(r.json, dict)
         and str(r.json.get("openapi", "")).startswith("3.1"),
         "GET /openapi.json serves an OpenAPI 3.1 document")
    t.ok("/v1/actions" in (r.json or {}).get("paths", {}), "the document describes /v1/actions")
    r = d.request("GET", "/v1/nothing-here")
    is_problem(r, 404, "unknown route -> 404 problem")
    r = d.request("DELETE", "/v1/actions")
    is_problem(r, 405, "DELETE /v1/actions -> 405 problem")
    allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
    t.ok({"GET", "POST"} <= allow, "405 carries Allow: GET, POST", f"allow: {allow}")
    r = d.request("GET", "/v1/actions/" + "x" * 129)
    is_problem(r, 404, "an id longer than 128 chars -> 404")
    r = d.request("GET", "/v1/actions/bad%20id")
    is_problem(r, 404, "an id with unsafe characters -> 404")


# ---------------------------------------------------------------- actions

def test_actions(d, ctx):
    a = create_action(d, "it_noop", {"kind": "noop"}, config={"api_token": "s3cr3t", "x": 1})
    t.ok(a is not None, "POST /v1/actions -> 201")
    if not a:
        t.bail("cannot create an action")
    ctx["noop"] = a
    t.ok(all(k in a for k in ("id", "created_at", "updated_at", "health")),
         "201 body has id, created_at, updated_at, health", f"keys: {sorted(a)}")
    rp = a.get("retry_policy", {})
    t.is_((rp.get("max_retries"), rp.get("backoff"), rp.get("initial_delay_ms"),
           rp.get("max_delay_ms"), rp.get("jitter")), (3, "exponential", 1000, 60000, True),
          "retry_policy defaults")
    t.is_((a.get("timeout_ms"), a.get("priority"), a.get("enabled")), (30000, 0, True),
          "timeout_ms, priority, enabled defaults")
    t.ok(a.get("config", {}).get("api_token") != "s3cr3t" and a.get("config", {}).get("x") == 1,
         "secret config values are redacted, others kept", f"config: {a.get('config')}")

    r = d.request("POST", "/v1/actions", {"name": "it_loc", "handler": {"kind": "noop"}})
    t.is_(r.headers.get("location"), f"/v1/actions/{(r.json or {}).get('id')}",
          "201 carries Location: /v1/actions/{id}")
    t.ok(r.content_type.startswith("application/json"), "JSON content type on success")
    loc_id = (r.json or {}).get("id")

    r = d.request("GET", f"/v1/actions/{a['id']}")
    t.ok(r.status == 200 and r.json.get("id") == a["id"] and r.json.get("name") == "it_noop",
         "GET /v1/actions/{id} -> 200 with the action")
    r = d.request("GET", "/v1/actions?q=it_noop")
    names = [x.get("name") for x in (r.json or {}).get("items", [])]
    t.ok(r.status == 200 and "it_noop" in names and "next_cursor" in r.json,
         "GET /v1/actions?q= finds it; list has items and next_cursor", f"names: {names}")

    r = d.request("POST", "/v1/actions", {"name": "it_noop", "handler": {"kind": "noop"}})
    is_problem(r, 409, "duplicate name -> 409")
    r = d.request("POST", "/v1/actions", {"handler": {"kind": "noop"}})
    is_problem(r, 400, "missing name -> 400 with field", field="name")
    r = d.request("POST", "/v1/actions", {"name": "it_bad_retry", "handler": {"kind": "noop"},
                                          "retry_policy": {"max_retries": -1}})
    is_problem(r, 400, "negative max_retries -> 400 with field",
               field="retry_policy.max_retries")
    r = d.request("POST", "/v1/actions", {"name": "it_bad_kind", "handler": {"kind": "nope"}})
    is_problem(r, 422, "unknown handler kind -> 422", field="handler.kind")
    r = d.request("POST", "/v1/actions", {"name": "it_bad_cmd", "handler": {"kind": "command"}})
    is_problem(r, 422, "command handler without argv -> 422")
    r = d.request("POST", "/v1/actions", raw=b'{"name": "x", "name": "y"}',
                  headers={"Content-Type": "application/json"})
    is_problem(r, 400, "duplicate JSON member -> 400")

    r = d.request("PATCH", f"/v1/actions/{a['id']}", {"description": "patched"})
    t.ok(r.status == 200 and r.json.get("description") == "patched"
         and r.json.get("name") == "it_noop", "PATCH merges", f"{r}")
    r = d.request("PUT", f"/v1/actions/{loc_id}",
                  {"name": "it_loc2", "handler": {"kind": "noop"}, "priority": 5})
    t.ok(r.status == 200 and r.json.get("name") == "it_loc2" and r.json.get("priority") == 5,
         "PUT replaces", f"{r}")
    r = d.request("DELETE", f"/v1/actions/{loc_id}")
    t.ok(r.status == 204 and r.body == b"", "DELETE -> 204 without a body")
    r = d.request("GET", f"/v1/actions/{loc_id}")
    is_problem(r, 404, "deleted action -> 404")
    r = d.request("GET", f"/v1/actions/{uuid.uuid4()}")
    is_problem(r, 404, "unknown action id -> 404")


# ---------------------------------------------------------------- subscriptions

def test_subscriptions(d, ctx):
    noop = ctx["noop"]
    body = {"action_id": noop["id"], "event_patterns": ["it.users.created", "it.orders.**"],
            "conditions": {"all": [{"field": "data.tier", "op": "eq", "value": "premium"},
                                   {"any": [{"field": "data.amount", "op": "gte", "value": 100},
                                            {"field": "data.vip", "op": "exists"}]}]},
            "priority": 10}
    r = d.request("POST", "/v1/subscriptions", body)
    t.ok(r.status == 201 and r.json.get("id"), "POST /v1/subscriptions -> 201", f"{r}")
    if r.status != 201:
        t.bail("cannot create a subscription")
    sub = r.json
    ctx["sub"] = sub
    t.is_(r.headers.get("location"), f"/v1/subscriptions/{sub['id']}", "Location header")
    t.is_(sub.get("event_patterns"), body["event_patterns"], "patterns stored")
    r = d.request("GET", f"/v1/subscriptions/{sub['id']}")
    t.ok(r.status == 200 and r.json.get("action_id") == noop["id"], "GET subscription")
    r = d.request("GET", f"/v1/subscriptions?action_id={noop['id']}")
    ids = [s.get("id") for s in (r.json or {}).get("items", [])]
    t.ok(r.status == 200 and sub["id"] in ids, "list ?action_id= finds it")

    r = d.request("POST", "/v1/subscriptions", {"action_id": noop["id"], "event_patterns": []})
    is_problem(r, 400, "no patterns -> 400", field="event_patterns")
    r = d.request("POST", "/v1/subscriptions",
                  {"action_id": noop["id"], "event_patterns": ["a.b"],
                   "conditions": {"all": [{"field": "data.x", "op": "bogus", "value": 1}]}})
    t.ok(r.status == 400 and "conditions" in str((r.json or {}).get("field", "")),
         "bad condition op -> 400 naming the condition", f"{r}")

    r = d.request("POST", "/v1/subscriptions", {"action_id": noop["id"], "event_patterns": ["x.y"]})
    tmp = (r.json or {}).get("id")
    r = d.request("PATCH", f"/v1/subscriptions/{tmp}", {"enabled": False})
    t.ok(r.status == 200 and r.json.get("enabled") is False, "PATCH subscription")
    r = d.request("DELETE", f"/v1/subscriptions/{tmp}")
    t.is_(r.status, 204, "DELETE subscription -> 204")


# ---------------------------------------------------------------- events

def exec_ids(reply):
    return [e.get("id") for e in (reply or {}).get("executions", [])]


def test_events(d, ctx):
    noop, sub = ctx["noop"], ctx["sub"]
    premium = {"tier": "premium", "amount": 150}
    ev = {"type": "it.users.created", "source": "it", "id": "plain-1", "data": premium}
    r = d.request("POST", "/v1/events", ev)
    t.ok(r.status == 202 and r.json.get("duplicate") is False and r.json.get("event_id"),
         "plain event -> 202, duplicate false", f"{r}")
    first = r.json or {}
    ex = first.get("executions", [])
    t.ok(len(ex) == 1 and ex[0].get("action_id") == noop["id"]
         and ex[0].get("subscription_id") == sub["id"] and ex[0].get("id"),
         "one execution for the matching subscription", f"{ex}")
    ctx["plain_event"] = first
    ctx.setdefault("noop_execs", []).extend(exec_ids(first))

    r = d.request("POST", "/v1/events", ev)
    t.ok(r.status == 202 and r.json.get("duplicate") is True
         and r.json.get("event_id") == first.get("event_id")
         and exec_ids(r.json) == exec_ids(first),
         "same source+id -> duplicate true with the first reply", f"{r}")

    r = d.request("POST", "/v1/events", {"type": "it.users.created", "data": {"tier": "basic"}})
    t.ok(r.status == 202 and r.json.get("executions") == [],
         "condition not met -> no executions", f"{r}")
    r = d.request("POST", "/v1/events", {"type": "it.orders.eu.paid",
                                         "data": {"tier": "premium", "vip": True}})
    t.is_(len((r.json or {}).get("executions", [])), 1, "** pattern with an any-condition matches")
    ctx["noop_execs"].extend(exec_ids(r.json))

    r = d.request("GET", f"/v1/events/{first.get('event_id')}")
    evdoc = (r.json or {}).get("event", r.json or {})
    t.ok(r.status == 200 and evdoc.get("type") == "it.users.created"
         and evdoc.get("data") == premium, "GET /v1/events/{id} returns the event", f"{r}")
    t.ok("executions" in (r.json or {}) or "executions" in evdoc,
         "GET /v1/events/{id} includes its executions")

    # batch, with one invalid member in the middle
    batch = {"events": [{"type": "it.users.created", "data": premium},
                        {"data": {"no": "type"}},
                        {"type": "it.users.created", "data": premium}]}
    r = d.request("POST", "/v1/events", batch)
    res = (r.json or {}).get("results", [])
    t.ok(r.status == 202 and len(res) == 3, "batch -> 202 with one result per event", f"{r}")
    if len(res) == 3:
        t.ok(res[0].get("event_id") and len(res[0].get("executions", [])) == 1,
             "batch member 0 ingested")
        err = res[1].get("error") or {}
        t.ok(err.get("status") == 400 and str(err.get("field", "")).startswith("events[1]"),
             "invalid member 1 gets its own error with field events[1]...", f"{res[1]}")
        t.ok(res[2].get("event_id") and res[2].get("event_id") != res[0].get("event_id"),
             "member 2 ingested despite member 1")
        for x in (res[0], res[2]):
            ctx["noop_execs"].extend(exec_ids(x))

    # CloudEvents structured
    ce = {"specversion": "1.0", "id": "ce-s-1", "source": "/it", "type": "it.users.created",
          "datacontenttype": "application/json", "data": premium}
    r = d.request("POST", "/v1/events", ce,
                  headers={"Content-Type": "application/cloudevents+json; charset=utf-8"})
    t.ok(r.status == 202 and len(exec_ids(r.json)) == 1, "CloudEvents structured -> 202", f"{r}")
    ctx["noop_execs"].extend(exec_ids(r.json))

    # CloudEvents batch
    ces = [dict(ce, id="ce-b-1"), dict(ce, id="ce-b-2", type="it.other")]
    r = d.request("POST", "/v1/events", ces,
                  headers={"Content-Type": "application/cloudevents-batch+json"})
    res = (r.json or {}).get("results", [])
    t.ok(r.status == 202 and len(res) == 2 and len(res[0].get("executions", [])) == 1
         and res[1].get("executions") == [], "CloudEvents batch -> 202, per-event results",
         f"{r}")
    if res:
        ctx["noop_execs"].extend(exec_ids(res[0]))

    test_binary_events(d, ctx, premium)
    test_event_errors(d)


def test_binary_events(d, ctx, premium):
    import json as _json
    hdr = {"ce-specversion": "1.0", "ce-id": "ce-bin-1", "ce-source": "/it",
           "ce-type": "it.users.created", "ce-subject": "user/7", "CE-MyExt": "v1",
           "Content-Type": "application/json"}
    r = d.request("POST", "/v1/events", raw=_json.dumps(premium).encode(), headers=hdr)
    t.ok(r.status == 202 and len(exec_ids(r.json)) == 1, "CloudEvents binary (JSON) -> 202",
         f"{r}")
    ctx["noop_execs"].extend(exec_ids(r.json))
    r = d.request("GET", f"/v1/events/{(r.json or {}).get('event_id')}")
    evdoc = (r.json or {}).get("event", r.json or {})
    t.ok(evdoc.get("data") == premium and evdoc.get("subject") == "user/7"
         and evdoc.get("myext") == "v1" and evdoc.get("id") == "ce-bin-1"
         and evdoc.get("source") == "/it",
         "binary mode: headers became attributes, body became data", f"{evdoc}")
    t.ok(str(evdoc.get("datacontenttype", "")).startswith("application/json"),
         "binary mode: Content-Type became datacontenttype")

    hdr2 = dict(hdr, **{"ce-id": "ce-bin-2", "Content-Type": "text/plain"})
    r = d.request("POST", "/v1/events", raw=b"hello text", headers=hdr2)
    r2 = d.request("GET", f"/v1/events/{(r.json or {}).get('event_id')}")
    evdoc = (r2.json or {}).get("event", r2.json or {})
    t.ok(r.status == 202 and evdoc.get("data") == "hello text",
         "binary mode text/plain: data is the string", f"{r} {evdoc}")

    hdr3 = dict(hdr, **{"ce-id": "ce-bin-3", "Content-Type": "application/octet-stream"})
    r = d.request("POST", "/v1/events", raw=b"\x00\xff\x10", headers=hdr3)
    r2 = d.request("GET", f"/v1/events/{(r.json or {}).get('event_id')}")
    evdoc = (r2.json or {}).get("event", r2.json or {})
    t.ok(r.status == 202 and evdoc.get("data_base64") == "AP8Q",
         "binary mode non-UTF-8: data_base64", f"{r} {evdoc}")

    # The Content-Type decides first: a structured event with stray ce-* headers.
    sce = {"specversion": "1.0", "id": "ce-s-2", "source": "/it", "type": "it.other",
           "data": {"k": 1}}
    r = d.request("POST", "/v1/events", sce,
                  headers={"Content-Type": "application/cloudevents+json",
                           "ce-specversion": "1.0", "ce-id": "from-header"})
    r2 = d.request("GET", f"/v1/events/{(r.json or {}).get('event_id')}")
    evdoc = (r2.json or {}).get("event", r2.json or {})
    t.ok(r.status == 202 and evdoc.get("id") == "ce-s-2" and evdoc.get("data") == {"k": 1},
         "application/cloudevents+json is structured mode even with ce-* headers", f"{evdoc}")

    bad = {k: v for k, v in hdr.items() if k != "ce-type"}
    bad["ce-id"] = "ce-bin-4"
    r = d.request("POST", "/v1/events", raw=b"{}", headers=bad)
    is_problem(r, 400, "binary mode without ce-type -> 400")
    r = d.request("POST", "/v1/events", raw=b"{", headers=dict(hdr, **{"ce-id": "ce-bin-5"}))
    is_problem(r, 400, "binary mode with malformed JSON data -> 400", field="data")


def test_event_errors(d):
    r = d.request("POST", "/v1/events", {"events": []})
    is_problem(r, 400, "empty batch -> 400", field="events")
    big = {"events": [{"type": "it.flood", "data": {}} for _ in range(1001)]}
    r = d.request("POST", "/v1/events", big)
    is_problem(r, 413, "batch over max_batch_events -> 413", field="events")
    r = d.request("POST", "/v1/events", raw=b"type=x", headers={"Content-Type": "text/plain"})
    is_problem(r, 415, "POST /v1/events text/plain without ce headers -> 415")
    r = d.request("POST", "/v1/events", {"data": {}})
    is_problem(r, 400, "event without type -> 400", field="type")
    r = d.request("POST", "/v1/events", raw=b'{"type": "a.b", ', headers={"Content-Type":
                                                                           "application/json"})
    is_problem(r, 400, "malformed JSON -> 400")
    t.ok(r.json is not None and "field" not in r.json
         and "malformed JSON at line 1 column" in r.json.get("detail", ""),
         "malformed JSON problem names line/column and no field", f"{r}")


# ---------------------------------------------------------------- executions

def test_executions(d, ctx):
    ids = ctx.get("noop_execs", [])
    done = [wait_final(d, i) for i in ids]
    t.ok(ids and all(x and x.get("status") == "succeeded" for x in done),
         f"all {len(ids)} noop executions succeed", f"{[x and x.get('status') for x in done]}")
    if done and done[0]:
        x = done[0]
        t.ok(all(k in x for k in ("id", "action_id", "event_id", "status", "attempt", "input",
                                  "output", "queued_at", "started_at", "finished_at",
                                  "duration_ms")),
             "execution document shape", f"keys: {sorted(x)}")
        t.is_(x.get("attempt"), 1, "first attempt is 1")

    pag = create_action(d, "it_pages", {"kind": "noop"})
    created = []
    for i in range(7):
        r = d.request("POST", f"/v1/actions/{pag['id']}/execute", {"input": {"n": i}})
        if r.status == 202 and (r.json or {}).get("execution_id"):
            created.append(r.json["execution_id"])
    t.is_(len(created), 7, "POST /v1/actions/{id}/execute -> 202 {execution_id} x7")
    r = d.request("POST", f"/v1/actions/{pag['id']}/execute", {"inptu": {}})
    is_problem(r, 400, "execute with an unknown member -> 400", field="inptu")
    r = d.request("POST", f"/v1/actions/{uuid.uuid4()}/execute", {})
    is_problem(r, 404, "execute of an unknown action -> 404")
    for i in created:
        wait_final(d, i)

    seen, pages, cursor, sizes = [], 0, None, []
    while pages < 20:
        path = f"/v1/executions?action_id={pag['id']}&limit=3"
        if cursor:
            path += f"&cursor={cursor}"
        r = d.request("GET", path)
        if r.status != 200:
            t.diag(f"page {pages}: {r}")
            break
        pages += 1
        items = r.json.get("items", [])
        sizes.append(len(items))
        seen.extend(x.get("id") for x in items)
        cursor = r.json.get("next_cursor")
        if not cursor:
            break
    t.ok(pages >= 3 and all(s <= 3 for s in sizes), "pages of at most limit=3 items",
         f"sizes {sizes}")
    t.ok(len(seen) == len(set(seen)) and set(seen) == set(created),
         "cursor walk: every execution once, no duplicates, no misses",
         f"seen {len(seen)} unique {len(set(seen))} created {len(created)}")
    r = d.request("GET", f"/v1/executions?action_id={pag['id']}&limit=1000")
    qs = [x.get("queued_at") for x in (r.json or {}).get("items", [])]
    t.ok(qs == sorted(qs, reverse=True), "newest first")

    r = d.request("GET", f"/v1/executions?action_id={pag['id']}&status=succeeded")
    st = {x.get("status") for x in (r.json or {}).get("items", [])}
    t.ok(r.status == 200 and st == {"succeeded"}, "status filter", f"{st}")
    ev_id = ctx["plain_event"].get("event_id")
    r = d.request("GET", f"/v1/executions?event_id={ev_id}")
    evs = {x.get("event_id") for x in (r.json or {}).get("items", [])}
    t.ok(r.status == 200 and evs == {ev_id}, "event_id filter", f"{evs}")
    r = d.request("GET", "/v1/executions?status=bogus")
    is_problem(r, 400, "bad status filter -> 400", field="status")
    r = d.request("GET", "/v1/executions?limit=abc")
    is_problem(r, 400, "bad limit -> 400", field="limit")
    r = d.request("GET", f"/v1/executions/{uuid.uuid4()}")
    is_problem(r, 404, "unknown execution -> 404")
    ctx["pages"] = pag


def test_cancel(d, ctx):
    sl = create_action(d, "it_sleep", {"kind": "command", "argv": ["/bin/sleep", "2"]},
                       timeout_ms=10000, retry_policy={"max_retries": 0})
    r = d.request("POST", f"/v1/actions/{sl['id']}/execute", {})
    eid = (r.json or {}).get("execution_id")
    r = d.request("POST", f"/v1/executions/{eid}/cancel")
    t.ok(r.status == 200 and (r.json or {}).get("status") == "cancelled",
         "cancel a pending or running execution -> 200 cancelled", f"{r}")
    r = d.request("POST", f"/v1/executions/{eid}/cancel")
    is_problem(r, 409, "cancel again -> 409")
    done = ctx.get("noop_execs", [None])[0]
    r = d.request("POST", f"/v1/executions/{done}/cancel")
    is_problem(r, 409, "cancel a succeeded execution -> 409")
    r = d.request("POST", f"/v1/executions/{uuid.uuid4()}/cancel")
    is_problem(r, 404, "cancel an unknown execution -> 404")


# ---------------------------------------------------------------- explain, metrics

def test_explain(d, ctx):
    sub = ctx["sub"]
    ev = {"type": "it.users.created", "data": {"tier": "premium", "amount": 500}}
    r = d.request("POST", "/v1/match/explain", ev)
    matched = [m.get("subscription_id") for m in (r.json or {}).get("matched", [])]
    t.ok(r.status == 200 and sub["id"] in matched, "explain: matching subscription listed",
         f"{r}")
    ev["data"]["tier"] = "basic"
    r = d.request("POST", "/v1/match/explain", ev)
    cons = {c.get("subscription_id"): c for c in (r.json or {}).get("considered", [])}
    c = cons.get(sub["id"], {})
    t.ok(r.status == 200 and c.get("matched") is False and c.get("reason"),
         "explain: a failing condition is considered with a reason", f"{r}")
    r = d.request("POST", "/v1/match/explain", {"events": [ev]})
    is_problem(r, 400, "explain with a batch -> 400")
    r = d.request("GET", f"/v1/events/{uuid.uuid4()}")
    is_problem(r, 404, "unknown event -> 404")


def test_metrics(d, ctx):
    r = d.request("GET", f"/v1/actions/{ctx['pages']['id']}/metrics")
    keys = ("count", "succeeded", "failed", "dead", "success_rate", "avg_ms", "p50_ms",
            "p95_ms", "p99_ms", "per_minute")
    t.ok(r.status == 200 and all(k in (r.json or {}) for k in keys), "action metrics shape",
         f"{r}")
    t.ok((r.json or {}).get("count") == 7 and r.json.get("succeeded") == 7,
         "metrics count the 7 finished attempts", f"{r}")
    r = d.request("GET", f"/v1/actions/{ctx['pages']['id']}/metrics?window=1h")
    t.is_(r.status, 200, "metrics ?window=1h")
    r = d.request("GET", "/metrics")
    lines = [ln for ln in r.text.splitlines() if ln.startswith("actiond_")]
    t.ok(r.status == 200 and r.content_type.startswith("text/plain") and lines,
         "GET /metrics -> Prometheus text with actiond_ lines")
    t.ok(any(ln.startswith("actiond_http_requests_total{") for ln in lines),
         "HTTP request counters exported")


# ---------------------------------------------------------------- dead letters

def test_dead_letters(d, ctx):
    fa = create_action(d, "it_fail", {"kind": "command", "argv": ["/bin/false"]},
                       retry_policy={"max_retries": 1, "initial_delay_ms": 10,
                                     "backoff": "fixed", "jitter": False})
    t.ok(fa is not None, "command action with a short retry policy")
    r = d.request("POST", f"/v1/actions/{fa['id']}/execute", {"input": {"orig": True}})
    first = (r.json or {}).get("execution_id")
    doc = wait_final(d, first)
    t.ok(doc is not None, "the failing execution reaches a final status")
    doc = doc or {}
    lin = doc.get("lineage") or []
    t.ok(len(lin) == 2 and lin[0].get("attempt") == 1 and lin[0].get("status") == "failed"
         and lin[1].get("attempt") == 2 and lin[1].get("status") == "dead",
         "lineage: attempt 1 failed, attempt 2 dead", f"{lin}")
    last = chain_final(doc).get("id")
    r = d.request("GET", f"/v1/executions/{last}")
    t.ok(r.status == 200 and r.json.get("status") == "dead" and r.json.get("attempt") == 2
         and r.json.get("parent_id") == first and r.json.get("error"),
         "last attempt: dead, attempt 2, parent_id = first, error set", f"{r}")

    r = d.request("GET", f"/v1/dead-letters?action_id={fa['id']}")
    items = (r.json or {}).get("items", [])
    t.ok(r.status == 200 and len(items) >= 1 and "next_cursor" in r.json,
         "GET /v1/dead-letters?action_id= lists it", f"{r}")
    if not items:
        return
    dl = items[0]
    dead_exec = dl.get("execution_id", dl.get("id"))
    t.is_(dead_exec, last, "the dead letter is the last attempt")
    r = d.request("GET", f"/v1/dead-letters/{dl['id']}")
    t.is_(r.status, 200, "GET /v1/dead-letters/{id}")

    r = d.request("POST", f"/v1/dead-letters/{dl['id']}/replay", {"input": {"edited": True}})
    rid = (r.json or {}).get("execution_id")
    t.ok(r.status == 202 and rid, "replay with edited input -> 202 {execution_id}", f"{r}")
    r = d.request("GET", f"/v1/executions/{rid}")
    t.ok(r.status == 200 and r.json.get("parent_id") == dead_exec
         and r.json.get("input") == {"edited": True},
         "the replay's parent_id is the dead execution and its input is the edited one", f"{r}")
    wait_final(d, rid)

    r = d.request("POST", "/v1/dead-letters/replay", {"action_id": fa["id"]})
    t.ok(r.status == 202 and isinstance((r.json or {}).get("replayed"), int)
         and r.json["replayed"] >= 1, "bulk replay -> 202 {replayed: N}", f"{r}")
    r = d.request("POST", f"/v1/dead-letters/{uuid.uuid4()}/replay", {})
    is_problem(r, 404, "replay of an unknown dead letter -> 404")


# ---------------------------------------------------------------- limits

def test_limits(d):
    # 413 from Content-Length, before the body is read: send only the head.
    head = (b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2000000\r\n\r\n{\"type\":")
    status, hdrs, body = d.raw_exchange(head)
    t.ok(status == 413 and hdrs.get("content-type", "").startswith(PROBLEM),
         "Content-Length over the limit -> 413 before the body", f"{status} {body[:200]!r}")
    # 413 while reading a chunked body (no Content-Length).
    chunk = b" " * 65536
    r = d.request("POST", "/v1/events", chunks=[b"{\"type\": \"a.b\", \"pad\": \""]
                  + [chunk] * 20 + [b"\"}"], headers={"Content-Type": "application/json"})
    is_problem(r, 413, "chunked body over the limit -> 413")
    r = d.request("POST", "/v1/actions", raw=b"name=x",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    is_problem(r, 415, "POST /v1/actions with a form body -> 415")
    r = d.request("POST", "/v1/actions", raw=b"", headers={"Content-Type": "application/json"})
    is_problem(r, 400, "empty body -> 400")
    r = d.request("POST", "/v1/actions", raw=b"[1, 2]",
                  headers={"Content-Type": "application/json"})
    is_problem(r, 400, "array body where an object is expected -> 400")
    deep = b"[" * 100 + b"]" * 100
    r = d.request("POST", "/v1/actions", raw=b'{"name": ' + deep + b"}",
                  headers={"Content-Type": "application/json"})
    is_problem(r, 400, "JSON nested 100 deep -> 400")
    r = d.request("GET", "/livez")
    t.is_(r.status, 200, "the server still answers after the limit tests")


def main():
    ctx = {}
    try:
        d = Daemon()
        d.start()
    except Exception as e:  # noqa: BLE001
        t.ok(False, "actiond starts", str(e))
        return t.done()
    t.ok(True, f"actiond starts and is ready on port {d.port}")
    sections = [test_service, lambda d: test_actions(d, ctx), lambda d: test_subscriptions(d, ctx),
                lambda d: test_events(d, ctx), lambda d: test_executions(d, ctx),
                lambda d: test_cancel(d, ctx), lambda d: test_explain(d, ctx),
                lambda d: test_metrics(d, ctx), lambda d: test_dead_letters(d, ctx),
                test_limits]
    try:
        for s in sections:
            try:
                s(d)
            except SystemExit:
                raise
            except Exception:  # noqa: BLE001
                t.ok(False, "a test section raised", traceback.format_exc())
    finally:
        rc = d.stop()
        t.is_(rc, 0, "SIGTERM: actiond exits 0 within 10 s")
        if t.failed:
            t.diag("daemon log tail:\n" + d.log_tail())
        d.cleanup()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
