/*
 * handler: the HTTP kinds `plugin` and `platform` and the shared client,
 * against a loopback HTTP/1.1 server run by this test.
 *
 * The server listens on 127.0.0.1:0; an accept thread starts one thread per
 * connection, which serves requests on it until the client closes it (so
 * keep-alive reuse shows as one accepted connection for several requests).
 * Canned answers by path: /ok, /text, /empty, /fail, /busy, /unavail, /gone,
 * /redirect, /hang, /reset, /close, /garbage, /huge, /stream, and /api/...
 * which echoes the request as JSON.  The last request is recorded for the
 * header and body assertions.
 */
#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "handler/handler.h"
#include "handler/handler_http.h"
#include "handler/http_client.h"
#include "handler/secret_box.h"
#include "handler/webhook_sign.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET2 "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
#define HUGE ((size_t)5 << 20)

/* ---- the loopback server ---- */

static struct {
    int fd, port;
    pthread_t thr;
    atomic_int stop, accepts, hits_ok;
    pthread_mutex_t lock;
    pthread_t conns[256];
    size_t n_conns;
    char method[16], path[1024]; /* last request, guarded by lock */
    char *head, *body;
    size_t body_len;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Wait until fd is readable; -1 when the server stops first. */
static int wait_in(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (!atomic_load(&S.stop))
        if (poll(&p, 1, 100) > 0)
            return 0;
    return -1;
}

static void nap_ms(int ms)
{
    for (int i = 0; i < ms / 20 && !atomic_load(&S.stop); i++)
        usleep(20000);
}

static void send_all(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w <= 0)
            return;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
}

/* Read one request: header block into *head, body of Content-Length. */
static int read_request(int fd, char **head, char **body, size_t *body_len)
{
    size_t cap = 65536, len = 0, want;
    char *buf = act_xmalloc(cap + 1), *end = NULL, *cl;

    while (!end) {
        ssize_t r;

        if (len == cap || wait_in(fd) < 0 || (r = recv(fd, buf + len, cap - len, 0)) <= 0) {
            act_free(buf);
            return -1;
        }
        len += (size_t)r;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    *end = '\0';
    cl = strcasestr(buf, "\r\ncontent-length:");
    want = cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
    *head = act_xstrdup(buf);
    *body = act_xmalloc(want + 1);
    *body_len = len - (size_t)(end + 4 - buf);
    memcpy(*body, end + 4, *body_len);
    while (*body_len < want) {
        ssize_t r = wait_in(fd) < 0 ? -1 : recv(fd, *body + *body_len, want - *body_len, 0);

        if (r <= 0)
            break;
        *body_len += (size_t)r;
    }
    (*body)[*body_len] = '\0';
    act_free(buf);
    return 0;
}

static void answer(int fd, int status, const char *extra, const char *ctype, const char *body)
{
    char *msg = act_xasprintf("HTTP/1.1 %d X\r\n%s%s%s%sContent-Length: %zu\r\n\r\n%s", status,
                              extra, ctype ? "Content-Type: " : "", ctype ? ctype : "",
                              ctype ? "\r\n" : "", strlen(body), body);

    send_all(fd, msg, strlen(msg));
    act_free(msg);
}

static void answer_big(int fd, bool with_length)
{
    char head[160], *chunk = act_xmalloc(65536);

    memset(chunk, 'x', 65536);
    if (with_length)
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", HUGE);
    else
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    send_all(fd, head, strlen(head));
    for (size_t sent = 0; sent < HUGE; sent += 65536)
        send_all(fd, chunk, 65536);
    act_free(chunk);
}

/* Echo the request as JSON: {"method", "path", "body"}. */
static void answer_echo(int fd, const char *method, const char *path, const char *body, size_t n)
{
    json_t *j = json_pack("{s:s,s:s,s:s%}", "method", method, "path", path, "body", body, n);
    char *text = json_dumps(j, JSON_COMPACT);

    answer(fd, 200, "", "application/json", text);
    free(text); /* jansson's allocator */
    json_decref(j);
}

/* Answer one request; false when the connection must end (already closed
 * when *closed). */
static bool respond(int fd, const char *method, const char *path, const char *body, size_t n,
                    bool *closed)
{
    static const struct linger reset = {.l_onoff = 1, .l_linger = 0};

    if (strcmp(path, "/ok") == 0) {
        atomic_fetch_add(&S.hits_ok, 1);
        answer(fd, 200, "", "application/json", "{\"sent\":true,\"id\":42}");
    } else if (strcmp(path, "/text") == 0) {
        answer(fd, 200, "", "text/plain", "hello plugin");
    } else if (strcmp(path, "/empty") == 0) {
        answer(fd, 204, "", NULL, "");
    } else if (strcmp(path, "/fail") == 0) {
        answer(fd, 500, "", "text/plain", "  database exploded\nline two");
    } else if (strcmp(path, "/busy") == 0) {
        answer(fd, 429, "Retry-After: 2\r\n", "text/plain", "slow down");
    } else if (strcmp(path, "/unavail") == 0) {
        answer(fd, 503, "Retry-After: 3\r\n", NULL, "");
    } else if (strcmp(path, "/gone") == 0) {
        answer(fd, 410, "", "application/json", "{\"error\":\"endpoint removed\"}");
    } else if (strcmp(path, "/redirect") == 0) {
        answer(fd, 302, "Location: /ok\r\n", NULL, "");
    } else if (strcmp(path, "/hang") == 0) {
        nap_ms(1500);
        return false;
    } else if (strcmp(path, "/reset") == 0) {
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
        close(fd);
        *closed = true;
        return false;
    } else if (strcmp(path, "/close") == 0) {
        return false;
    } else if (strcmp(path, "/garbage") == 0) {
        send_all(fd, "\x01\x02 this is not HTTP at all\r\n\r\n", 30);
        return false;
    } else if (strcmp(path, "/huge") == 0 || strcmp(path, "/stream") == 0) {
        answer_big(fd, strcmp(path, "/huge") == 0);
        return strcmp(path, "/huge") == 0;
    } else if (strncmp(path, "/api/", 5) == 0) {
        answer_echo(fd, method, path, body, n);
    } else {
        answer(fd, 404, "", "text/plain", "no such path");
    }
    return true;
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    bool keep = true, closed = false;

    while (keep) {
        char *head = NULL, *body = NULL, method[16] = "", path[1024] = "";
        size_t n = 0;

        if (read_request(fd, &head, &body, &n) < 0)
            break;
        sscanf(head, "%15s %1023s", method, path);
        pthread_mutex_lock(&S.lock);
        act_free(S.head);
        act_free(S.body);
        S.head = act_xstrdup(head);
        S.body = act_xstrdup(body);
        S.body_len = n;
        snprintf(S.method, sizeof(S.method), "%s", method);
        snprintf(S.path, sizeof(S.path), "%s", path);
        pthread_mutex_unlock(&S.lock);
        keep = respond(fd, method, path, body, n, &closed);
        act_free(head);
        act_free(body);
    }
    if (!closed)
        close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    while (wait_in(S.fd) == 0) {
        int c = accept(S.fd, NULL, NULL);

        if (c < 0)
            continue;
        atomic_fetch_add(&S.accepts, 1);
        pthread_mutex_lock(&S.lock);
        if (S.n_conns < sizeof(S.conns) / sizeof(S.conns[0]) &&
            pthread_create(&S.conns[S.n_conns], NULL, conn_main, (void *)(intptr_t)c) == 0)
            S.n_conns++;
        else
            close(c);
        pthread_mutex_unlock(&S.lock);
    }
    return NULL;
}

/* A listening socket on 127.0.0.1:0; its port into *port. */
static int listen_any(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static void server_start(void)
{
    S.fd = listen_any(&S.port);
    if (S.fd < 0 || pthread_create(&S.thr, NULL, accept_main, NULL) != 0) {
        diag("cannot start the loopback server");
        exit(1);
    }
}

static void server_stop(void)
{
    atomic_store(&S.stop, 1);
    pthread_join(S.thr, NULL);
    close(S.fd);
    for (size_t i = 0; i < S.n_conns; i++)
        pthread_join(S.conns[i], NULL);
    act_free(S.head);
    act_free(S.body);
}

/* A copy of the last request's header `name` (case-insensitive), or NULL. */
static char *last_header(const char *name)
{
    char *out = NULL, *line;

    pthread_mutex_lock(&S.lock);
    for (line = S.head ? strstr(S.head, "\r\n") : NULL; line; line = strstr(line + 2, "\r\n")) {
        const char *l = line + 2, *colon = strchr(l, ':'), *eol = strstr(l, "\r\n");

        if (colon && (!eol || colon < eol) && (size_t)(colon - l) == strlen(name) &&
            strncasecmp(l, name, strlen(name)) == 0) {
            colon++;
            while (*colon == ' ')
                colon++;
            out = act_xstrndup(colon, eol ? (size_t)(eol - colon) : strlen(colon));
            break;
        }
    }
    pthread_mutex_unlock(&S.lock);
    return out;
}

/* ---- calling the kinds ---- */

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v)
        diag("bad test JSON %s: %s", text, jerr.text);
    return v;
}

static char *url(const char *path)
{
    return act_xasprintf("http://127.0.0.1:%d%s", S.port, path);
}

/* A plugin spec for `path` with extra members (a JSON object text or ""). */
static json_t *plugin_spec(const char *path, const char *extra)
{
    json_t *spec = js(extra && extra[0] ? extra : "{}");
    char *u = url(path);

    json_object_set_new(spec, "kind", json_string("plugin"));
    json_object_set_new(spec, "url", json_string(u));
    act_free(u);
    return spec;
}

static int run(const json_t *spec, const json_t *cfg, const char *input, int64_t timeout_ms,
               struct act_handler_result *res, int64_t *ms)
{
    const struct act_handler_ops *ops =
        act_handler_find(json_string_value(json_object_get(spec, "kind")));
    json_t *in = js(input);
    struct act_handler_call call = {.execution_id = "0190aaaa-exec-0002",
                                    .root_id = "0190aaaa-exec-0001", .attempt = 2,
                                    .action_name = "send_welcome_email", .input = in,
                                    .config = cfg, .timeout_ms = timeout_ms};
    struct act_err err = {0};
    void *state = NULL;
    int64_t t0;
    int rc;

    memset(res, 0, sizeof(*res));
    if ((rc = ops->open(spec, cfg, &state, &err)) < 0) {
        diag("open failed: %s (%s)", err.msg, err.field);
        json_decref(in);
        return rc;
    }
    t0 = act_time_mono_us();
    rc = ops->execute(state, &call, res);
    if (ms)
        *ms = (act_time_mono_us() - t0) / 1000;
    ops->close(state);
    json_decref(in);
    return rc;
}

/* Run a plugin call against `path` with the default config. */
static int call_path(const char *path, const char *extra, int64_t timeout_ms,
                     struct act_handler_result *res, int64_t *ms)
{
    json_t *spec = plugin_spec(path, extra), *cfg = js("{\"secret\": \"" SECRET "\"}");
    int rc = run(spec, cfg, "{\"user_id\": \"u1\", \"email\": \"a@example.com\"}", timeout_ms,
                 res, ms);

    json_decref(spec);
    json_decref(cfg);
    return rc;
}

static int validate(const char *handler, const char *config, struct act_err *err)
{
    json_t *h = js(handler), *c = config ? js(config) : NULL;
    int rc;

    act_err_clear(err);
    rc = act_handler_validate(h, c, err);
    json_decref(h);
    json_decref(c);
    return rc;
}

/* ---- tests ---- */

static void test_validate(void)
{
    static const struct {
        const char *handler, *config, *field;
    } bad[] = {
        {"{\"kind\":\"plugin\"}", "{\"secret\":\"" SECRET "\"}", "handler.url"},
        {"{\"kind\":\"plugin\",\"url\":\"ftp://h/x\"}", "{\"secret\":\"" SECRET "\"}",
         "handler.url"},
        {"{\"kind\":\"plugin\",\"url\":\"not a url\"}", "{\"secret\":\"" SECRET "\"}",
         "handler.url"},
        {"{\"kind\":\"plugin\",\"url\":\"http://h/x\",\"timeout_ms\":0}",
         "{\"secret\":\"" SECRET "\"}", "handler.timeout_ms"},
        {"{\"kind\":\"plugin\",\"url\":\"http://h/x\",\"timeout_ms\":600001}",
         "{\"secret\":\"" SECRET "\"}", "handler.timeout_ms"},
        {"{\"kind\":\"plugin\",\"url\":\"http://h/x\",\"retries\":3}",
         "{\"secret\":\"" SECRET "\"}", "handler.retries"},
        {"{\"kind\":\"plugin\",\"url\":\"http://h/x\"}", "{}", "config.secret"},
        {"{\"kind\":\"plugin\",\"url\":\"http://h/x\"}", "{\"secret\":\"whsec_!!\"}",
         "config.secret"},
        {"{\"kind\":\"plugin\",\"url\":\"http://h/x\"}",
         "{\"secret\":[\"" SECRET "\",\"whsec_QUJD\"]}", "config.secret[1]"},
        {"{\"kind\":\"plugin\",\"url\":\"http://h/x\"}",
         "{\"secret\":\"" SECRET "\",\"headers\":{\"Content-Type\":\"text/plain\"}}",
         "config.headers.Content-Type"},
        {"{\"kind\":\"plugin\",\"url\":\"http://h/x\"}",
         "{\"secret\":\"" SECRET "\",\"headers\":{\"X-A\":\"a\\r\\nX-B: b\"}}",
         "config.headers.X-A"},
        {"{\"kind\":\"plugin\",\"url\":\"http://h/x\"}",
         "{\"secret\":\"" SECRET "\",\"api_key\":\"v1:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\"}",
         "config.api_key"},
        {"{\"kind\":\"platform\",\"method\":\"FETCH\",\"path\":\"/a\"}", NULL, "handler.method"},
        {"{\"kind\":\"platform\",\"method\":\"GET\",\"path\":\"a\"}", NULL, "handler.path"},
        {"{\"kind\":\"platform\",\"method\":\"GET\",\"path\":\"/a/{}\"}", NULL, "handler.path"},
        {"{\"kind\":\"platform\",\"method\":\"GET\",\"path\":\"/a/{b-c}\"}", NULL,
         "handler.path"},
        {"{\"kind\":\"platform\",\"method\":\"GET\",\"path\":\"/a/}\"}", NULL, "handler.path"},
        {"{\"kind\":\"platform\",\"method\":\"GET\",\"path\":\"/a/{id}\","
         "\"missing_messages\":{\"x\":\"X required\"}}",
         NULL, "handler.missing_messages.x"},
        {"{\"kind\":\"platform\",\"method\":\"GET\",\"path\":\"/a\",\"base_url\":\"http://h/?q\"}",
         NULL, "handler.base_url"},
    };
    struct act_err err;

    subtest("validation");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        is_int(validate(bad[i].handler, bad[i].config, &err), ACT_EUNPROC, "refused: %s %s",
               bad[i].handler, bad[i].config ? bad[i].config : "");
        is_str(err.field, bad[i].field, "field %s (%s)", bad[i].field, err.msg);
    }
    is_int(validate("{\"kind\":\"plugin\",\"url\":\"http://127.0.0.1:3100/actions/x\","
                    "\"timeout_ms\":5000,\"plugin_id\":\"87312788-df51-4002-8eca-9cfc3e3f7d8e\","
                    "\"plugin_slug\":\"email-automation\"}",
                    "{\"secret\":[\"" SECRET "\",\"" SECRET2 "\"],\"headers\":{\"X-T\":\"1\"}}",
                    &err),
           ACT_OK, "a full plugin spec is valid: %s", err.msg);
    is_int(validate("{\"kind\":\"platform\",\"method\":\"PUT\",\"path\":\"/api/products/{id}\","
                    "\"missing_messages\":{\"id\":\"Product ID required for update\"}}",
                    NULL, &err),
           ACT_OK, "a platform spec is valid: %s", err.msg);
    ok(act_handler_find("plugin") && act_handler_find("platform"), "both kinds are registered");
}

static void test_plugin_success(void)
{
    json_t *spec = plugin_spec("/ok", ""), *cfg = NULL;
    struct act_handler_result res;
    struct act_err err = {0};
    char *sealed = NULL, *text, *id, *ts, *sig, *ua, *ctype, *key, *custom;
    int64_t now = act_time_now_us() / 1000000;

    subtest("plugin: a signed POST and a JSON answer");
    is_int(act_secret_box_seal("k-123", &sealed, &err), ACT_OK, "seal an API key");
    text = act_xasprintf("{\"secret\": \"%s\", \"api_key\": \"%s\", \"headers\": {\"X-Tenant\": "
                         "\"t1\"}}",
                         SECRET, sealed);
    cfg = js(text);
    is_int(run(spec, cfg, "{\"user_id\": \"u1\", \"email\": \"a@example.com\"}", 5000, &res, NULL),
           ACT_OK, "2xx succeeds: %s", res.error);
    ok(json_is_true(json_object_get(res.output, "sent")), "output is the parsed JSON answer");
    is_int(json_integer_value(json_object_get(res.output, "id")), 42, "with its members");
    act_handler_result_release(&res);
    is_str(S.method, "POST", "method POST");
    is_str(S.body, "{\"user_id\":\"u1\",\"email\":\"a@example.com\"}", "body is the input");
    id = last_header("webhook-id");
    ts = last_header("webhook-timestamp");
    sig = last_header("webhook-signature");
    ua = last_header("user-agent");
    ctype = last_header("content-type");
    key = last_header("x-api-key");
    custom = last_header("x-tenant");
    is_str(id, "0190aaaa-exec-0001",
           "webhook-id is the first attempt's id (constant across retries), not this attempt's");
    ok(ts && llabs(strtoll(ts, NULL, 10) - now) <= 5, "webhook-timestamp is now: %s", ts);
    is_int(act_webhook_verify(SECRET, id, ts, S.body, S.body_len, sig, now, 300, &err), ACT_OK,
           "webhook-signature verifies: %s", err.msg);
    is_str(ua, ACT_HTTP_USER_AGENT, "User-Agent names actiond");
    is_str(ctype, "application/json", "Content-Type");
    is_str(key, "k-123", "X-Api-Key is the opened api_key");
    is_str(custom, "t1", "config headers are sent");
    act_free(id), act_free(ts), act_free(sig), act_free(ua), act_free(ctype), act_free(key);
    act_free(custom);
    json_decref(cfg);
    act_free(text);
    act_free(sealed);

    cfg = js("{\"secret\": [\"" SECRET "\", \"" SECRET2 "\"]}");
    is_int(run(spec, cfg, "{}", 5000, &res, NULL), ACT_OK, "two secrets");
    act_handler_result_release(&res);
    id = last_header("webhook-id");
    ts = last_header("webhook-timestamp");
    sig = last_header("webhook-signature");
    ok(sig && strchr(sig, ' '), "two signatures: %s", sig);
    is_int(act_webhook_verify(SECRET2, id, ts, S.body, S.body_len, sig, now, 300, &err), ACT_OK,
           "the second secret verifies too");
    act_free(id), act_free(ts), act_free(sig);
    json_decref(cfg);
    json_decref(spec);
}

static void test_plugin_bodies(void)
{
    struct act_handler_result res;

    subtest("plugin: non-JSON and empty answers");
    is_int(call_path("/text", "", 5000, &res, NULL), ACT_OK, "text answer succeeds");
    is_str(json_string_value(json_object_get(res.output, "body")), "hello plugin",
           "output is {\"body\": text}");
    act_handler_result_release(&res);
    is_int(call_path("/empty", "", 5000, &res, NULL), ACT_OK, "204 succeeds");
    ok(res.output == NULL, "empty answer is a null output");
    act_handler_result_release(&res);
}

static void test_plugin_statuses(void)
{
    struct act_handler_result res;
    int hits;

    subtest("plugin: HTTP failures");
    is_int(call_path("/fail", "", 5000, &res, NULL), ACT_EPLUGIN, "500 fails");
    is_str(res.error, "HTTP 500: database exploded line two", "error: status and body start");
    is_int(json_integer_value(json_object_get(res.error_detail, "status")), 500, "detail.status");
    is_str(json_string_value(json_object_get(res.error_detail, "body")),
           "  database exploded\nline two", "detail.body keeps the text");
    ok(!res.permanent, "500 is retried by policy");
    is_int(res.retry_after_ms, -1, "no delay asked");
    act_handler_result_release(&res);

    is_int(call_path("/busy", "", 5000, &res, NULL), ACT_EPLUGIN, "429 fails");
    is_str(res.error, "HTTP 429: slow down", "error");
    is_int(res.retry_after_ms, 2000, "Retry-After: 2 asks for 2000 ms");
    act_handler_result_release(&res);
    is_int(call_path("/unavail", "", 5000, &res, NULL), ACT_EPLUGIN, "503 fails");
    is_str(res.error, "HTTP 503", "error without a body");
    is_int(res.retry_after_ms, 3000, "Retry-After: 3 asks for 3000 ms");
    act_handler_result_release(&res);

    is_int(call_path("/gone", "", 5000, &res, NULL), ACT_EPLUGIN, "410 fails");
    ok(res.permanent, "410 is permanent");
    act_handler_result_release(&res);

    hits = atomic_load(&S.hits_ok);
    is_int(call_path("/redirect", "", 5000, &res, NULL), ACT_EPLUGIN, "302 fails");
    is_str(res.error, "HTTP 302: redirect not followed", "error");
    ok(strstr(json_string_value(json_object_get(res.error_detail, "location")), "/ok") != NULL,
       "detail.location");
    is_int(atomic_load(&S.hits_ok), hits, "the redirect was not followed");
    act_handler_result_release(&res);
}

static void test_plugin_transport(void)
{
    struct act_handler_result res;
    char want[128];
    int64_t ms;
    int port, fd;

    subtest("plugin: transport failures");
    is_int(call_path("/hang", "", 300, &res, &ms), ACT_ETIMEDOUT, "a hanging plugin times out");
    is_str(res.error, "timed out after 300 ms", "error names the action's timeout");
    ok(ms >= 250 && ms < 1200, "gave up after ~300 ms (%lld)", (long long)ms);
    act_handler_result_release(&res);
    is_int(call_path("/hang", "{\"timeout_ms\": 200}", 5000, &res, &ms), ACT_ETIMEDOUT,
           "the spec's smaller timeout wins");
    is_str(res.error, "timed out after 200 ms", "error");
    act_handler_result_release(&res);

    is_int(call_path("/reset", "", 5000, &res, NULL), ACT_EPLUGIN, "a reset fails");
    snprintf(want, sizeof(want), "connection to 127.0.0.1:%d reset by peer", S.port);
    is_str(res.error, want, "error says reset by peer");
    act_handler_result_release(&res);
    is_int(call_path("/close", "", 5000, &res, NULL), ACT_EPLUGIN, "a close without answer fails");
    snprintf(want, sizeof(want), "connection to 127.0.0.1:%d closed without a response", S.port);
    is_str(res.error, want, "error");
    act_handler_result_release(&res);
    is_int(call_path("/garbage", "", 5000, &res, NULL), ACT_EPLUGIN, "garbage fails");
    snprintf(want, sizeof(want), "invalid HTTP response from 127.0.0.1:%d", S.port);
    ok(strncmp(res.error, want, strlen(want)) == 0, "error: %s", res.error);
    act_handler_result_release(&res);

    is_int(call_path("/huge", "", 5000, &res, NULL), ACT_ETOOBIG, "5 MiB with Content-Length");
    is_str(res.error, "response over 1048576 bytes", "error");
    act_handler_result_release(&res);
    is_int(call_path("/stream", "", 5000, &res, NULL), ACT_ETOOBIG, "5 MiB without length");
    is_str(res.error, "response over 1048576 bytes", "error");
    act_handler_result_release(&res);
    is_int(call_path("/ok", "{\"max_response_bytes\": 10}", 5000, &res, NULL), ACT_ETOOBIG,
           "max_response_bytes applies");
    is_str(res.error, "response over 10 bytes", "error");
    act_handler_result_release(&res);

    fd = listen_any(&port);
    close(fd); /* nothing listens there now */
    {
        json_t *spec = json_pack("{s:s,s:s}", "kind", "plugin", "url", "http://127.0.0.1:1/x"),
               *cfg = js("{\"secret\": \"" SECRET "\"}");
        char *u = act_xasprintf("http://127.0.0.1:%d/x", port);

        json_object_set_new(spec, "url", json_string(u));
        is_int(run(spec, cfg, "{}", 5000, &res, NULL), ACT_EPLUGIN, "a refused connection fails");
        snprintf(want, sizeof(want), "connect to 127.0.0.1:%d failed: Connection refused", port);
        is_str(res.error, want, "error names host, port and reason");
        act_handler_result_release(&res);
        act_free(u);
        json_decref(spec);
        json_decref(cfg);
    }
}

/* Two requests on this thread: returns the number of connections accepted. */
static int two_calls(bool *reused_second)
{
    char *u = url("/ok");
    struct act_http_request req = {.method = "GET", .url = u, .timeout_ms = 5000};
    struct act_http_response r1, r2;
    int before;

    act_http_thread_cleanup(); /* start without kept connections */
    before = atomic_load(&S.accepts);
    if (act_http_request(&req, &r1, NULL) < 0 || act_http_request(&req, &r2, NULL) < 0)
        diag("keep-alive request failed");
    *reused_second = !r1.reused && r2.reused && r1.status == 200 && r2.status == 200;
    act_http_response_release(&r1);
    act_http_response_release(&r2);
    act_free(u);
    return atomic_load(&S.accepts) - before;
}

static void *thread_two_calls(void *arg)
{
    bool reused;
    int n = two_calls(&reused);

    *(int *)arg = reused ? n : -1;
    return NULL; /* the thread's handle is freed at exit */
}

static void test_keep_alive(void)
{
    json_t *spec = plugin_spec("/ok", ""), *cfg = js("{\"secret\": \"" SECRET "\"}");
    struct act_handler_result res;
    struct act_err err = {0};
    void *state = NULL;
    json_t *in = js("{}");
    struct act_handler_call call = {.execution_id = "e1", .attempt = 1, .action_name = "a",
                                    .input = in, .config = cfg, .timeout_ms = 5000};
    const struct act_handler_ops *ops = act_handler_find("plugin");
    bool reused = false;
    int before, other = 0;
    pthread_t t;

    subtest("keep-alive reuse");
    is_int(two_calls(&reused), 1, "two client requests, one connection");
    ok(reused, "the second request reports the reused connection");
    pthread_create(&t, NULL, thread_two_calls, &other);
    pthread_join(t, NULL);
    is_int(other, 1, "the same on another thread");

    act_http_thread_cleanup();
    before = atomic_load(&S.accepts);
    is_int(ops->open(spec, cfg, &state, &err), ACT_OK, "open");
    for (int i = 0; i < 3; i++) {
        memset(&res, 0, sizeof(res));
        is_int(ops->execute(state, &call, &res), ACT_OK, "plugin attempt %d", i + 1);
        act_handler_result_release(&res);
    }
    ops->close(state);
    is_int(atomic_load(&S.accepts) - before, 1,
           "three plugin attempts on one worker, one connection");
    json_decref(spec);
    json_decref(cfg);
    json_decref(in);
}

static json_t *platform_spec(const char *method, const char *path, const char *extra)
{
    json_t *spec = js(extra && extra[0] ? extra : "{}");

    json_object_set_new(spec, "kind", json_string("platform"));
    json_object_set_new(spec, "method", json_string(method));
    json_object_set_new(spec, "path", json_string(path));
    return spec;
}

static void test_platform(void)
{
    json_t *spec, *cfg = json_object();
    struct act_handler_result res;
    char *base = url("/"), *ctype;

    subtest("platform routes");
    spec = platform_spec("PUT", "/api/products/{id}",
                         "{\"missing_messages\": {\"id\": \"Product ID required for update\"}}");
    act_platform_set_base_url(NULL);
    is_int(run(spec, cfg, "{\"id\": \"p1\"}", 5000, &res, NULL), ACT_EINVAL, "no base URL");
    is_str(res.error, "no platform base URL configured (platform.base_url)", "error");
    ok(res.permanent, "permanent");
    act_handler_result_release(&res);
    is_int(act_platform_set_base_url("ftp://x"), ACT_EINVAL, "a non-http base URL is refused");
    is_int(act_platform_set_base_url(base), ACT_OK, "set the base URL (trailing slash)");
    is_int(run(spec, cfg, "{\"id\": \"a b/c\", \"price\": 3}", 5000, &res, NULL), ACT_OK,
           "PUT succeeds: %s", res.error);
    is_str(json_string_value(json_object_get(res.output, "method")), "PUT", "method");
    is_str(json_string_value(json_object_get(res.output, "path")), "/api/products/a%20b%2Fc",
           "the placeholder is filled and escaped");
    is_str(json_string_value(json_object_get(res.output, "body")),
           "{\"id\":\"a b/c\",\"price\":3}", "the body is the input");
    act_handler_result_release(&res);
    ctype = last_header("content-type");
    is_str(ctype, "application/json", "JSON Content-Type");
    act_free(ctype);
    is_int(run(spec, cfg, "{\"price\": 3}", 5000, &res, NULL), ACT_EINVAL, "a missing id fails");
    is_str(res.error, "Product ID required for update", "with the spec's message");
    ok(res.permanent, "permanently");
    act_handler_result_release(&res);
    is_int(run(spec, cfg, "{\"id\": {\"x\": 1}}", 5000, &res, NULL), ACT_EINVAL, "an object id");
    ok(res.permanent, "fails permanently");
    act_handler_result_release(&res);
    json_decref(spec);

    spec = platform_spec("DELETE", "/api/orders/{id}/status", "");
    is_int(run(spec, cfg, "{\"id\": 42}", 5000, &res, NULL), ACT_OK, "DELETE with a number id");
    is_str(json_string_value(json_object_get(res.output, "path")), "/api/orders/42/status",
           "number in the path");
    is_str(json_string_value(json_object_get(res.output, "body")), "", "no body for DELETE");
    act_handler_result_release(&res);
    is_int(run(spec, cfg, "{\"id\": null}", 5000, &res, NULL), ACT_EINVAL, "null id");
    is_str(res.error, "missing input member 'id' for /api/orders/{id}/status", "default message");
    act_handler_result_release(&res);
    json_decref(spec);

    is_int(act_platform_set_base_url("http://127.0.0.1:1"), ACT_OK, "a wrong default");
    {
        char *extra = act_xasprintf("{\"base_url\": \"%s\"}", base);

        spec = platform_spec("POST", "/api/customers", extra);
        act_free(extra);
    }
    is_int(run(spec, cfg, "{\"email\": \"x@y\"}", 5000, &res, NULL), ACT_OK,
           "the spec's base_url wins: %s", res.error);
    is_str(json_string_value(json_object_get(res.output, "path")), "/api/customers", "path");
    act_handler_result_release(&res);
    json_decref(spec);
    spec = platform_spec("POST", "/nope", "");
    is_int(run(spec, cfg, "{}", 5000, &res, NULL), ACT_EPLUGIN, "404 from the platform fails");
    act_handler_result_release(&res);
    json_decref(spec);
    act_platform_set_base_url(NULL);
    json_decref(cfg);
    act_free(base);
}

int main(void)
{
    char dir[] = "/tmp/act-http-XXXXXX", *key;

    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir) || act_secret_box_init(dir, NULL) < 0)
        return 1;
    server_start();
    test_validate();
    test_plugin_success();
    test_plugin_bodies();
    test_plugin_statuses();
    test_plugin_transport();
    test_keep_alive();
    test_platform();
    act_http_thread_cleanup();
    server_stop();
    act_secret_box_release();
    key = act_xasprintf("%s/%s", dir, ACT_SECRET_KEY_FILE);
    unlink(key);
    act_free(key);
    rmdir(dir);
    return done_testing();
}
