"""Integration: kinds `javascript`, `python` and `docker` against the real daemon.

The runtimes run the real node and python3 on the handler modules in
tests/integration/runtimes/:
- an event through a subscription runs the module's handler; its return value
  is the execution's output, typed (numbers, booleans, null, strings);
- a thrown error fails the attempt with the error's message;
- handler.timeout_ms kills a handler that never returns;
- a module that does not exist is a 422 naming handler.module at creation;
- seccomp "no_network" refuses an AF_INET socket, "default" allows it.
docker: action creation validates the image (422 for an option-like name);
running a container needs a Docker engine, skipped with the reason when
`docker info` fails.
"""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from actiond_test import Daemon, Tap, source_dir, wait_for  # noqa: E402

t = Tap()
FINAL = ("succeeded", "dead", "cancelled")
RUNTIMES = os.path.join(source_dir(), "tests", "integration", "runtimes")
MODULES = {"javascript": os.path.join(RUNTIMES, "orders.mjs"),
           "python": os.path.join(RUNTIMES, "orders.py")}
ORDER = {"customer": "ada", "items": [{"qty": 2, "price": 10}, {"qty": 1, "price": 5.5}]}


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
            r = d.request("GET", f"/v1/executions/{last['id']}")
            doc = r.json if r.status == 200 else {}
        return doc if doc.get("status") in FINAL else None
    return wait_for(probe, timeout, 0.05)


def action(d, name, handler, **extra):
    body = {"name": name, "action_type": "test", "category": "it", "handler": handler,
            "retry_policy": {"max_retries": 0}}
    body.update(extra)
    return d.request("POST", "/v1/actions", body)


def run_manual(d, action_id, data):
    r = d.request("POST", f"/v1/actions/{action_id}/execute", {"input": data})
    eid = (r.json or {}).get("execution_id")
    return final(d, eid) if eid else None


def test_listed(d):
    r = d.request("GET", "/v1/handlers")
    kinds = {i.get("kind"): i for i in (r.json or {}).get("items", [])}
    for k in ("javascript", "python", "docker"):
        t.ok(k in kinds and kinds[k].get("available") is True, f"GET /v1/handlers lists {k}",
             f"{r}")
    t.ok("seccomp" in kinds.get("python", {}).get("capabilities", []),
         "the runtimes advertise the seccomp capability", f"{kinds.get('python')}")


def test_event_runs_module(d, kind):
    r = action(d, f"{kind}_orders", {"kind": kind, "module": MODULES[kind]},
               config={"currency": "EUR"})
    if not t.ok(r.status == 201, f"{kind}: action created", f"{r}"):
        return
    act_id = r.json["id"]
    r = d.request("POST", "/v1/subscriptions", {"action_id": act_id,
                                                "event_patterns": [f"rt.{kind}.paid"]})
    t.ok(r.status == 201, f"{kind}: subscription created", f"{r}")
    r = d.request("POST", "/v1/events", {"type": f"rt.{kind}.paid", "data": ORDER})
    ex = (r.json or {}).get("executions", [])
    t.ok(r.status == 202 and len(ex) == 1, f"{kind}: the event makes one execution", f"{r}")
    doc = final(d, ex[0]["id"]) if ex else None
    t.ok(doc and doc.get("status") == "succeeded", f"{kind}: the execution succeeds", f"{doc}")
    want = {"customer": "ada", "total": 25.5, "paid": True, "note": None, "lines": 2,
            "currency": "EUR", "attempt": 1, "from_event": True, "runtime": kind}
    out = (doc or {}).get("output")
    t.is_(out, want, f"{kind}: the output is the function's return value")
    t.ok(isinstance((out or {}).get("lines"), int) and isinstance((out or {}).get("total"), float)
         and (out or {}).get("paid") is True, f"{kind}: typed (integer, float, boolean)")

    doc = run_manual(d, act_id, ORDER)
    t.ok(doc and doc.get("status") == "succeeded" and doc.get("output", {}).get("from_event")
         is False and doc["output"].get("total") == 25.5,
         f"{kind}: a manual run gets the input and a null event", f"{doc}")


def test_failures(d, kind):
    r = action(d, f"{kind}_decline", {"kind": kind, "module": MODULES[kind],
                                      "function": "decline"})
    if t.ok(r.status == 201, f"{kind}: decline action created", f"{r}"):
        doc = run_manual(d, r.json["id"], {"order": 17})
        err = str((doc or {}).get("error"))
        name = "ValueError" if kind == "python" else "Error"
        t.ok(doc and doc.get("status") == "dead"
             and err.startswith(f"{name}: card declined for order 17"),
             f"{kind}: a thrown error fails the execution with its message", f"{doc}")

    r = action(d, f"{kind}_hang", {"kind": kind, "module": MODULES[kind], "function": "hang",
                                   "timeout_ms": 800})
    if t.ok(r.status == 201, f"{kind}: hang action created", f"{r}"):
        t0 = time.monotonic()
        doc = run_manual(d, r.json["id"], {})
        took = time.monotonic() - t0
        t.ok(doc and doc.get("status") == "dead" and "timed out after 800 ms" in str(doc.get("error"))
             and took < 10, f"{kind}: handler.timeout_ms kills a hang ({took:.1f} s)", f"{doc}")

    r = action(d, f"{kind}_missing", {"kind": kind,
                                      "module": MODULES[kind].replace("orders", "nope")})
    t.ok(r.status == 422 and (r.json or {}).get("field") == "handler.module"
         and "not found" in (r.json or {}).get("detail", ""),
         f"{kind}: a module that does not exist -> 422 on handler.module", f"{r}")

    rel = os.path.relpath(MODULES[kind], source_dir())
    r = action(d, f"{kind}_relative", {"kind": kind, "module": rel})
    t.ok(r.status == 201, f"{kind}: a module relative to the daemon's directory is accepted",
         f"{r}")


def test_seccomp(d):
    for profile, want in (("default", "succeeded"), ("no_network", "dead")):
        r = action(d, f"py_socket_{profile}", {"kind": "python", "module": MODULES["python"],
                                               "function": "open_socket", "seccomp": profile})
        if not t.ok(r.status == 201, f"seccomp {profile}: action created", f"{r}"):
            continue
        doc = run_manual(d, r.json["id"], {})
        ok = doc and doc.get("status") == want
        if want == "dead":
            ok = ok and "PermissionError: [Errno 1] Operation not permitted" in str(doc.get("error"))
        t.ok(ok, f"seccomp {profile}: an AF_INET socket -> {want}", f"{doc}")
    r = action(d, "py_socket_bad", {"kind": "python", "module": MODULES["python"],
                                    "seccomp": "strict"})
    t.ok(r.status == 422 and (r.json or {}).get("field") == "handler.seccomp",
         "an unknown seccomp profile -> 422 on handler.seccomp", f"{r}")


def docker_unavailable():
    """None when a Docker engine answers, else the reason."""
    if not shutil.which("docker"):
        return "no docker CLI on PATH"
    try:
        p = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                           capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    if p.returncode != 0:
        lines = (p.stderr or p.stdout).strip().splitlines()
        return lines[-1] if lines else f"docker info exited {p.returncode}"
    return None


def test_docker(d):
    r = action(d, "docker_bad", {"kind": "docker", "image": "--privileged"})
    t.ok(r.status == 422 and (r.json or {}).get("field") == "handler.image",
         "docker: an option-like image -> 422 on handler.image", f"{r}")
    why = docker_unavailable()
    if why:
        t.skip(f"docker engine not available: {why}", "docker: a container runs the JSON contract")
        return
    r = action(d, "docker_cat", {"kind": "docker", "image": "busybox", "args": ["cat"],
                                 "timeout_ms": 120000}, timeout_ms=120000)
    if t.ok(r.status == 201, "docker: action created", f"{r}"):
        r2 = d.request("POST", f"/v1/actions/{r.json['id']}/execute", {"input": {"n": 7}})
        doc = final(d, (r2.json or {}).get("execution_id", "x"), timeout=150)
        t.ok(doc and doc.get("status") == "succeeded"
             and (doc.get("output") or {}).get("input") == {"n": 7},
             "docker: a container runs the JSON contract (busybox cat echoes stdin)", f"{doc}")


def main():
    try:
        d = Daemon()
        d.start()
    except Exception as e:  # noqa: BLE001
        t.ok(False, "actiond starts", str(e))
        return t.done()
    sections = [test_listed]
    for kind in ("javascript", "python"):
        sections += [lambda d, k=kind: test_event_runs_module(d, k),
                     lambda d, k=kind: test_failures(d, k)]
    sections += [test_seccomp, test_docker]
    try:
        for section in sections:
            try:
                section(d)
            except Exception:  # noqa: BLE001
                import traceback
                t.ok(False, "a section raised", traceback.format_exc())
    finally:
        rc = d.stop()
        t.is_(rc, 0, "actiond exits 0")
        if t.failed:
            t.diag("daemon log tail:\n" + d.log_tail())
        d.cleanup()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
