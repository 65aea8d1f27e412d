"""Loopback IMITATIONS of the providers behind the preset handler kinds, for
tests/integration/test_providers.py.  Python standard library only.

These are imitations, not the real services (which cannot be reached from
the test machine): each route checks what the real provider would check
and answers in its shape, as documented by the provider:

- Twilio imitation   POST /2010-04-01/Accounts/{sid}/Messages.json
    Basic auth sid:token (401 code 20003 otherwise), a form body with To,
    Body and From or MessagingServiceSid (400 code 21604/21602 otherwise);
    201 with a Message resource (sid "SM...", status "queued").
- Slack imitation    POST /services/{team}/{bot}/{token}
    the token in the path (404 "no_service" otherwise); JSON with text (a
    string) or blocks (a list), else 400 "invalid_payload" / "no_text";
    200 "ok".
- FCM imitation      POST /v1/projects/{project}/messages:send
    Bearer token (401 UNAUTHENTICATED otherwise); {"message": {one of
    token/topic/condition, notification? {title, body}, data? of strings}}
    (400 INVALID_ARGUMENT otherwise); 200 {"name": "projects/p/messages/N"}.
- GraphQL imitation  POST /graphql
    executes one tiny mutation, addItem(name: String!, qty: Int!) { id name
    qty }, checking the declared variables and their types; a name "boom"
    answers 200 with errors (as GraphQL servers do for resolver errors).
- REST imitation     any method on /rest/...
    echoes method, path, decoded query, selected headers and body as JSON;
    /rest/secure/... requires X-Key: k1 (401 otherwise); /rest/text answers
    text/plain.
- Lambda imitation   POST /2015-03-31/functions/{fn}/invocations
    verifies AWS Signature V4 INDEPENDENTLY (sigv4_verify.py: hmac/hashlib
    over the received request and the known secret), 403
    InvalidSignatureException on a mismatch, like AWS; function "hello"
    returns {"greeting", "qualifier", "payload"}; "crash" answers 200 with
    X-Amz-Function-Error: Unhandled and an errorMessage; Event invocations
    answer 202 with an empty body.
- Azure imitation    any method on /api/{fn}
    requires x-functions-key: fk-1 (401 otherwise); echoes method and body.

Every request is recorded (provider, method, raw path, headers, body) for the
assertions.  Start with `with Imitations() as im: ... im.port, im.records()`.
"""

import base64
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sigv4_verify  # noqa: E402

TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token"
SLACK_PATH = "/services/T0001/B0001/slacktokenXYZ"
FCM_TOKEN = "ya29.fcm-access-token"
GRAPHQL_TOKEN = "gql-token"
AWS_KEY_ID = "AKIDIMITATION01"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYIMITATION"
AWS_REGION = "us-east-1"
AZURE_KEY = "fk-1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "provider-imitation/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _serve(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        headers = {}
        for k in self.headers.keys():
            vals = self.headers.get_all(k)
            headers[k.lower()] = vals[0] if len(vals) == 1 else vals
        path = urlsplit(self.path).path
        for prefix, fn, name in ROUTES:
            if re.match(prefix, path):
                self.server.owner.record(name, self.command, self.path, headers, body)
                status, extra, out = fn(self, path, headers, body)
                break
        else:
            status, extra, out = 404, {}, b"no such imitation route"
        if isinstance(out, (dict, list)):
            out = json.dumps(out).encode()
            extra = {"Content-Type": "application/json", **extra}
        elif isinstance(out, str):
            out = out.encode()
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


# ---- Twilio imitation ----

def twilio(h, path, headers, body):
    m = re.match(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$", path)
    want = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    if h.command != "POST" or not m:
        return 404, {}, {"code": 20404, "message": "The requested resource was not found",
                         "status": 404}
    if headers.get("authorization") != want or m.group(1) != TWILIO_SID:
        return 401, {}, {"code": 20003, "message": "Authenticate", "status": 401}
    if headers.get("content-type") != "application/x-www-form-urlencoded":
        return 400, {}, {"code": 20001, "message": "form body expected", "status": 400}
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, keep_blank_values=True)
    except ValueError:
        return 400, {}, {"code": 20001, "message": "malformed form", "status": 400}
    one = {k: v[0] for k, v in form.items()}
    if "To" not in one:
        return 400, {}, {"code": 21604, "message": "A 'To' phone number is required.",
                         "status": 400}
    if "From" not in one and "MessagingServiceSid" not in one:
        return 400, {}, {"code": 21603, "message": "A 'From' phone number is required.",
                         "status": 400}
    if not one.get("Body"):
        return 400, {}, {"code": 21602, "message": "Message body is required.", "status": 400}
    n = h.server.owner.next_id()
    return 201, {}, {"sid": "SM%032x" % n, "account_sid": TWILIO_SID, "to": one["To"],
                     "from": one.get("From"), "messaging_service_sid":
                     one.get("MessagingServiceSid"), "body": one["Body"], "status": "queued",
                     "num_segments": "1", "api_version": "2010-04-01"}


# ---- Slack imitation ----

def slack(h, path, headers, body):
    if path != SLACK_PATH:
        return 404, {"Content-Type": "text/html"}, "no_service"
    try:
        doc = json.loads(body)
    except ValueError:
        return 400, {"Content-Type": "text/html"}, "invalid_payload"
    if not isinstance(doc, dict) or ("text" in doc and not isinstance(doc["text"], str)) or \
            ("blocks" in doc and not isinstance(doc["blocks"], list)):
        return 400, {"Content-Type": "text/html"}, "invalid_payload"
    if not doc.get("text") and not doc.get("blocks"):
        return 400, {"Content-Type": "text/html"}, "no_text"
    return 200, {"Content-Type": "text/html"}, "ok"


# ---- FCM imitation ----

def fcm(h, path, headers, body):
    m = re.match(r"^/v1/projects/([^/]+)/messages:send$", path)
    if not m:
        return 404, {}, {"error": {"code": 404, "status": "NOT_FOUND"}}
    if headers.get("authorization") != "Bearer " + FCM_TOKEN:
        return 401, {}, {"error": {"code": 401, "message": "Request had invalid authentication "
                                   "credentials.", "status": "UNAUTHENTICATED"}}

    def bad(why):
        return 400, {}, {"error": {"code": 400, "message": why, "status": "INVALID_ARGUMENT"}}
    try:
        doc = json.loads(body)
    except ValueError:
        return bad("Invalid JSON payload received.")
    msg = doc.get("message") if isinstance(doc, dict) else None
    if not isinstance(msg, dict) or set(doc) != {"message"}:
        return bad("message is required")
    targets = [k for k in ("token", "topic", "condition") if k in msg]
    if len(targets) != 1 or not isinstance(msg[targets[0]], str):
        return bad("exactly one of token, topic or condition is required")
    note = msg.get("notification", {})
    if not isinstance(note, dict) or any(not isinstance(v, str) for v in note.values()):
        return bad("notification fields must be strings")
    data = msg.get("data", {})
    if not isinstance(data, dict) or any(not isinstance(v, str) for v in data.values()):
        return bad("Invalid value at 'message.data' (map<string, string>)")
    return 200, {}, {"name": f"projects/{m.group(1)}/messages/{h.server.owner.next_id()}"}


# ---- GraphQL imitation ----

_MUTATION = re.compile(r"^\s*mutation\s+(\w+)\s*\(([^)]*)\)\s*\{\s*(\w+)\s*\(([^)]*)\)\s*"
                       r"\{([^}]*)\}\s*\}\s*$")


def _gql_type_ok(gtype, value):
    required = gtype.endswith("!")
    base = gtype.rstrip("!")
    if value is None:
        return not required
    if base == "Int":
        return isinstance(value, int) and not isinstance(value, bool)
    if base == "String":
        return isinstance(value, str)
    return False


def graphql(h, path, headers, body):
    if h.server.owner.graphql_token and \
            headers.get("authorization") != "Bearer " + h.server.owner.graphql_token:
        return 401, {}, {"errors": [{"message": "unauthenticated"}]}
    try:
        req = json.loads(body)
    except ValueError:
        return 400, {}, {"errors": [{"message": "body is not JSON"}]}
    m = _MUTATION.match(req.get("query", ""))
    if not m:
        return 200, {}, {"errors": [{"message": "Syntax Error: only one mutation is supported "
                                                "by this imitation"}]}
    op, decls, field, args, selection = m.groups()
    if req.get("operationName") not in (None, op):
        return 200, {}, {"errors": [{"message": f"Unknown operation named "
                                                f"\"{req['operationName']}\"."}]}
    variables = req.get("variables") or {}
    declared = dict(re.findall(r"\$(\w+)\s*:\s*([\w!]+)", decls))
    for name, gtype in declared.items():
        if not _gql_type_ok(gtype, variables.get(name)):
            return 200, {}, {"errors": [{"message": f"Variable \"${name}\" got invalid value "
                                                    f"{json.dumps(variables.get(name))}; "
                                                    f"expected type {gtype}"}]}
    if field != "addItem":
        return 200, {}, {"errors": [{"message": f"Cannot query field \"{field}\" on type "
                                                "\"Mutation\"."}]}
    bound = {k: variables.get(v) for k, v in re.findall(r"(\w+)\s*:\s*\$(\w+)", args)}
    if bound.get("name") == "boom":
        return 200, {}, {"data": {"addItem": None},
                         "errors": [{"message": "item 'boom' is out of stock",
                                     "path": ["addItem"]}]}
    item = {"id": str(h.server.owner.next_id()), "name": bound.get("name"),
            "qty": bound.get("qty")}
    sel = selection.split()
    return 200, {}, {"data": {"addItem": {k: item[k] for k in sel if k in item}}}


# ---- REST imitation ----

def rest(h, path, headers, body):
    if path.startswith("/rest/secure") and headers.get("x-key") != "k1":
        return 401, {}, {"error": "missing or wrong X-Key"}
    if path == "/rest/text":
        return 200, {"Content-Type": "text/plain"}, "plain words"
    q = parse_qs(urlsplit(h.path).query, keep_blank_values=True)
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode("utf-8", "replace")
    return 200, {}, {"method": h.command, "path": path, "query": q,
                     "content_type": headers.get("content-type"),
                     "authorization": headers.get("authorization"),
                     "x_key": headers.get("x-key"), "body": parsed}


# ---- Lambda imitation ----

def lam(h, path, headers, body):
    m = re.match(r"^/2015-03-31/functions/([^/]+)/invocations$", path)
    if h.command != "POST" or not m:
        return 404, {"x-amzn-ErrorType": "UnknownOperationException"}, {"message": "not found"}
    ok, why = sigv4_verify.verify(h.command, h.path, headers, body, {AWS_KEY_ID: AWS_SECRET},
                                  region=AWS_REGION, service="lambda", max_skew_s=300)
    h.server.owner.sigv4_results.append((ok, why))
    if not ok:
        return 403, {"x-amzn-ErrorType": "InvalidSignatureException"}, {
            "message": "The request signature we calculated does not match the signature you "
                       "provided. (" + why + ")"}
    token = h.server.owner.aws_session_token
    if token is not None and headers.get("x-amz-security-token") != token:
        return 403, {"x-amzn-ErrorType": "UnrecognizedClientException"}, {
            "message": "The security token included in the request is invalid."}
    fn = unquote(m.group(1))
    qualifier = parse_qs(urlsplit(h.path).query).get("Qualifier", [None])[0]
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        return 400, {"x-amzn-ErrorType": "InvalidRequestContentException"}, {
            "message": "Could not parse request body into json"}
    name = fn.split(":function:")[-1].split(":")[0]
    if name not in ("hello", "crash"):
        return 404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, {
            "Type": "User", "message": f"Function not found: {fn}"}
    if headers.get("x-amz-invocation-type") == "Event":
        return 202, {"X-Amz-Executed-Version": "$LATEST"}, b""
    if name == "crash":
        return 200, {"X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST"}, {
            "errorType": "Error", "errorMessage": "boom: the function crashed",
            "trace": ["Error: boom", "    at handler (index.js:3:9)"]}
    who = payload.get("name") if isinstance(payload, dict) else None
    return 200, {"X-Amz-Executed-Version": "1"}, {"greeting": f"hello {who}",
                                                  "qualifier": qualifier, "payload": payload}


# ---- Azure imitation ----

def azure(h, path, headers, body):
    if headers.get("x-functions-key") != AZURE_KEY:
        return 401, {}, b""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode("utf-8", "replace")
    return 200, {}, {"function": path.rsplit("/", 1)[-1], "method": h.command, "body": parsed}


ROUTES = [
    (r"^/2010-04-01/", twilio, "twilio"),
    (r"^/services/", slack, "slack"),
    (r"^/v1/projects/", fcm, "fcm"),
    (r"^/graphql$", graphql, "graphql"),
    (r"^/rest/", rest, "rest"),
    (r"^/2015-03-31/", lam, "lambda"),
    (r"^/api/", azure, "azure"),
]


class Imitations:
    """The imitation server on 127.0.0.1:0 in a thread of this process."""

    def __init__(self, graphql_token=GRAPHQL_TOKEN, aws_session_token=None):
        self.graphql_token = graphql_token
        self.aws_session_token = aws_session_token
        self.sigv4_results = []
        self._records = []
        self._lock = threading.Lock()
        self._n = 0

    def __enter__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        return False

    def next_id(self):
        with self._lock:
            self._n += 1
            return self._n

    def record(self, provider, method, path, headers, body):
        with self._lock:
            self._records.append({"provider": provider, "method": method, "path": path,
                                  "headers": headers, "body": body})

    def records(self, provider=None):
        with self._lock:
            return [r for r in self._records if provider is None or r["provider"] == provider]
