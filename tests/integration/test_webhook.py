"""Integration: kind `webhook` against a real receiver on loopback.

The receiver (node/receiver.mjs) verifies every delivery with the npm
`standardwebhooks` package and records it.  The daemon runs with
--egress-allow 127.0.0.0/8 (loopback is refused otherwise); a webhook action
subscribed to events delivers them signed; a retried delivery keeps its
webhook-id; a 410 ends the chain at once; and a daemon without the allow list
refuses the delivery, naming the address and the rule, without sending a byte.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Daemon, PortFilePeer, Tap, chain_final, source_dir, wait_final  # noqa: E402

t = Tap()
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FINAL = {"succeeded", "dead", "cancelled"}
NODE_DIR = os.path.join(source_dir(), "tests", "integration", "node")


class Receiver(PortFilePeer):
    """node receiver.mjs on 127.0.0.1:0; .port, .records()."""

    name = "receiver"

    def argv(self, tmp, port_file):
        return ["node", os.path.join(NODE_DIR, "receiver.mjs"), port_file, SECRET]

    def records(self):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", "/records")
            return json.loads(c.getresponse().read())
        finally:
            c.close()



def webhook_action(d, name, url, pattern, **extra):
    body = {"name": name, "handler": {"kind": "webhook", "url": url},
            "config": {"secret": SECRET}}
    body.update(extra)
    r = d.request("POST", "/v1/actions", body)
    if r.status != 201:
        t.diag(f"create {name}: {r}")
        return None
    s = d.request("POST", "/v1/subscriptions", {"action_id": r.json["id"],
                                                "event_patterns": [pattern]})
    if s.status != 201:
        t.diag(f"subscribe {name}: {s}")
    return r.json


def exec_ids(reply):
    out = []
    for res in reply.get("results", [reply]):
        out += [e["id"] for e in res.get("executions", [])]
    return out


def test_delivery(d, rc):
    r = d.request("GET", "/v1/handlers")
    kinds = {h["kind"]: h for h in (r.json or {}).get("items", [])}
    t.ok("webhook" in kinds and "async" in kinds["webhook"].get("capabilities", []),
         "GET /v1/handlers lists webhook with the async capability")

    base = f"http://127.0.0.1:{rc.port}"
    a = webhook_action(d, "wh_orders", base + "/hook", "orders.*")
    t.ok(a is not None, "a webhook action is created")
    events = [{"type": "orders.paid", "source": "it", "data": {"order": i, "amount": 10 * i}}
              for i in range(5)]
    r = d.request("POST", "/v1/events", {"events": events})
    ids = exec_ids(r.json or {})
    t.is_(len(ids), 5, "5 events -> 5 executions")
    finals = [wait_final(d, i) for i in ids]
    t.ok(all(f and chain_final(f).get("status") == "succeeded" for f in finals),
         "every delivery succeeded", [chain_final(f or {}) for f in finals])
    t.ok(all((f or {}).get("output") == {"ok": True} for f in finals),
         "the output is the receiver's JSON answer")
    recs = [x for x in rc.records() if x["path"] == "/hook"]
    t.is_(len(recs), 5, "the receiver got 5 deliveries")
    t.ok(all(x["verified"] for x in recs), "standardwebhooks verified every signature",
         [x["error"] for x in recs if not x["verified"]])
    t.is_(sorted(x["id"] for x in recs), sorted(ids), "webhook-id is the execution id")
    t.is_(sorted(json.loads(x["body"])["order"] for x in recs), list(range(5)),
          "the bodies are the events' data")


def test_retry(d, rc):
    base = f"http://127.0.0.1:{rc.port}"
    webhook_action(d, "wh_flaky", base + "/flaky", "flaky.*",
                   retry_policy={"max_retries": 2, "initial_delay_ms": 50, "backoff": "fixed",
                                 "jitter": False})
    r = d.request("POST", "/v1/events", {"type": "flaky.x", "source": "it", "data": {"n": 1}})
    ids = exec_ids(r.json or {})
    f = wait_final(d, ids[0]) if ids else None
    t.ok(f and chain_final(f).get("status") == "succeeded",
         "a delivery answered 500 is retried and succeeds", f)
    recs = [x for x in rc.records() if x["path"] == "/flaky"]
    t.is_(len(recs), 2, "two deliveries reached the receiver")
    t.ok(len(recs) == 2 and recs[0]["id"] == recs[1]["id"] == ids[0],
         "the retry kept webhook-id (the first execution's id)", [x["id"] for x in recs])
    t.ok(all(x["verified"] for x in recs), "both verified")
    t.ok(len({x["timestamp"] for x in recs}) >= 1 and all(x["timestamp"] for x in recs),
         "each delivery carries webhook-timestamp")

    gone = webhook_action(d, "wh_gone", base + "/gone", "gone.*",
                          retry_policy={"max_retries": 3, "initial_delay_ms": 50})
    r = d.request("POST", "/v1/events", {"type": "gone.x", "source": "it", "data": {}})
    ids = exec_ids(r.json or {})
    f = wait_final(d, ids[0]) if ids else None
    last = chain_final(f or {})
    t.ok(last.get("status") == "dead" and len((f or {}).get("lineage") or [f]) == 1,
         "410: dead after one attempt, no retry", f)
    t.ok("HTTP 410" in str(last.get("error", "")), "the error says HTTP 410", last)
    detail = (f or {}).get("error_detail") or {}
    t.ok(detail.get("status") == 410 and detail.get("disable") is True,
         "error_detail carries the health note {status: 410, disable: true}", detail)
    a = d.request("GET", f"/v1/actions/{(gone or {}).get('id')}").json or {}
    t.ok(a.get("enabled") is False and (a.get("health") or {}).get("status") == "disabled"
         and "410" in str((a.get("health") or {}).get("reason")),
         "a 410 disables the action, with the reason in its health", a)
    r = d.request("POST", "/v1/events", {"type": "gone.y", "source": "it", "data": {}})
    t.ok(r.status == 202 and r.json.get("executions") == [],
         "a disabled action gets no new executions", r)


def test_refused(rc):
    env = {"ACTIOND_EGRESS_ALLOW": ""}
    with Daemon(env=env) as d:
        before = len(rc.records())
        webhook_action(d, "wh_refused", f"http://127.0.0.1:{rc.port}/hook", "orders.*")
        r = d.request("POST", "/v1/events", {"type": "orders.paid", "data": {"x": 1}})
        ids = exec_ids(r.json or {})
        f = wait_final(d, ids[0]) if ids else None
        last = chain_final(f or {})
        t.is_(last.get("status"), "dead", "without egress.allow the delivery is dead")
        t.is_(last.get("error"), "refused 127.0.0.1: loopback (egress.allow does not admit it)",
              "the error names the address and the rule")
        time.sleep(0.2)
        t.is_(len(rc.records()), before, "the receiver got nothing")

    # The allow list through the environment admits it again.
    with Daemon(env={"ACTIOND_EGRESS_ALLOW": "127.0.0.0/8"}) as d:
        webhook_action(d, "wh_env", f"http://127.0.0.1:{rc.port}/hook", "orders.*")
        r = d.request("POST", "/v1/events", {"type": "orders.paid", "data": {"x": 2}})
        ids = exec_ids(r.json or {})
        f = wait_final(d, ids[0]) if ids else None
        t.is_(chain_final(f or {}).get("status"), "succeeded",
              "ACTIOND_EGRESS_ALLOW=127.0.0.0/8 admits loopback")


class TlsReceiver:
    """An HTTPS receiver on 127.0.0.1:0 (Python's http.server + ssl) with a
    self-signed certificate made by the openssl CLI for this run; it checks
    each delivery's Standard Webhooks signature itself (hmac, an independent
    implementation) and records it.  .port, .ca (the certificate file),
    .records."""

    def __enter__(self):
        import base64
        import hashlib
        import hmac
        import http.server
        import ssl
        import threading

        self.tmp = tempfile.mkdtemp(prefix="actiond-tls-")
        self.ca = os.path.join(self.tmp, "cert.pem")
        key = os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", self.ca], check=True, capture_output=True)
        self.records = []
        secret = base64.b64decode(SECRET[len("whsec_"):])
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                wid = self.headers.get("webhook-id", "")
                ts = self.headers.get("webhook-timestamp", "")
                want = base64.b64encode(hmac.new(secret, f"{wid}.{ts}.".encode() + body,
                                                 hashlib.sha256).digest()).decode()
                sigs = self.headers.get("webhook-signature", "").split()
                outer.records.append({"id": wid, "body": body.decode(),
                                      "verified": ("v1," + want) in sigs,
                                      "tls": isinstance(self.connection, ssl.SSLSocket)})
                reply = b'{"tls": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca, key)
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        self.thr = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thr.start()
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def test_https(d):
    """HTTPS: trusted through handler.ca_file, refused without it."""
    if not shutil.which("openssl"):
        t.skip("the openssl CLI is missing (it makes the test certificate)", "https")
        return
    with TlsReceiver() as tr:
        url = f"https://127.0.0.1:{tr.port}/hook"
        a = webhook_action(d, "wh_tls", url, "tls.ok")
        r = d.request("PUT", f"/v1/actions/{a['id']}",
                      {"name": "wh_tls", "handler": {"kind": "webhook", "url": url,
                                                     "ca_file": tr.ca},
                       "config": {"secret": SECRET}}) if a else None
        t.ok(r is not None and r.status == 200, "handler.ca_file is accepted", r)
        r = d.request("POST", "/v1/events", {"type": "tls.ok", "source": "it",
                                             "data": {"n": 1}})
        ids = exec_ids(r.json or {})
        f = wait_final(d, ids[0]) if ids else None
        t.ok(chain_final(f or {}).get("status") == "succeeded", "delivered over https",
             chain_final(f or {}))
        t.is_((f or {}).get("output"), {"tls": True}, "the output is the receiver's answer")
        t.ok(len(tr.records) == 1 and tr.records[0]["tls"] and tr.records[0]["verified"],
             "the receiver got one TLS request with a valid signature", tr.records)

        webhook_action(d, "wh_tls_untrusted", url, "tls.untrusted",
                       retry_policy={"max_retries": 0})
        r = d.request("POST", "/v1/events", {"type": "tls.untrusted", "source": "it"})
        ids = exec_ids(r.json or {})
        f = wait_final(d, ids[0]) if ids else None
        last = chain_final(f or {})
        t.ok(last.get("status") in ("failed", "dead") and
             "certificate" in (last.get("error") or "").lower(),
             "without ca_file the self-signed certificate is refused", last.get("error"))
        t.is_(len(tr.records), 1, "and nothing reached the receiver")


def main():
    if not shutil.which("node") or not os.path.isdir(os.path.join(NODE_DIR, "node_modules",
                                                                  "standardwebhooks")):
        t.skip("node or the standardwebhooks package is missing (run scripts/npm-deps.sh)",
               "webhook integration")
        return t.done()
    with Receiver() as rc:
        with Daemon(extra_args=["--egress-allow", "127.0.0.0/8"]) as d:
            test_delivery(d, rc)
            test_retry(d, rc)
            test_https(d)
        test_refused(rc)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
