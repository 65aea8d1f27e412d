"""Integration: the provider preset kinds (sms, slack, push, graphql,
external_api, serverless_aws, serverless_azure) against loopback IMITATIONS
of the providers (provider_imitations.py: Twilio, Slack, FCM, a GraphQL
server, a REST API, Lambda with an independent SigV4 verifier, Azure
Functions), through the real daemon.

The daemon runs with --egress-allow 127.0.0.0/8 (loopback is refused
otherwise).  Each case creates the action through the API, subscribes it,
posts an event, waits for the final execution, and asserts its output (or
error) and what the imitation received.  Bad specs are refused with 422
naming the field; secrets are redacted in API output.
"""

import base64
import json
import os
import sys
import time
from urllib.parse import parse_qs

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Daemon, Tap, chain_final, wait_final  # noqa: E402
import provider_imitations as pi  # noqa: E402

t = Tap()
FINAL = {"succeeded", "dead", "cancelled"}
NO_RETRY = {"max_retries": 0}
SESSION_TOKEN = "FQoGZXIvYXdzEImitationSessionToken"



def last_attempt(d, doc):
    """The last attempt of a chain as a full execution document."""
    last = chain_final(doc)
    if last.get("id") and last.get("id") != (doc or {}).get("id"):
        r = d.request("GET", f"/v1/executions/{last['id']}")
        if r.status == 200:
            return r.json
    return doc or {}


def create(d, name, handler, config=None, retry=None):
    body = {"name": name, "handler": handler, "config": config or {}}
    if retry is not None:
        body["retry_policy"] = retry
    r = d.request("POST", "/v1/actions", body)
    if r.status != 201:
        t.diag(f"create {name}: {r}")
        return None
    s = d.request("POST", "/v1/subscriptions", {"action_id": r.json["id"],
                                                "event_patterns": [f"prov.{name}"]})
    if s.status != 201:
        t.diag(f"subscribe {name}: {s}")
    return r.json


def run(d, name, handler, config=None, data=None, retry=NO_RETRY):
    """Create, subscribe, post one event; (chain doc, last attempt doc, action)."""
    a = create(d, name, handler, config, retry)
    if not a:
        return None, {}, None
    r = d.request("POST", "/v1/events", {"type": f"prov.{name}", "source": "it",
                                         "data": data or {}})
    ids = [e["id"] for e in (r.json or {}).get("executions", [])]
    if len(ids) != 1:
        t.diag(f"post event {name}: {r}")
        return None, {}, a
    doc = wait_final(d, ids[0])
    if not doc:
        t.diag(f"{name}: no final status")
    return doc, last_attempt(d, doc), a


def form_of(rec):
    return {k: v[0] for k, v in parse_qs(rec["body"].decode(), strict_parsing=True).items()}


def refused(d, handler, config, field, what):
    r = d.request("POST", "/v1/actions", {"name": "bad", "handler": handler,
                                          "config": config or {}})
    t.ok(r.status == 422 and (r.json or {}).get("field") == field,
         f"{what}: 422 naming {field}", r)


# ---- cases ----

def test_listed(d):
    r = d.request("GET", "/v1/handlers")
    kinds = {h["kind"]: h for h in (r.json or {}).get("items", [])}
    want = ["sms", "slack", "push", "graphql", "external_api", "serverless_aws",
            "serverless_azure"]
    t.ok(all(k in kinds and kinds[k].get("available") for k in want),
         "GET /v1/handlers lists the seven preset kinds", sorted(kinds))
    t.ok(all("async" in kinds.get(k, {}).get("capabilities", []) for k in want),
         "each runs on the HTTP loop (async)")


def test_sms(d, im):
    cfg = {"account_sid": pi.TWILIO_SID, "auth_token": pi.TWILIO_TOKEN}
    doc, last, a = run(d, "sms1", {"kind": "sms", "to": "{{ event.data.phone }}",
                                   "from": "+15557654321",
                                   "body": "Order {{ event.data.order }} shipped & paid",
                                   "base_url": im.base}, cfg,
                       {"phone": "+15551234567", "order": 7})
    out = last.get("output") or {}
    t.is_(last.get("status"), "succeeded", "sms: succeeded")
    t.ok(str(out.get("sid", "")).startswith("SM") and out.get("status") == "queued",
         "sms: the output is Twilio's message (sid, status)", out)
    recs = im.records("twilio")
    rec = recs[-1] if recs else {"headers": {}, "body": b"To=x"}
    t.is_(rec["path"], f"/2010-04-01/Accounts/{pi.TWILIO_SID}/Messages.json",
          "sms: POSTed to the account's Messages.json")
    t.is_(form_of(rec), {"To": "+15551234567", "From": "+15557654321",
                         "Body": "Order 7 shipped & paid"},
          "sms: the Twilio imitation got To, From, Body form-encoded")
    t.is_(rec["headers"].get("authorization"), "Basic " + base64.b64encode(
        f"{pi.TWILIO_SID}:{pi.TWILIO_TOKEN}".encode()).decode(), "sms: Basic sid:token")
    got = d.request("GET", f"/v1/actions/{(a or {}).get('id')}").json or {}
    t.is_((got.get("config") or {}).get("auth_token"), "***",
          "sms: config.auth_token is redacted in API output")

    doc, last, _ = run(d, "sms2", {"kind": "sms", "to": "+1", "from": "+2", "body": "x",
                                   "base_url": im.base},
                       {"account_sid": pi.TWILIO_SID, "auth_token": "wrong"})
    t.ok(last.get("status") == "dead" and str(last.get("error", "")).startswith("HTTP 401"),
         "sms: a wrong auth token is refused by the imitation (HTTP 401)", last)


def test_slack(d, im):
    cfg = {"webhook_url": im.base + pi.SLACK_PATH}
    doc, last, a = run(d, "slack1", {"kind": "slack", "text": "Deploy {{ event.data.n }} done",
                                     "channel": "#ops", "blocks": "{{ event.data.blocks }}"},
                       cfg, {"n": 42, "blocks": [{"type": "divider"}]})
    t.is_(last.get("status"), "succeeded", "slack: succeeded")
    t.is_(last.get("output"), {"ok": True}, "slack: 'ok' becomes {ok: true}")
    recs = im.records("slack")
    body = json.loads(recs[-1]["body"]) if recs else {}
    t.is_(body, {"text": "Deploy 42 done", "channel": "#ops", "blocks": [{"type": "divider"}]},
          "slack: the imitation got the JSON message")
    got = d.request("GET", f"/v1/actions/{(a or {}).get('id')}").json or {}
    t.is_((got.get("config") or {}).get("webhook_url"), "***",
          "slack: config.webhook_url (it holds the token) is redacted")

    before = len(im.records("slack"))
    doc, last, _ = run(d, "slack2", {"kind": "slack", "text": "{{ event.data.n }}"}, cfg,
                       {"n": 5}, retry={"max_retries": 3, "initial_delay_ms": 50})
    t.ok(last.get("status") == "dead" and last.get("error") == "HTTP 400: invalid_payload",
         "slack: 400 invalid_payload fails with Slack's text", last)
    time.sleep(0.3)  # a retry (50 ms) would have arrived by now
    t.ok(len((doc or {}).get("lineage") or [doc]) == 1 and
         len(im.records("slack")) - before == 1,
         "slack: and is not retried (permanent)", doc)


def test_push(d, im):
    doc, last, _ = run(d, "push1", {"kind": "push", "project_id": "proj-1",
                                    "token": "{{ event.data.device }}",
                                    "title": "Order {{ event.data.order }}", "body": "shipped",
                                    "data": {"order": "{{ event.data.order }}", "k": "v"},
                                    "base_url": im.base},
                       {"access_token": pi.FCM_TOKEN}, {"device": "dev-abc", "order": 7})
    out = last.get("output") or {}
    t.is_(last.get("status"), "succeeded", "push: succeeded")
    t.ok(str(out.get("name", "")).startswith("projects/proj-1/messages/"),
         "push: the output is FCM's {name}", out)
    recs = im.records("fcm")
    rec = recs[-1] if recs else {"headers": {}, "body": b"{}", "path": ""}
    t.is_(rec["path"], "/v1/projects/proj-1/messages:send", "push: POSTed to messages:send")
    t.is_(rec["headers"].get("authorization"), "Bearer " + pi.FCM_TOKEN, "push: Bearer token")
    t.is_(json.loads(rec["body"]), {"message": {"token": "dev-abc", "notification": {
        "title": "Order 7", "body": "shipped"}, "data": {"order": "7", "k": "v"}}},
        "push: the FCM imitation got the message, data values as strings")


GQL = ("mutation AddItem($name: String!, $qty: Int!) "
       "{ addItem(name: $name, qty: $qty) { id name qty } }")


def test_graphql(d, im):
    spec = {"kind": "graphql", "url": im.base + "/graphql", "query": GQL,
            "operation_name": "AddItem",
            "variables": {"name": "{{ event.data.name }}", "qty": "{{ event.data.qty }}"},
            "headers": {"X-Request": "{{ execution.id }}"}}
    doc, last, _ = run(d, "gql1", spec, {"token": pi.GRAPHQL_TOKEN}, {"name": "widget", "qty": 3})
    out = last.get("output") or {}
    t.is_(last.get("status"), "succeeded", "graphql: succeeded")
    t.ok((out.get("addItem") or {}).get("name") == "widget" and out["addItem"].get("qty") == 3,
         "graphql: the output is the data member, typed variables executed", out)
    recs = im.records("graphql")
    req = json.loads(recs[-1]["body"]) if recs else {}
    t.is_(req.get("variables"), {"name": "widget", "qty": 3}, "graphql: variables keep types")
    t.is_(recs[-1]["headers"].get("authorization") if recs else None,
          "Bearer " + pi.GRAPHQL_TOKEN, "graphql: Bearer token")

    doc, last, _ = run(d, "gql2", spec, {"token": pi.GRAPHQL_TOKEN}, {"name": "boom", "qty": 1})
    t.ok(last.get("status") == "dead" and
         last.get("error") == "graphql error: item 'boom' is out of stock",
         "graphql: 200 with errors fails with the first message", last)
    det = last.get("error_detail") or {}
    t.ok(det.get("status") == 200 and (det.get("errors") or [{}])[0].get("path") == ["addItem"],
         "graphql: error_detail carries the errors", det)

    doc, last, _ = run(d, "gql3", spec, {"token": pi.GRAPHQL_TOKEN},
                       {"name": "widget", "qty": "three"})
    t.ok(last.get("status") == "dead" and "Variable \"$qty\"" in str(last.get("error")),
         "graphql: a variable of the wrong type is the server's error", last)


def test_external_api(d, im):
    doc, last, _ = run(d, "rest1", {"kind": "external_api", "method": "GET",
                                    "url": im.base + "/rest/secure/items",
                                    "query": {"q": "{{ event.data.q }}", "tags": ["a", "b"],
                                              "limit": 10},
                                    "auth": {"type": "api_key", "header": "X-Key"}},
                       {"api_key": "k1"}, {"q": "red shoes & more/é"})
    out = last.get("output") or {}
    t.is_(last.get("status"), "succeeded", "external_api GET: succeeded")
    t.is_(out.get("query"), {"q": ["red shoes & more/é"], "tags": ["a", "b"], "limit": ["10"]},
          "external_api: the query arrived encoded and decodes back")
    t.ok(out.get("method") == "GET" and out.get("x_key") == "k1" and out.get("body") is None,
         "external_api: GET with the API key header, no body", out)

    doc, last, _ = run(d, "rest2", {"kind": "external_api", "method": "POST",
                                    "url": im.base + "/rest/orders",
                                    "body": {"order": "{{ event.data.order }}", "fixed": True},
                                    "auth": {"type": "basic"}},
                       {"username": "svc", "password": "pw:1"}, {"order": 9})
    out = last.get("output") or {}
    t.ok(out.get("body") == {"order": 9, "fixed": True} and
         out.get("content_type") == "application/json",
         "external_api POST: the JSON body, typed", out)
    t.is_(out.get("authorization"), "Basic " + base64.b64encode(b"svc:pw:1").decode(),
          "external_api: Basic username:password")

    doc, last, _ = run(d, "rest3", {"kind": "external_api", "method": "PUT",
                                    "url": im.base + "/rest/charges", "encoding": "form",
                                    "body": {"amount": "{{ event.data.n }}", "currency": "eur"},
                                    "auth": {"type": "bearer"}}, {"token": "sk_test"}, {"n": 250})
    out = last.get("output") or {}
    t.ok(out.get("method") == "PUT" and out.get("body") == "amount=250&currency=eur" and
         out.get("content_type") == "application/x-www-form-urlencoded" and
         out.get("authorization") == "Bearer sk_test",
         "external_api PUT: a form body with Bearer auth", out)

    doc, last, _ = run(d, "rest4", {"kind": "external_api", "method": "GET",
                                    "url": im.base + "/rest/text"})
    t.is_(last.get("output"), {"status": 200, "body": "plain words"},
          "external_api: a non-JSON answer is {status, body}")

    doc, last, _ = run(d, "rest5", {"kind": "external_api", "method": "GET",
                                    "url": im.base + "/rest/secure/x"})
    t.ok(last.get("status") == "dead" and str(last.get("error", "")).startswith("HTTP 401"),
         "external_api: without auth the imitation answers 401", last)


def test_lambda(d, im):
    cfg = {"access_key_id": pi.AWS_KEY_ID, "secret_access_key": pi.AWS_SECRET,
           "session_token": SESSION_TOKEN}
    before = len(im.sigv4_results)
    doc, last, a = run(d, "aws1", {"kind": "serverless_aws", "function": "hello",
                                   "region": pi.AWS_REGION, "qualifier": "prod",
                                   "payload": {"name": "{{ event.data.name }}"},
                                   "endpoint": im.base}, cfg, {"name": "ada"})
    t.is_(last.get("status"), "succeeded", "lambda: succeeded", )
    t.is_(last.get("output"), {"greeting": "hello ada", "qualifier": "prod",
                               "payload": {"name": "ada"}}, "lambda: the output is the payload")
    res = im.sigv4_results[before:]
    t.ok(res and all(ok for ok, _ in res),
         "lambda: the imitation's independent SigV4 verifier accepted the signature", res)
    recs = im.records("lambda")
    h = recs[-1]["headers"] if recs else {}
    t.ok(h.get("x-amz-security-token") == SESSION_TOKEN and
         "x-amz-security-token" in h.get("authorization", "") and
         h.get("x-amz-invocation-type") == "RequestResponse",
         "lambda: session token sent and signed; RequestResponse", h)
    got = d.request("GET", f"/v1/actions/{(a or {}).get('id')}").json or {}
    c = got.get("config") or {}
    t.ok(c.get("secret_access_key") == "***" and c.get("session_token") == "***",
         "lambda: the secret key and session token are redacted", c)

    arn = f"arn:aws:lambda:{pi.AWS_REGION}:123456789012:function:hello"
    before = len(im.sigv4_results)
    doc, last, _ = run(d, "aws2", {"kind": "serverless_aws", "function": arn,
                                   "region": pi.AWS_REGION, "endpoint": im.base}, cfg,
                       {"name": "bob"})
    t.is_((last.get("output") or {}).get("greeting"), "hello bob",
          "lambda: an ARN (percent-encoded in the path) invokes, input as payload")
    recs = im.records("lambda")
    t.ok(recs and "arn%3Aaws%3Alambda" in recs[-1]["path"] and
         all(ok for ok, _ in im.sigv4_results[before:]),
         "lambda: the encoded ARN path verifies (double-encoded canonical URI)",
         recs[-1]["path"] if recs else None)

    doc, last, _ = run(d, "aws3", {"kind": "serverless_aws", "function": "hello",
                                   "region": pi.AWS_REGION, "invocation_type": "Event",
                                   "endpoint": im.base}, cfg, {"x": 1})
    t.is_(last.get("output"), {"status": 202}, "lambda: Event answers {status: 202}")

    doc, last, _ = run(d, "aws4", {"kind": "serverless_aws", "function": "crash",
                                   "region": pi.AWS_REGION, "endpoint": im.base}, cfg, {})
    t.ok(last.get("status") == "dead" and last.get("error") ==
         "lambda function error (Unhandled): Error: boom: the function crashed",
         "lambda: X-Amz-Function-Error fails with the function's errorMessage", last)
    det = last.get("error_detail") or {}
    t.ok(det.get("function_error") == "Unhandled" and
         (det.get("payload") or {}).get("errorType") == "Error",
         "lambda: error_detail carries the function's error payload", det)

    before = len(im.sigv4_results)
    bad = dict(cfg, secret_access_key="not-the-secret")
    doc, last, _ = run(d, "aws5", {"kind": "serverless_aws", "function": "hello",
                                   "region": pi.AWS_REGION, "endpoint": im.base}, bad, {})
    res = im.sigv4_results[before:]
    t.ok(res and not res[-1][0] and res[-1][1] == "signature does not match",
         "lambda: the verifier rejects a signature made with another secret", res)
    t.ok(last.get("status") == "dead" and str(last.get("error", "")).startswith("HTTP 403") and
         "signature" in str(last.get("error")),
         "lambda: ... and the attempt fails with the imitation's 403", last)


def test_azure(d, im):
    doc, last, a = run(d, "az1", {"kind": "serverless_azure", "url": im.base + "/api/orders"},
                       {"function_key": pi.AZURE_KEY}, {"order": 3})
    t.is_(last.get("output"), {"function": "orders", "method": "POST", "body": {"order": 3}},
          "azure: POST with the input; the output is the JSON answer")
    recs = im.records("azure")
    t.is_(recs[-1]["headers"].get("x-functions-key") if recs else None, pi.AZURE_KEY,
          "azure: x-functions-key sent")
    got = d.request("GET", f"/v1/actions/{(a or {}).get('id')}").json or {}
    t.is_((got.get("config") or {}).get("function_key"), "***",
          "azure: config.function_key is redacted")
    doc, last, _ = run(d, "az2", {"kind": "serverless_azure", "url": im.base + "/api/orders",
                                  "method": "PATCH", "body": {"id": "{{ event.data.order }}"}},
                       {"function_key": pi.AZURE_KEY}, {"order": 4})
    t.is_(last.get("output"), {"function": "orders", "method": "PATCH", "body": {"id": 4}},
          "azure: method and body template")
    doc, last, _ = run(d, "az3", {"kind": "serverless_azure", "url": im.base + "/api/orders"},
                       {"function_key": "wrong"}, {})
    t.ok(last.get("status") == "dead" and last.get("error") == "HTTP 401",
         "azure: a wrong key is refused by the imitation (HTTP 401)", last)


def test_refused_specs(d, im):
    tw = {"account_sid": pi.TWILIO_SID, "auth_token": "x"}
    refused(d, {"kind": "sms", "from": "+1", "body": "x"}, tw, "handler.to", "sms without to")
    refused(d, {"kind": "sms", "to": "+1", "body": "x"}, tw, "handler.from",
            "sms without a sender")
    refused(d, {"kind": "sms", "to": "+1", "from": "+2", "body": "x"}, {"account_sid": "AC1"},
            "config.auth_token", "sms without auth_token")
    refused(d, {"kind": "slack", "text": "x"}, {}, "config.webhook_url",
            "slack without a webhook URL")
    refused(d, {"kind": "push", "project_id": "p", "title": "x"}, {"access_token": "t"},
            "handler.token", "push without a target")
    refused(d, {"kind": "graphql", "url": im.base + "/graphql", "query": "{ a }",
                "variables": [1]}, {}, "handler.variables", "graphql with list variables")
    refused(d, {"kind": "external_api", "url": im.base + "/rest/x", "method": "GET",
                "auth": {"type": "bearer"}}, {}, "config.token", "external_api bearer without token")
    refused(d, {"kind": "serverless_aws", "function": "f", "region": "us east"},
            {"access_key_id": "AK", "secret_access_key": "s"}, "handler.region",
            "serverless_aws with a bad region")
    refused(d, {"kind": "serverless_azure", "url": "ftp://h/api/f"}, {"function_key": "k"},
            "handler.url", "serverless_azure with an ftp URL")


def main():
    with pi.Imitations(aws_session_token=SESSION_TOKEN) as im:
        with Daemon(extra_args=["--egress-allow", "127.0.0.0/8"]) as d:
            test_listed(d)
            test_sms(d, im)
            test_slack(d, im)
            test_push(d, im)
            test_graphql(d, im)
            test_external_api(d, im)
            test_lambda(d, im)
            test_azure(d, im)
            test_refused_specs(d, im)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
