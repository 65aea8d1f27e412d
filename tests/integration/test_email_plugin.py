#!/usr/bin/env python3
"""Integration test of the example remote plugin (plugins/email-automation)
against a real actiond, a real SMTP server and an independent signature check.

- SMTP: /usr/bin/python3 -m aiosmtpd (Debian's python3-aiosmtpd, importable
  only by the system interpreter) writing every message to a Maildir.
- actiond: tests/integration/actiond_test.py's Daemon on 127.0.0.1:0.
- The plugin: `node server.js` with ACTIOND_URL pointing at the daemon; at
  start-up it creates itself (id 87312788-df51-4002-8eca-9cfc3e3f7d8e), saves
  the signing secret to SECRET_FILE and registers its ten actions.
- send_welcome_email is dispatched through POST /api/plugins/events/automation
  and must arrive by SMTP with the right recipient and subject; a missing
  required field fails before any call; a bad signature sent straight to the
  plugin gets 401; a restarted plugin finds itself and its saved secret.
- A second plugin whose endpoint is a capture server in this test receives a
  real signed request from actiond, and the npm `standardwebhooks` package
  (tests/integration/node/verify.mjs) verifies that signature.

Skips (TAP # SKIP) only when actiond answers 404 for /api/plugins.  Emits TAP.
"""

import http.server
import json
import mailbox
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Daemon, Tap, source_dir, wait_for  # noqa: E402

PLUGIN_ID = "87312788-df51-4002-8eca-9cfc3e3f7d8e"
SLUG = "email-automation"
SYSTEM_PYTHON = "/usr/bin/python3"

t = Tap()
ROOT = source_dir()
PLUGIN_DIR = os.path.join(ROOT, "plugins", "email-automation")
ORACLE = os.path.join(ROOT, "tests", "integration", "node", "verify.mjs")


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


def http_json(method, url, body=None, headers=None, timeout=10):
    """(status, parsed JSON or None, text) of one request."""
    data = body if isinstance(body, bytes) else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and not any(k.lower() == "content-type" for k in (headers or {})):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text = r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode("utf-8", "replace")
    try:
        return status, json.loads(text) if text else None, text
    except ValueError:
        return status, None, text


def oracle(mode, doc):
    """Run verify.mjs; returns its first output line."""
    p = subprocess.run(["node", ORACLE, mode], input=json.dumps(doc), capture_output=True,
                       text=True, timeout=30)
    return (p.stdout.strip() or p.stderr.strip()).splitlines()[0] if (p.stdout or p.stderr) else ""


class Procs:
    """Child processes (SMTP server, plugin) stopped at the end, by pid."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.items = {}

    def start(self, name, argv, env=None, cwd=None):
        log = open(os.path.join(self.tmp, f"{name}.log"), "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.items[name] = (subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                             env=full_env, cwd=cwd), log)
        return self.items[name][0]

    def stop(self, name):
        proc, log = self.items.pop(name, (None, None))
        if not proc:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()

    def log(self, name, n=30):
        try:
            with open(os.path.join(self.tmp, f"{name}.log"), "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop_all(self):
        for name in list(self.items):
            self.stop(name)


def messages_to(maildir, recipient):
    box = mailbox.Maildir(maildir, create=False)
    return [m for m in box if recipient in (m.get("To") or "")]


class Capture(http.server.BaseHTTPRequestHandler):
    """Records each POST (headers, raw body) and answers {"captured": true}."""

    seen = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        Capture.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
        out = b'{"captured": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def start_plugin(procs, name, d, port, smtp_port, secret_file):
    env = {"PORT": str(port), "ACTIOND_URL": f"http://127.0.0.1:{d.port}",
           "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "SECRET_FILE": secret_file}
    env.pop("WEBHOOK_SECRET", None)
    procs.start(name, ["node", "server.js"], env=env, cwd=PLUGIN_DIR)

    def registered():
        try:
            st, j, _ = http_json("GET", f"http://127.0.0.1:{port}/health", timeout=2)
            return st == 200 and j and j.get("registered")
        except OSError:
            return False

    return wait_for(registered, 30, 0.1)


def dispatch(d, flow, events):
    return d.request("POST", "/api/plugins/events/automation",
                     {"flow_execution_id": flow, "events": events}, timeout=60)


def test_plugin_flow(d, procs, tmp, smtp_port, maildir):
    plugin_port = free_port()
    secret_file = os.path.join(tmp, "plugin.secret")
    base = f"http://127.0.0.1:{plugin_port}"

    ok = t.ok(start_plugin(procs, "plugin", d, plugin_port, smtp_port, secret_file),
              "the plugin starts, creates itself and registers", procs.log("plugin"))
    if not ok:
        return
    r = d.request("GET", f"/api/plugins/{SLUG}")
    t.is_(r.status, 200, "GET /api/plugins/email-automation")
    doc = (r.json or {}).get("plugin", r.json or {})
    t.is_(doc.get("id"), PLUGIN_ID, "created with the seed's plugin id")
    t.is_(doc.get("api_endpoint"), base, "api_endpoint is the plugin's address")
    with open(secret_file) as f:
        secret = f.read().strip()
    t.ok(secret.startswith("whsec_"), "the create answer's secret was saved")
    t.ok(secret not in r.text, "GET never shows the full secret")
    r = d.request("GET", f"/api/plugins/actions?plugin={SLUG}")
    actions = (r.json or {}).get("actions", [])
    t.is_(len(actions), 10, "ten actions are discoverable")
    t.ok(all(a.get("plugin_id") == PLUGIN_ID and a.get("category") == "email" for a in actions),
         "each with plugin_id and category email")

    payload = {"user_id": "user_456", "email": "customer@example.com", "first_name": "John",
               "template_id": "welcome_v2"}
    r = dispatch(d, "it_email_1", [{"action_type": "send_welcome_email", "plugin_id": PLUGIN_ID,
                                    "payload": payload}])
    t.is_(r.status, 200, "dispatch answers 200")
    res = ((r.json or {}).get("results") or [{}])[0]
    t.ok(res.get("success") is True, "send_welcome_email succeeds", r.text[:600],
         procs.log("plugin"))
    result = res.get("result") or {}
    t.ok(result.get("success") is True and result.get("message_id"),
         "the result is the plugin's answer with a message id", json.dumps(result))
    t.is_((r.json or {}).get("summary"), {"total": 1, "successful": 1, "failed": 0}, "summary")
    t.ok(res.get("execution_id"), "the event has an execution id")
    if res.get("execution_id"):
        t.is_(d.request("GET", f"/v1/executions/{res['execution_id']}").status, 200,
              "the execution is recorded")
    mails = wait_for(lambda: messages_to(maildir, "customer@example.com"), 10)
    t.ok(mails and len(mails) == 1, "the mail arrived at the SMTP server", procs.log("smtp"))
    if mails:
        m = mails[0]
        t.is_(m.get("Subject"), "Welcome aboard!", "subject")
        t.is_(m.get("Message-ID"), result.get("message_id"), "message id matches the result")
        t.ok(any("Hi John," in (p.get_payload(decode=True) or b"").decode()
                 for p in m.walk() if p.get_content_type() == "text/plain"),
             "the text part greets the user by name")

    r = dispatch(d, "it_email_2", [{"action_type": "send_welcome_email", "plugin_id": PLUGIN_ID,
                                    "payload": {"user_id": "u2", "email": None}}])
    res = ((r.json or {}).get("results") or [{}])[0]
    t.ok(res.get("success") is False and "email" in json.dumps(res.get("error")),
         "a null required field fails naming it", r.text[:400])
    t.ok(not messages_to(maildir, "u2"), "and nothing was sent")

    # Straight to the plugin: bad and missing signatures, then a good one
    # made by the npm package with a missing field.
    body = json.dumps({"user_id": "x", "email": "evil@example.com"}).encode()
    ts = str(int(time.time()))
    st, j, _ = http_json("POST", f"{base}/actions/send-welcome-email", body,
                         {"webhook-id": "msg_evil", "webhook-timestamp": ts,
                          "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="})
    t.is_(st, 401, "a bad signature gets 401")
    t.ok(j and j.get("success") is False and "signature" in j.get("error", ""),
         "with a JSON error", json.dumps(j))
    st, _, _ = http_json("POST", f"{base}/actions/send-welcome-email", body)
    t.is_(st, 401, "no signature gets 401")
    body = json.dumps({"user_id": "x"}).encode()
    sig = oracle("sign", {"id": "msg_ok", "timestamp": ts, "body": body.decode(), "secret": secret})
    st, j, _ = http_json("POST", f"{base}/actions/send-welcome-email", body,
                         {"webhook-id": "msg_ok", "webhook-timestamp": ts,
                          "webhook-signature": sig})
    t.is_(st, 400, "a valid signature with a missing field gets 400")
    t.is_((j or {}).get("error"), "Missing required field: email", "naming the field")
    t.ok(not messages_to(maildir, "evil@example.com"), "no mail for rejected calls")

    # Restart: the plugin exists now; it must load the saved secret.
    procs.stop("plugin")
    t.ok(start_plugin(procs, "plugin2", d, plugin_port, smtp_port, secret_file),
         "a restarted plugin finds itself and registers again", procs.log("plugin2"))
    r = dispatch(d, "it_email_3", [{"action_type": "send_welcome_email", "plugin_id": PLUGIN_ID,
                                    "payload": {"user_id": "u3", "email": "again@example.com"}}])
    res = ((r.json or {}).get("results") or [{}])[0]
    t.ok(res.get("success") is True, "dispatch works after the restart", r.text[:400])
    t.ok(wait_for(lambda: messages_to(maildir, "again@example.com"), 10), "and the mail arrives")
    procs.stop("plugin2")


def test_signature_oracle(d):
    """actiond signs a real request; the npm package verifies it."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        r = d.request("POST", "/api/plugins", {
            "name": "Capture", "slug": "it-capture", "status": "active",
            "api_endpoint": f"http://127.0.0.1:{srv.server_address[1]}"})
        t.ok(r.status == 201, "create a capture plugin", r.text[:300])
        created = (r.json or {}).get("plugin", r.json or {})
        secret = (r.json or {}).get("secret") or created.get("secret")
        t.ok(isinstance(secret, str) and secret.startswith("whsec_"),
             "the create answer shows the secret once")
        r = d.request("POST", "/api/plugins/it-capture/register-actions", {"actions": [
            {"action_type": "capture_it", "title": "Capture", "required_fields": [],
             "endpoint": "/hook"}]})
        t.ok(r.status in (200, 201), "register its action", r.text[:300])
        payload = {"text": "h\u00e9llo \u2603", "n": 1}
        r = dispatch(d, "it_oracle", [{"action_type": "capture_it", "plugin_id": created.get("id"),
                                       "payload": payload}])
        res = ((r.json or {}).get("results") or [{}])[0]
        t.ok(res.get("success") is True, "the capture call succeeds", r.text[:400])
        if not Capture.seen:
            t.ok(False, "the capture server got the request")
            return
        hdrs, body = Capture.seen[-1]
        t.is_(json.loads(body), payload, "the body is the payload")
        t.is_(hdrs.get("content-type"), "application/json", "Content-Type")
        t.ok(hdrs.get("user-agent", "").startswith("actiond/"), "User-Agent names actiond")
        doc = {"id": hdrs.get("webhook-id"), "timestamp": hdrs.get("webhook-timestamp"),
               "signature": hdrs.get("webhook-signature"), "body": body.decode(), "secret": secret}
        t.is_(oracle("verify", doc), "ok", "npm standardwebhooks verifies actiond's signature")
        doc["body"] = doc["body"].replace("1", "2")
        t.ok(oracle("verify", doc).startswith("fail"), "and refuses a changed body")
    finally:
        srv.shutdown()
        srv.server_close()


def main():
    tmp = tempfile.mkdtemp(prefix="actiond-email-it-")
    procs = Procs(tmp)
    maildir = os.path.join(tmp, "maildir")
    try:
        deps = subprocess.run([os.path.join(ROOT, "scripts", "npm-deps.sh")],
                              capture_output=True, text=True)
        if not t.ok(deps.returncode == 0, "npm dependencies are installed", deps.stderr[-800:]):
            return
        smtp_port = free_port()
        procs.start("smtp", [SYSTEM_PYTHON, "-m", "aiosmtpd", "-n", "-l",
                             f"127.0.0.1:{smtp_port}", "-c", "aiosmtpd.handlers.Mailbox", maildir])
        if not t.ok(wait_for(lambda: port_open(smtp_port), 15), "the SMTP server listens",
                    procs.log("smtp")):
            return
        with Daemon() as d:
            r = d.request("GET", "/api/plugins")
            if r.status == 404:
                t.skip("actiond has no /api/plugins routes (404)", "email plugin flow")
                return
            t.is_(r.status, 200, "GET /api/plugins answers")
            test_plugin_flow(d, procs, tmp, smtp_port, maildir)
            test_signature_oracle(d)
    except Exception:  # a crash is a failure with its traceback, never a skip
        t.ok(False, "the test ran to the end", traceback.format_exc())
    finally:
        procs.stop_all()
        if os.environ.get("ACT_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)


main()
sys.exit(t.done())
