#!/usr/bin/env python3
"""Crash safety: SIGKILL the daemon again and again while clients post events.

Two client threads post events (single events and batches of 20) as fast as
the daemon takes them and remember every event the daemon acknowledged with
a 202, together with the execution ids it returned.  Meanwhile the daemon is
killed with SIGKILL at random moments (at least 20 times, configurable with
ACT_CRASH_CYCLES) and restarted on the same data directory.  Then the daemon
runs until no execution is left pending, scheduled or running, and the test
checks, for every acknowledged event:

- the event is stored (GET /v1/events/{id}) with every execution id the 202
  named: nothing acknowledged was lost;
- every execution chain reached a final status (succeeded or dead);
- no chain used more attempts than its retry policy allows.

Actions: a noop, an echo, and a command that fails its first attempt and
succeeds on the retry (max_retries 2, 30 ms fixed delay), so retries and
recovery of scheduled and running work are exercised across the kills.
"""

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import shutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Tap, build_dir, source_dir, wait_for  # noqa: E402

CYCLES = int(os.environ.get("ACT_CRASH_CYCLES", "20"))
MAX_RETRIES = 2


class Proc:
    """The daemon on a fixed data directory, restartable."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.data = os.path.join(tmp, "data")
        self.port_file = os.path.join(tmp, "port")
        self.proc = None
        self.port = None
        self.log = open(os.path.join(tmp, "actiond.log"), "ab")

    def start(self):
        try:
            os.unlink(self.port_file)
        except OSError:
            pass
        self.proc = subprocess.Popen(
            [os.path.join(build_dir(), "actiond"), "--listen", "127.0.0.1:0", "--data-dir",
             self.data, "--port-file", self.port_file, "--workers", "4"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=source_dir())

        def port():
            if self.proc.poll() is not None:
                raise RuntimeError("actiond exited with %s" % self.proc.returncode)
            try:
                with open(self.port_file) as f:
                    s = f.read().strip()
                return int(s) if s.isdigit() else None
            except OSError:
                return None

        self.port = wait_for(port, 30)
        if not self.port:
            raise RuntimeError("no port file")
        if not wait_for(lambda: self.try_status("/readyz") == 200, 30):
            raise RuntimeError("never ready")

    def try_status(self, path):
        try:
            return self.request("GET", path, timeout=2)[0]
        except OSError:
            return None

    def request(self, method, path, body=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data,
                         headers={"Content-Type": "application/json"} if data else {})
            r = conn.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
        finally:
            conn.close()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def term(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


class Poster(threading.Thread):
    """Posts events until stopped; records what was acknowledged."""

    def __init__(self, d, seed, acked, lock, stop):
        super().__init__(daemon=True)
        self.d, self.rnd, self.acked, self.lock, self.stop = d, random.Random(seed), acked, lock, stop
        self.seed = seed
        self.n = 0

    def event(self):
        self.n += 1
        kind = self.rnd.choice(["crash.noop", "crash.echo", "crash.flaky"])
        return {"type": kind, "id": "c%d-%d" % (self.seed, self.n), "source": "/crash",
                "data": {"n": self.n, "seed": self.seed}}

    def run(self):
        conn = None
        while not self.stop.is_set():
            batch = self.rnd.random() < 0.5
            evs = [self.event() for _ in range(20 if batch else 1)]
            body = {"events": evs} if batch else evs[0]
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=10)
                conn.request("POST", "/v1/events", body=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                raw = r.read()
            except (OSError, http.client.HTTPException):
                if conn:
                    conn.close()
                conn = None
                time.sleep(0.02)
                continue
            if r.status != 202:
                continue
            reply = json.loads(raw)
            replies = reply["results"] if batch else [reply]
            with self.lock:
                for ev, rep in zip(evs, replies):
                    if "event_id" in rep:
                        self.acked.append((ev["type"], rep["event_id"],
                                           [x["id"] for x in rep["executions"]]))


def setup_actions(d):
    flaky = ("grep -q '\"attempt\":1[,}]' && { echo first attempt fails >&2; exit 1; };"
             " echo '{\"ok\":true}'")
    specs = [
        ({"name": "c-noop", "handler": {"kind": "noop"}}, "crash.noop"),
        ({"name": "c-echo", "handler": {"kind": "echo"}}, "crash.echo"),
        ({"name": "c-flaky", "handler": {"kind": "command", "argv": ["/bin/sh", "-c", flaky]},
          "retry_policy": {"max_retries": MAX_RETRIES, "backoff": "fixed", "initial_delay_ms": 30,
                           "max_delay_ms": 30, "jitter": False}}, "crash.flaky"),
    ]
    for action, pattern in specs:
        st, a = d.request("POST", "/v1/actions", action)
        assert st == 201, (st, a)
        st, s = d.request("POST", "/v1/subscriptions",
                          {"action_id": a["id"], "event_patterns": [pattern]})
        assert st == 201, (st, s)


def main():
    t = Tap()
    tmp = tempfile.mkdtemp(prefix="actiond-crash-")
    d = Proc(tmp)
    acked, lock, stop = [], threading.Lock(), threading.Event()
    try:
        d.start()
        setup_actions(d)
        posters = [Poster(d, s, acked, lock, stop) for s in (1, 2)]
        for p in posters:
            p.start()
        rnd = random.Random(7)
        kills = 0
        for _ in range(CYCLES):
            time.sleep(rnd.uniform(0.15, 0.6))
            d.kill()
            kills += 1
            time.sleep(rnd.uniform(0.0, 0.1))
            d.start()
        time.sleep(0.5)
        stop.set()
        for p in posters:
            p.join(15)
        t.ok(kills >= 20, "killed the daemon %d times with SIGKILL under load" % kills)
        t.ok(len(acked) > 200, "%d events acknowledged across the kills" % len(acked))

        def settled():
            for status in ("pending", "scheduled", "running"):
                st, page = d.request("GET", "/v1/executions?status=%s&limit=1" % status)
                if st != 200 or page["items"]:
                    return False
            return True

        t.ok(wait_for(settled, 120, 0.5), "every execution reaches a final status")

        lost, unfinished, over, missing_exec = [], [], [], []
        for typ, event_id, exec_ids in acked:
            st, ev = d.request("GET", "/v1/events/%s" % event_id)
            if st != 200:
                lost.append(event_id)
                continue
            stored = {x["id"]: x for x in ev["executions"]}
            for xid in exec_ids:
                if xid not in stored:
                    missing_exec.append(xid)
                    continue
                st, x = d.request("GET", "/v1/executions/%s" % xid)
                tail = x["lineage"][-1]
                if tail["status"] not in ("succeeded", "dead"):
                    unfinished.append((xid, tail["status"]))
                if len(x["lineage"]) > MAX_RETRIES + 1 or tail["attempt"] > MAX_RETRIES + 1:
                    over.append((xid, len(x["lineage"])))
        t.is_(lost, [], "no acknowledged event is lost")
        t.is_(missing_exec, [], "every acknowledged execution is stored")
        t.is_(unfinished, [], "every acknowledged execution chain is final")
        t.is_(over, [], "no chain used more attempts than its policy allows")
        flaky = [a for a in acked if a[0] == "crash.flaky"]
        if flaky:
            st, x = d.request("GET", "/v1/executions/%s" % flaky[0][2][0])
            t.ok(len(x["lineage"]) >= 2 and x["lineage"][-1]["status"] == "succeeded",
                 "a flaky execution failed once and succeeded on its retry")
        t.is_(d.term(), 0, "SIGTERM stops the daemon cleanly at the end")
    except Exception as exc:  # a crash of the harness is a failure, with the log
        t.ok(False, "crash test harness: %s" % exc)
        with open(os.path.join(tmp, "actiond.log"), "rb") as f:
            t.diag(f.read().decode("utf-8", "replace")[-3000:])
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
    finally:
        stop.set()
        if os.environ.get("ACT_KEEP_TMP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
