/*
 * handler: kind `webhook` (handler_webhook.c on the shared curl-multi loop,
 * http_loop.c) against a loopback HTTP/1.1 server run by this test, and
 * end to end through the engine (src/engine/engine.h).
 *
 * The server listens on 127.0.0.1:0; an accept thread starts one thread per
 * connection, which serves requests until the client closes it (so
 * keep-alive reuse shows as fewer accepted connections than requests).
 * Canned answers by path: /ok, /empty, /text, /fail, /busy, /unavail,
 * /gone, /redirect, /hang, /huge, /echo (the request as JSON), /flaky (500
 * for the first request of a webhook-id, then 200).  Every request is
 * recorded (path, method, webhook headers, body) for the assertions.
 *
 * The loopback server is admitted with act_ssrf_set_allow("127.0.0.0/8"),
 * as the daemon's egress.allow would; one case clears it and checks that
 * the delivery is refused without a connection.
 */
#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "engine/engine.h"
#include "handler/handler.h"
#include "handler/http_loop.h"
#include "handler/ssrf.h"
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
#define HUGE ((size_t)4 << 20)
#define MAX_RECS 512

/* ---- the loopback server ---- */

struct rec {
    char method[16], path[256], id[128], ts[32], sig[512], xuser[64];
    char *body;
};

static struct {
    int fd, port;
    pthread_t thr;
    atomic_int stop, accepts;
    pthread_mutex_t lock;
    pthread_t conns[512];
    size_t n_conns;
    struct rec recs[MAX_RECS]; /* guarded by lock */
    size_t n_recs;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int wait_in(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (!atomic_load(&S.stop))
        if (poll(&p, 1, 50) > 0)
            return 0;
    return -1;
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

/* Value of header `name` in the header block, into out. */
static void header_of(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);

    out[0] = '\0';
    for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        const char *eol = strstr(l + 2, "\r\n");
        size_t len;

        if (strncasecmp(l + 2, name, n) != 0 || l[2 + n] != ':')
            continue;
        l += 3 + n;
        while (*l == ' ')
            l++;
        len = eol ? (size_t)(eol - l) : strlen(l);
        snprintf(out, cap, "%.*s", (int)len, l);
        return;
    }
}

static int read_request(int fd, struct rec *r)
{
    size_t cap = 65536, len = 0, want, have;
    char *buf = act_xmalloc(cap + 1), *end = NULL, clen[32];

    while (!end) {
        ssize_t n;

        if (len == cap || wait_in(fd) < 0 || (n = recv(fd, buf + len, cap - len, 0)) <= 0) {
            act_free(buf);
            return -1;
        }
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    end[2] = '\0';
    memset(r, 0, sizeof(*r));
    sscanf(buf, "%15s %255s", r->method, r->path);
    header_of(buf, "webhook-id", r->id, sizeof(r->id));
    header_of(buf, "webhook-timestamp", r->ts, sizeof(r->ts));
    header_of(buf, "webhook-signature", r->sig, sizeof(r->sig));
    header_of(buf, "x-user", r->xuser, sizeof(r->xuser));
    header_of(buf, "content-length", clen, sizeof(clen));
    want = (size_t)strtoul(clen, NULL, 10);
    have = len - (size_t)(end + 4 - buf);
    r->body = act_xmalloc(want + 1);
    memcpy(r->body, end + 4, have < want ? have : want);
    while (have < want) {
        ssize_t n = wait_in(fd) < 0 ? -1 : recv(fd, r->body + have, want - have, 0);

        if (n <= 0)
            break;
        have += (size_t)n;
    }
    r->body[have < want ? have : want] = '\0';
    act_free(buf);
    return 0;
}

static void answer(int fd, int status, const char *extra, const char *body)
{
    char *msg = act_xasprintf("HTTP/1.1 %d X\r\n%sContent-Length: %zu\r\n\r\n%s", status, extra,
                              strlen(body), body);

    send_all(fd, msg, strlen(msg));
    act_free(msg);
}

/* How many recorded requests carry webhook-id `id`. */
static int count_id(const char *id)
{
    int n = 0;

    pthread_mutex_lock(&S.lock);
    for (size_t i = 0; i < S.n_recs; i++)
        n += strcmp(S.recs[i].id, id) == 0;
    pthread_mutex_unlock(&S.lock);
    return n;
}

static bool respond(int fd, const struct rec *r)
{
    const char *p = r->path;

    if (strcmp(p, "/ok") == 0) {
        answer(fd, 200, "Content-Type: application/json\r\n", "{\"received\":true}");
    } else if (strcmp(p, "/empty") == 0) {
        answer(fd, 204, "", "");
    } else if (strcmp(p, "/text") == 0) {
        answer(fd, 200, "Content-Type: text/plain\r\n", "thanks");
    } else if (strcmp(p, "/fail") == 0) {
        answer(fd, 500, "", "  database exploded\nline two");
    } else if (strcmp(p, "/busy") == 0) {
        answer(fd, 429, "Retry-After: 2\r\n", "slow down");
    } else if (strcmp(p, "/unavail") == 0) {
        answer(fd, 503, "Retry-After: 3\r\n", "");
    } else if (strcmp(p, "/gone") == 0) {
        answer(fd, 410, "", "{\"error\":\"endpoint removed\"}");
    } else if (strcmp(p, "/redirect") == 0) {
        answer(fd, 302, "Location: http://127.0.0.1:1/internal\r\n", "");
    } else if (strcmp(p, "/flaky") == 0) {
        if (count_id(r->id) <= 1)
            answer(fd, 500, "", "first try fails");
        else
            answer(fd, 200, "", "{\"ok\":2}");
    } else if (strcmp(p, "/hang") == 0) {
        for (int i = 0; i < 75 && !atomic_load(&S.stop); i++)
            usleep(20000); /* 1.5 s, then close without answering */
        return false;
    } else if (strcmp(p, "/huge") == 0) {
        char head[96], *chunk = act_xcalloc(1, 65536);

        memset(chunk, 'x', 65536);
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", HUGE);
        send_all(fd, head, strlen(head));
        for (size_t sent = 0; sent < HUGE; sent += 65536)
            send_all(fd, chunk, 65536);
        act_free(chunk);
    } else if (strcmp(p, "/echo") == 0) {
        json_t *j = json_pack("{s:s,s:s}", "method", r->method, "body", r->body);
        char *text = json_dumps(j, JSON_COMPACT);

        answer(fd, 200, "Content-Type: application/json\r\n", text);
        free(text); /* jansson's allocator */
        json_decref(j);
    } else {
        answer(fd, 404, "", "no such path");
    }
    return true;
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;

    for (;;) {
        struct rec r;
        bool keep;

        if (read_request(fd, &r) < 0)
            break;
        pthread_mutex_lock(&S.lock);
        if (S.n_recs < MAX_RECS) {
            S.recs[S.n_recs] = r;
            S.recs[S.n_recs++].body = act_xstrdup(r.body);
        }
        pthread_mutex_unlock(&S.lock);
        keep = respond(fd, &r);
        act_free(r.body);
        if (!keep)
            break;
    }
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

static void server_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);

    S.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (S.fd < 0 || bind(S.fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(S.fd, 128) < 0 ||
        getsockname(S.fd, (struct sockaddr *)&a, &alen) < 0 ||
        pthread_create(&S.thr, NULL, accept_main, NULL) != 0) {
        diag("cannot start the loopback server");
        exit(1);
    }
    S.port = ntohs(a.sin_port);
}

static void server_stop(void)
{
    atomic_store(&S.stop, 1);
    pthread_join(S.thr, NULL);
    close(S.fd);
    for (size_t i = 0; i < S.n_conns; i++)
        pthread_join(S.conns[i], NULL);
    for (size_t i = 0; i < S.n_recs; i++)
        act_free(S.recs[i].body);
}

/* A copy of the last recorded request. */
static struct rec last_rec(void)
{
    struct rec r = {0};

    pthread_mutex_lock(&S.lock);
    if (S.n_recs)
        r = S.recs[S.n_recs - 1];
    r.body = act_xstrdup(r.body ? r.body : "");
    pthread_mutex_unlock(&S.lock);
    return r;
}

static size_t n_recs(void)
{
    size_t n;

    pthread_mutex_lock(&S.lock);
    n = S.n_recs;
    pthread_mutex_unlock(&S.lock);
    return n;
}

/* ---- driving the kind through start() ---- */

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int n_done, rc;
    struct act_handler_result res;
};

static void on_done(void *ud, int rc)
{
    struct waiter *w = ud;

    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    w->n_done++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void waiter_init(struct waiter *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->res.retry_after_ms = -1;
}

static void waiter_wait(struct waiter *w, int n)
{
    pthread_mutex_lock(&w->lock);
    while (w->n_done < n)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

static void waiter_release(struct waiter *w)
{
    act_handler_result_release(&w->res);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
}

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

    if (!v) {
        diag("bad test JSON %s: %s", text, jerr.text);
        abort();
    }
    return v;
}

/* True when v equals the JSON text. */
static bool same(const json_t *v, const char *text)
{
    json_t *want = js(text);
    bool eq = json_equal(v, want);

    json_decref(want);
    return eq;
}

/* Open a webhook state for `path` with extra spec members ("" for none). */
static void *open_kind(const char *path, const char *extra, const char *config)
{
    const struct act_handler_ops *ops = act_handler_find("webhook");
    char *text = act_xasprintf("{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:%d%s\"%s%s}",
                               S.port, path, extra[0] ? "," : "", extra);
    json_t *spec = js(text), *cfg = js(config ? config : "{\"secret\":\"" SECRET "\"}");
    struct act_err err = {0};
    void *state = NULL;

    if (ops->open(spec, cfg, &state, &err) < 0)
        diag("open %s: %s (%s)", text, err.msg, err.field);
    json_decref(spec);
    json_decref(cfg);
    act_free(text);
    return state;
}

static const json_t *test_input(void)
{
    static json_t *in;

    if (!in)
        in = js("{\"user_id\":\"u1\",\"email\":\"a@example.com\"}");
    return in;
}

static const struct act_handler_call CALL = {
    .execution_id = "0190aaaa-exec-0002", .root_id = "0190aaaa-exec-0001", .attempt = 2,
    .action_name = "notify", .timeout_ms = 20000};

/* One attempt on an open state; waits for done.  Returns rc. */
static int run_state(void *state, int64_t timeout_ms, struct waiter *w)
{
    const struct act_handler_ops *ops = act_handler_find("webhook");
    struct act_handler_call call = CALL;
    json_t *cfg = json_object();
    int rc;

    call.input = test_input();
    call.config = cfg;
    call.timeout_ms = timeout_ms;
    waiter_init(w);
    rc = ops->start(state, &call, &w->res, on_done, w);
    json_decref(cfg);
    if (rc < 0)
        return rc;
    waiter_wait(w, 1);
    return w->rc;
}

static int run_path(const char *path, const char *extra, int64_t timeout_ms, struct waiter *w)
{
    void *state = open_kind(path, extra, NULL);
    int rc;

    if (!state) {
        waiter_init(w);
        return ACT_EINVAL;
    }
    rc = run_state(state, timeout_ms, w);
    act_handler_find("webhook")->close(state);
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
        {"{\"kind\":\"webhook\"}", NULL, "handler.url"},
        {"{\"kind\":\"webhook\",\"url\":\"ftp://h/x\"}", NULL, "handler.url"},
        {"{\"kind\":\"webhook\",\"url\":\"file:///etc/passwd\"}", NULL, "handler.url"},
        {"{\"kind\":\"webhook\",\"url\":\"not a url\"}", NULL, "handler.url"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\",\"method\":\"TRACE\"}", NULL,
         "handler.method"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\",\"method\":\"GET\",\"body\":{}}", NULL,
         "handler.body"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\",\"headers\":{\"webhook-id\":\"x\"}}", NULL,
         "handler.headers.webhook-id"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\",\"headers\":{\"X-A\":\"a\\nb\"}}", NULL,
         "handler.headers.X-A"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\",\"headers\":{\"X-A\":1}}", NULL,
         "handler.headers.X-A"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\",\"timeout_ms\":0}", NULL,
         "handler.timeout_ms"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\",\"connect_timeout_ms\":\"1\"}", NULL,
         "handler.connect_timeout_ms"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\",\"max_response_bytes\":0}", NULL,
         "handler.max_response_bytes"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\",\"retries\":3}", NULL, "handler.retries"},
        {"{\"kind\":\"webhook\",\"url\":\"https://h/x\",\"ca_file\":\"ca.pem\"}", NULL,
         "handler.ca_file"},
        {"{\"kind\":\"webhook\",\"url\":\"https://h/x\",\"ca_file\":\"/nonexistent/ca.pem\"}",
         NULL, "handler.ca_file"},
        {"{\"kind\":\"webhook\",\"url\":\"https://h/x\",\"ca_file\":7}", NULL,
         "handler.ca_file"},
        {"{\"kind\":\"webhook\",\"url\":\"{{ input.url }}\"}", NULL, "handler.url"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/{{ +++ }}\"}", NULL, "handler.url"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\",\"body\":{\"a\":\"{{ ) }}\"}}", NULL,
         "handler.body.a"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\",\"headers\":{\"X-A\":\"{{ ( }}\"}}",
         NULL, "handler.headers.X-A"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\"}", "{\"secret\":\"whsec_!!\"}",
         "config.secret"},
        {"{\"kind\":\"webhook\",\"url\":\"http://h/x\"}", "{\"secret\":[\"" SECRET "\",3]}",
         "config.secret[1]"},
    };
    struct act_err err;

    subtest("validate");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = validate(bad[i].handler, bad[i].config, &err);

        ok(rc == ACT_EUNPROC || rc == ACT_EINVAL, "refused: %s", bad[i].handler);
        is_str(err.field, bad[i].field, "field %s (%s)", bad[i].field, err.msg);
    }
    is_int(validate("{\"kind\":\"webhook\",\"url\":\"https://hooks.example.com/x\","
                    "\"method\":\"PUT\",\"headers\":{\"X-Tenant\":\"t1\"},\"body\":{\"a\":1},"
                    "\"timeout_ms\":5000,\"connect_timeout_ms\":1000,"
                    "\"max_response_bytes\":4096}",
                    "{\"secret\":[\"" SECRET "\",\"" SECRET2 "\"]}", &err),
           ACT_OK, "a full spec validates");
    is_int(validate("{\"kind\":\"webhook\",\"url\":\"http://h/x\"}", "{}", &err), ACT_OK,
           "the secret is optional");
    ok(act_handler_find("webhook") && act_handler_find("webhook")->start,
       "the kind is registered with an async start()");
}

static void test_success(void)
{
    struct waiter w;
    struct act_err err = {0};
    struct rec r;
    char *want_body;
    int rc;

    subtest("2xx: signed delivery, output");
    rc = run_path("/ok", "", 5000, &w);
    is_int(rc, ACT_OK, "200 succeeds (%s)", w.res.error);
    ok(same(w.res.output, "{\"received\":true}"), "output is the JSON body");
    r = last_rec();
    is_str(r.method, "POST", "POST by default");
    is_str(r.id, "0190aaaa-exec-0001", "webhook-id is the root execution id");
    want_body = json_dumps(test_input(), JSON_COMPACT);
    is_str(r.body, want_body, "the body is the input as compact JSON");
    is_int(act_webhook_verify(SECRET, r.id, r.ts, r.body, strlen(r.body), r.sig,
                              act_time_now_us() / 1000000, 300, &err),
           ACT_OK, "the signature verifies (%s)", err.msg);
    free(want_body); /* jansson's allocator */
    act_free(r.body);
    waiter_release(&w);

    rc = run_path("/empty", "", 5000, &w);
    is_int(rc, ACT_OK, "204 succeeds");
    ok(same(w.res.output, "{\"status\":204}"), "empty body: output {\"status\":204}");
    waiter_release(&w);

    rc = run_path("/text", "", 5000, &w);
    ok(rc == ACT_OK && same(w.res.output, "{\"status\":200,\"body\":\"thanks\"}"),
       "text body: {status, body}");
    waiter_release(&w);

    rc = run_path("/echo",
                  "\"method\":\"PUT\",\"body\":{\"fixed\":[1,2]},\"headers\":{\"X-T\":\"t\"}",
                  5000, &w);
    is_int(rc, ACT_OK, "PUT with a fixed body");
    is_str(json_string_value(json_object_get(w.res.output, "method")), "PUT", "method PUT");
    is_str(json_string_value(json_object_get(w.res.output, "body")), "{\"fixed\":[1,2]}",
           "handler.body sent instead of the input");
    waiter_release(&w);
}

static void test_templates(void)
{
    char extra[512];
    struct act_err err = {0};
    struct waiter w;
    struct rec r;
    void *st;
    int rc;

    subtest("templates: url, headers, body");
    snprintf(extra, sizeof(extra),
             "\"headers\":{\"X-User\":\"{{ input.user_id }}\",\"X-Static\":\"s\"},"
             "\"body\":{\"to\":\"{{ input.email }}\",\"n\":\"{{ execution.attempt }}\","
             "\"msg\":\"hi {{ input.user_id }}\"}");
    st = open_kind("/{{ 'ec' .. 'ho' }}", extra, NULL);
    rc = run_state(st, 5000, &w);
    is_int(rc, ACT_OK, "templated delivery succeeds (%s)", w.res.error);
    r = last_rec();
    is_str(r.path, "/echo", "the url was rendered");
    is_str(r.xuser, "u1", "a header was rendered");
    is_str(r.body, "{\"to\":\"a@example.com\",\"n\":2,\"msg\":\"hi u1\"}",
           "the body was rendered, typed values kept");
    is_int(act_webhook_verify(SECRET, r.id, r.ts, r.body, strlen(r.body), r.sig,
                              act_time_now_us() / 1000000, 300, &err),
           ACT_OK, "the signature covers the rendered body");
    act_free(r.body);
    waiter_release(&w);
    act_handler_find("webhook")->close(st);

    st = open_kind("/echo", "\"body\":{\"x\":\"{{ input.nope.deeper }}\"}", NULL);
    rc = run_state(st, 5000, &w);
    ok(rc < 0 && w.res.permanent, "a failing template fails the attempt permanently");
    ok(strncmp(w.res.error, "handler.body", 12) == 0, "the error names the field: %s",
       w.res.error);
    waiter_release(&w);
    act_handler_find("webhook")->close(st);

    st = open_kind("/{{ input.user_id }}\\r\\nX: y", "", NULL);
    rc = run_state(st, 5000, &w);
    ok(rc < 0 && strncmp(w.res.error, "handler.url", 11) == 0,
       "a rendered URL that does not parse fails: %s", w.res.error);
    waiter_release(&w);
    act_handler_find("webhook")->close(st);
}

static void test_rotation(void)
{
    void *st = open_kind("/ok", "", "{\"secret\":[\"" SECRET "\",\"" SECRET2 "\"]}");
    struct act_err err = {0};
    struct waiter w;
    struct rec r;
    const char *sp;

    subtest("key rotation: one signature per secret");
    is_int(run_state(st, 5000, &w), ACT_OK, "delivered");
    r = last_rec();
    sp = strchr(r.sig, ' ');
    ok(strncmp(r.sig, "v1,", 3) == 0 && sp && strncmp(sp + 1, "v1,", 3) == 0,
       "two v1 entries: %s", r.sig);
    is_int(act_webhook_verify(SECRET, r.id, r.ts, r.body, strlen(r.body), r.sig,
                              act_time_now_us() / 1000000, 300, &err),
           ACT_OK, "the old secret verifies");
    is_int(act_webhook_verify(SECRET2, r.id, r.ts, r.body, strlen(r.body), r.sig,
                              act_time_now_us() / 1000000, 300, &err),
           ACT_OK, "the new secret verifies");
    act_free(r.body);
    waiter_release(&w);
    act_handler_find("webhook")->close(st);
}

static void test_statuses(void)
{
    struct waiter w;
    size_t before;
    int rc;

    subtest("status handling");
    rc = run_path("/gone", "", 5000, &w);
    is_int(rc, ACT_EPLUGIN, "410 fails");
    ok(w.res.permanent, "410 is permanent");
    ok(json_is_true(json_object_get(w.res.error_detail, "disable")) &&
           json_integer_value(json_object_get(w.res.error_detail, "status")) == 410,
       "410 detail asks to disable the action");
    waiter_release(&w);

    rc = run_path("/busy", "", 5000, &w);
    is_int(rc, ACT_EPLUGIN, "429 fails");
    is_int(w.res.retry_after_ms, 2000, "429 Retry-After: 2 -> 2000 ms");
    ok(!w.res.permanent, "429 is retryable");
    waiter_release(&w);

    rc = run_path("/unavail", "", 5000, &w);
    is_int(w.res.retry_after_ms, 3000, "503 Retry-After: 3 -> 3000 ms");
    is_str(w.res.error, "HTTP 503", "503 without a body");
    waiter_release(&w);

    before = n_recs();
    rc = run_path("/redirect", "", 5000, &w);
    is_int(rc, ACT_EPLUGIN, "302 fails");
    is_str(w.res.error, "HTTP 302: redirect not followed", "302 is not followed");
    is_str(json_string_value(json_object_get(w.res.error_detail, "location")),
           "http://127.0.0.1:1/internal", "the location is in the detail");
    is_int(n_recs() - before, 1, "only the redirecting request was made");
    waiter_release(&w);

    rc = run_path("/fail", "", 5000, &w);
    is_str(w.res.error, "HTTP 500: database exploded line two", "500: start of the body");
    ok(!w.res.permanent && w.res.retry_after_ms == -1, "500 is retryable, no delay asked");
    waiter_release(&w);
}

static void test_limits(void)
{
    struct waiter w;
    int64_t t0 = act_time_mono_us();
    int rc;

    subtest("timeouts and the response cap");
    rc = run_path("/hang", "\"timeout_ms\":300", 20000, &w);
    is_int(rc, ACT_ETIMEDOUT, "a hanging receiver times out");
    is_str(w.res.error, "timed out after 300 ms", "message names the timeout");
    ok(act_time_mono_us() - t0 < 1400000, "gave up before the receiver's 1.5 s hang");
    waiter_release(&w);

    rc = run_path("/hang", "", 250, &w);
    is_int(rc, ACT_ETIMEDOUT, "the action's timeout applies when smaller");
    waiter_release(&w);

    rc = run_path("/huge", "\"max_response_bytes\":1000", 5000, &w);
    is_int(rc, ACT_ETOOBIG, "a huge body is cut off");
    is_str(w.res.error, "response over 1000 bytes", "message names the cap");
    waiter_release(&w);

    rc = run_path("/ok", "\"connect_timeout_ms\":2000", 5000, &w);
    is_int(rc, ACT_OK, "connect_timeout_ms accepted");
    waiter_release(&w);
}

static void test_keepalive(void)
{
    void *st = open_kind("/ok", "", NULL);
    struct waiter ws[40];
    int before = atomic_load(&S.accepts), rc = 0;
    struct act_handler_call call = CALL;
    json_t *cfg = json_object();

    subtest("keep-alive reuse and concurrency");
    for (int i = 0; i < 5; i++) {
        struct waiter w;

        rc |= run_state(st, 5000, &w);
        waiter_release(&w);
    }
    is_int(rc, ACT_OK, "five sequential deliveries succeed");
    is_int(atomic_load(&S.accepts) - before, 1, "over one kept-alive connection");

    call.input = test_input();
    call.config = cfg;
    for (int i = 0; i < 40; i++) {
        waiter_init(&ws[i]);
        if (act_handler_find("webhook")->start(st, &call, &ws[i].res, on_done, &ws[i]) < 0)
            on_done(&ws[i], ACT_EIO);
    }
    rc = 0;
    for (int i = 0; i < 40; i++) {
        waiter_wait(&ws[i], 1);
        rc |= ws[i].rc;
        waiter_release(&ws[i]);
    }
    is_int(rc, ACT_OK, "40 concurrent deliveries succeed");
    ok(atomic_load(&S.accepts) - before <= 1 + ACT_HTTP_LOOP_MAX_HOST_CONNECTIONS,
       "connections stay under the per-host cap");
    json_decref(cfg);
    act_handler_find("webhook")->close(st);
}

static void test_refused(void)
{
    struct act_err err = {0};
    struct waiter w;
    int before;
    size_t recs;
    int rc;

    subtest("egress guard");
    act_ssrf_set_allow("", &err);
    before = atomic_load(&S.accepts);
    recs = n_recs();
    rc = run_path("/ok", "", 5000, &w);
    is_int(rc, ACT_EPLUGIN, "loopback refused without egress.allow");
    is_str(w.res.error, "refused 127.0.0.1: loopback (egress.allow does not admit it)",
           "the error names the address and the rule");
    ok(w.res.permanent, "a refusal is permanent");
    is_int(atomic_load(&S.accepts) - before, 0, "no connection was made");
    is_int(n_recs() - recs, 0, "no request arrived");
    waiter_release(&w);
    act_ssrf_set_allow("127.0.0.0/8", &err);
}

static void test_close_in_flight(void)
{
    void *st = open_kind("/hang", "\"timeout_ms\":30000", NULL);
    struct act_handler_call call = CALL;
    json_t *cfg = json_object();
    struct waiter w;
    int64_t t0;

    subtest("close() with attempts in flight");
    waiter_init(&w);
    call.input = test_input();
    call.config = cfg;
    for (int i = 0; i < 5; i++)
        if (act_handler_find("webhook")->start(st, &call, &w.res, on_done, &w) < 0)
            on_done(&w, ACT_EIO);
    usleep(100000); /* let some reach the receiver */
    t0 = act_time_mono_us();
    act_handler_find("webhook")->close(st);
    pthread_mutex_lock(&w.lock);
    is_int(w.n_done, 5, "every attempt was finished before close() returned");
    pthread_mutex_unlock(&w.lock);
    ok(act_time_mono_us() - t0 < 1000000, "close() did not wait for the receiver");
    ok(strstr(w.res.error, "cancelled") != NULL, "they failed as cancelled: %s", w.res.error);
    waiter_release(&w);
    json_decref(cfg);
}

/* ---- end to end through the engine ---- */

static char data_dir[256];

static json_t *engine_call(struct act_engine *e, const char *what, const char *body)
{
    json_t *b = js(body), *out = NULL;
    struct act_err err = {0};
    int rc = strcmp(what, "action") == 0 ? act_engine_action_create(e, b, &out, &err)
                                         : act_engine_sub_create(e, b, &out, &err);

    json_decref(b);
    if (rc < 0)
        diag("create %s: %s (%s)", what, err.msg, err.field);
    return out;
}

static void add_action(struct act_engine *e, const char *name, const char *path,
                       const char *extra, const char *pattern)
{
    char *body = act_xasprintf("{\"name\":\"%s\",\"handler\":{\"kind\":\"webhook\","
                               "\"url\":\"http://127.0.0.1:%d%s\"},\"config\":{\"secret\":\""
                               SECRET "\"}%s}",
                               name, S.port, path, extra);
    json_t *a = engine_call(e, "action", body), *s;
    char *sub = act_xasprintf("{\"action_id\":\"%s\",\"event_patterns\":[\"%s\"]}",
                              json_string_value(json_object_get(a, "id")), pattern);

    s = engine_call(e, "sub", sub);
    json_decref(a);
    json_decref(s);
    act_free(body);
    act_free(sub);
}

/* Ingest n events of `type`; the ids of their first executions into ids. */
static void emit(struct act_engine *e, const char *type, int n, char ids[][64])
{
    for (int i = 0; i < n; i++) {
        char *text = act_xasprintf("{\"id\":\"ev-%s-%d\",\"source\":\"/t\",\"type\":\"%s\","
                                   "\"specversion\":\"1.0\",\"data\":{\"i\":%d}}",
                                   type, i, type, i);
        json_t *ev = js(text), *reply = NULL;
        struct act_err err = {0};

        if (act_engine_ingest(e, &ev, 1, &reply, &err) < 0)
            diag("ingest: %s", err.msg);
        snprintf(ids[i], 64, "%s",
                 json_string_value(json_object_get(
                     json_array_get(json_object_get(reply, "executions"), 0), "id")));
        json_decref(reply);
        json_decref(ev);
        act_free(text);
    }
}

static void test_engine(void)
{
    struct act_engine_conf conf = {.data_dir = data_dir, .workers = 2, .drain_timeout_ms = 5000};
    struct act_engine *e = NULL;
    struct act_err err = {0};
    char ids[20][64];
    int n_ok = 0;
    json_t *x = NULL;

    subtest("engine: events in, signed deliveries out");
    if (act_engine_open(&conf, &e, &err) < 0) {
        ok(0, "engine opens: %s", err.msg);
        return;
    }
    add_action(e, "hook_ok", "/ok", "", "orders.paid");
    add_action(e, "hook_flaky", "/flaky",
               ",\"retry_policy\":{\"max_retries\":2,\"initial_delay_ms\":10,"
               "\"backoff\":\"fixed\",\"jitter\":false}",
               "orders.flaky");
    add_action(e, "hook_hang", "/hang", "", "orders.hang");
    emit(e, "orders.paid", 20, ids);
    for (int i = 0; i < 20; i++) {
        if (act_engine_exec_wait(e, ids[i], 20000, &x, &err) == 0 &&
            strcmp(json_string_value(json_object_get(x, "status")), "succeeded") == 0)
            n_ok++;
        json_decref(x);
        x = NULL;
    }
    is_int(n_ok, 20, "20 events -> 20 succeeded webhook executions");

    emit(e, "orders.flaky", 1, ids);
    if (act_engine_exec_wait(e, ids[0], 20000, &x, &err) == 0)
        is_str(json_string_value(json_object_get(x, "status")), "succeeded",
               "a failed first attempt is retried and succeeds");
    else
        ok(0, "the flaky execution finished: %s", err.msg);
    json_decref(x);
    is_int(count_id(ids[0]), 2, "both attempts carried webhook-id = the first execution's id");

    /* Attempts still waiting on the receiver when the engine closes. */
    emit(e, "orders.hang", 3, ids);
    usleep(200000);
    act_engine_close(e);
    ok(1, "engine closed with webhook attempts in flight");
}

int main(void)
{
    struct act_err err = {0};
    char cmd[300];

    signal(SIGPIPE, SIG_IGN);
    server_start();
    act_ssrf_set_allow("127.0.0.0/8", &err);
    test_validate();
    test_success();
    test_templates();
    test_rotation();
    test_statuses();
    test_limits();
    test_keepalive();
    test_refused();
    test_close_in_flight();
    snprintf(data_dir, sizeof(data_dir), "/tmp/act-webhook-test-%d", (int)getpid());
    test_engine();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
    if (system(cmd) != 0)
        diag("cannot remove %s", data_dir);
    server_stop();
    return done_testing();
}
