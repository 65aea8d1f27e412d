/*
 * Kind `webhook`: deliver an attempt as a signed HTTP request, without a
 * thread per request.
 *
 *   handler: {"kind": "webhook", "url": "https://...", "method"?: "POST",
 *             "headers"?: {"Name": "value"}, "body"?: <JSON value>,
 *             "timeout_ms"?: 10000, "connect_timeout_ms"?: N,
 *             "max_response_bytes"?: 1048576}
 *   config:  {"secret"?: "whsec_..." | "v1:<sealed>" | [one or more of those]}
 *
 * start() runs on a worker: it builds the body (handler.body as compact
 * JSON, default the attempt's input), the Standard Webhooks headers
 * (webhook-id = the root execution id, constant across retries;
 * webhook-timestamp; webhook-signature with one "v1," entry per secret),
 * configures a libcurl easy handle and submits it to the shared HTTP loop
 * (http_loop.h), then returns.  The loop thread later calls on_xfer_done,
 * which turns the answer into the result and calls done(ud, rc).
 *
 * Outcomes (docs/internals/webhook.md):
 *   2xx        success; output = the JSON body, {"status": N} when empty,
 *              {"status": N, "body": text} when not JSON
 *   3xx        failure, never followed ("HTTP 302: redirect not followed")
 *   410        permanent failure, error_detail {"status": 410, "disable": true}
 *   429, 503   failure with res->retry_after_ms from Retry-After
 *   other      failure "HTTP N: <start of the body>"
 *   refused    permanent failure "refused 127.0.0.1: loopback (egress.allow
 *              does not admit it)" from the SSRF guard (ssrf.h)
 *   transport  timeouts (connect, total), response over the cap, refused
 *              connections, DNS, TLS
 *
 * Every request: http/https only, no redirects, no proxy (the environment
 * is ignored), HTTP/1.1, the SSRF guard on every socket.
 *
 * Invariants: the state is immutable after open, so start() runs from many
 * workers at once; an attempt owns its easy handle, header list and body
 * until on_xfer_done frees them; close() cancels the state's transfers
 * through the loop (their done callbacks run) before freeing the state.
 */
#include "base/alloc.h"
#include "base/time.h"
#include "handler/handler_http.h"
#include "handler/handler_internal.h"
#include "handler/handler_webhook.h"
#include "handler/http_client.h"
#include "handler/http_loop.h"
#include "handler/secret_box.h"
#include "handler/ssrf.h"
#include "handler/webhook_sign.h"
#include "lua/lua.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ERROR_BODY 200
#define DETAIL_BODY 1024
#define RETRY_AFTER_MAX_MS (7LL * 24 * 3600 * 1000)

struct webhook_state {
    struct act_http_loop *loop;
    char *url;            /* normalised by CURLU (numeric IPv4 forms spelled out);
                           * NULL when url_tpl is set */
    char hostport[300];   /* for messages: no path or query (they may hold tokens) */
    char method[16];
    char **headers;       /* NULL-terminated "Name: value" lines (static ones only) */
    json_t *url_tpl;      /* handler.url when it holds templates */
    json_t *headers_tpl;  /* the templated members of handler.headers, or NULL */
    json_t *body;         /* handler.body, or NULL: the input */
    bool body_tpl;        /* body holds templates */
    int64_t timeout_ms, connect_timeout_ms;
    size_t max_response;
    struct act_webhook_key keys[ACT_WEBHOOK_MAX_SECRETS];
    size_t n_keys;
};

struct attempt {
    struct act_http_xfer xfer; /* first: on_xfer_done casts back */
    const struct webhook_state *st;
    char *url;                  /* rendered, or NULL: st->url */
    char hostport[300];
    struct act_handler_result *res;
    act_handler_done_fn *done;
    void *ud;
    struct curl_slist *hdrs;
    char *body;
    size_t body_len;
    int64_t timeout_ms, connect_ms;
    char *resp;                 /* response body, bounded by st->max_response */
    size_t resp_len, resp_cap;
    bool over, has_retry_after;
    struct act_ssrf_guard guard;
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- state ---- */

static void webhook_close(void *state)
{
    struct webhook_state *st = state;

    if (!st)
        return;
    if (st->loop) {
        act_http_loop_cancel(st->loop, st); /* every in-flight attempt ends first */
        act_http_loop_release(st->loop);
    }
    for (size_t i = 0; st->headers && st->headers[i]; i++)
        act_free(st->headers[i]);
    act_free(st->headers);
    act_free(st->url);
    json_decref(st->url_tpl);
    json_decref(st->headers_tpl);
    json_decref(st->body);
    OPENSSL_cleanse(st->keys, sizeof(st->keys));
    act_free(st);
}

static int64_t int_member(const json_t *handler, const char *name, int64_t def)
{
    const json_t *v = json_object_get(handler, name);

    return v ? (int64_t)json_integer_value(v) : def;
}

static int webhook_open(const json_t *handler, const json_t *config, void **state,
                        struct act_err *err)
{
    const json_t *headers = json_object_get(handler, "headers");
    const json_t *method = json_object_get(handler, "method");
    struct webhook_state *st;
    size_t n = 0;
    const char *k;
    json_t *v;
    int rc = ACT_OK;

    *state = NULL;
    if ((rc = act_webhook_spec_validate(handler, config, err)) < 0)
        return rc;
    st = act_xcalloc(1, sizeof(*st));
    snprintf(st->method, sizeof(st->method), "%s", method ? json_string_value(method) : "POST");
    st->timeout_ms = int_member(handler, "timeout_ms", ACT_HTTP_KIND_TIMEOUT_DEFAULT_MS);
    st->connect_timeout_ms = int_member(handler, "connect_timeout_ms", 0);
    st->max_response = (size_t)int_member(handler, "max_response_bytes",
                                          (int64_t)ACT_HTTP_MAX_RESPONSE_DEFAULT);
    st->body = json_deep_copy(json_object_get(handler, "body"));
    st->body_tpl = act_webhook_has_template(st->body);
    st->headers = act_xcalloc(json_object_size(headers) + 2, sizeof(*st->headers));
    st->headers[n++] = act_xstrdup("User-Agent: " ACT_HTTP_USER_AGENT);
    json_object_foreach((json_t *)headers, k, v) {
        if (!act_webhook_has_template(v)) {
            st->headers[n++] = act_xasprintf("%s: %s", k, json_string_value(v));
            continue;
        }
        if (!st->headers_tpl)
            st->headers_tpl = json_object();
        json_object_set(st->headers_tpl, k, v);
    }
    if (act_webhook_has_template(json_object_get(handler, "url")))
        st->url_tpl = json_deep_copy(json_object_get(handler, "url"));
    else
        rc = act_webhook_parse_url(json_string_value(json_object_get(handler, "url")), &st->url,
                       st->hostport, sizeof(st->hostport), err);
    if (rc < 0 ||
        (rc = act_webhook_load_keys(config, st->keys, &st->n_keys, err)) < 0 ||
        (rc = act_http_loop_acquire(&st->loop, err)) < 0) {
        webhook_close(st);
        return rc;
    }
    *state = st;
    return ACT_OK;
}

/* ---- the answer ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct attempt *a = ud;
    size_t n = size * nmemb, max = a->st->max_response;

    if (n > max - a->resp_len) {
        a->over = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (a->resp_cap - a->resp_len < n + 1) {
        size_t cap = a->resp_cap ? a->resp_cap : 1024;

        while (cap - a->resp_len < n + 1)
            cap *= 2;
        a->resp = act_xrealloc(a->resp, cap);
        a->resp_cap = cap;
    }
    memcpy(a->resp + a->resp_len, data, n);
    a->resp_len += n;
    a->resp[a->resp_len] = '\0';
    return n;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
    struct attempt *a = ud;
    size_t n = size * nmemb;

    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0)
        a->has_retry_after = false; /* a new (interim or final) response */
    else if (n >= 12 && strncasecmp(line, "retry-after:", 12) == 0)
        a->has_retry_after = true;
    return n;
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

static json_t *success_output(const struct attempt *a, long status)
{
    json_t *out;
    char *text;

    if (!a->resp || blank(a->resp, a->resp_len))
        return json_pack("{s:i}", "status", (int)status);
    if ((out = json_loadb(a->resp, a->resp_len, JSON_DECODE_ANY, NULL)))
        return out;
    text = act_xmalloc(a->resp_len + 1);
    act_handler_clean_text(text, a->resp_len + 1, a->resp, a->resp_len, false);
    out = json_pack("{s:i,s:s}", "status", (int)status, "body", text);
    act_free(text);
    return out;
}

static int http_failure(struct attempt *a, CURL *h, long status)
{
    struct act_handler_result *res = a->res;
    const char *body = a->resp ? a->resp : "";
    char start[ERROR_BODY + 8], detail[DETAIL_BODY + 8];
    size_t skip = 0, len = a->resp_len;
    curl_off_t retry_after = -1;
    char *location = NULL;

    while (skip < len && isspace((unsigned char)body[skip]))
        skip++;
    act_handler_clean_text(start, sizeof(start), body + skip,
                           len - skip < ERROR_BODY ? len - skip : ERROR_BODY, true);
    act_handler_clean_text(detail, sizeof(detail), body, len < DETAIL_BODY ? len : DETAIL_BODY,
                           false);
    res->error_detail = json_pack("{s:i,s:s}", "status", (int)status, "body", detail);
    if ((status == 429 || status == 503) && a->has_retry_after &&
        curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after >= 0) {
        res->retry_after_ms = retry_after > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS
                                                                      : retry_after * 1000;
        json_object_set_new(res->error_detail, "retry_after_ms",
                            json_integer(res->retry_after_ms));
    }
    if (status == 410) {
        /* The receiver says the endpoint is gone for good: no retry, and a
         * health note asking the engine to disable the action. */
        res->permanent = true;
        json_object_set_new(res->error_detail, "disable", json_true());
    }
    if (status >= 300 && status < 400) {
        if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
            json_object_set_new(res->error_detail, "location", json_string(location));
        return act_handler_fail(res, ACT_EPLUGIN, "HTTP %ld: redirect not followed", status);
    }
    if (!start[0])
        return act_handler_fail(res, ACT_EPLUGIN, "HTTP %ld", status);
    return act_handler_fail(res, ACT_EPLUGIN, "HTTP %ld: %s", status, start);
}

/* A transfer that ended without an HTTP answer. */
static int transfer_error(struct attempt *a, CURL *h, CURLcode cc)
{
    struct act_handler_result *res = a->res;
    const char *hp = a->hostport, *why = a->errbuf[0] ? a->errbuf : curl_easy_strerror(cc);
    curl_off_t connect_us = 0;
    long os_errno = 0;

    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
    if (a->guard.n_refused > 0 && cc == CURLE_COULDNT_CONNECT) {
        res->permanent = true; /* policy, not luck: retrying cannot help */
        return act_handler_fail(res, ACT_EPLUGIN, "%s", a->guard.refused);
    }
    switch (cc) {
    case CURLE_ABORTED_BY_CALLBACK:
        return act_handler_fail(res, ACT_EPLUGIN, "cancelled: the webhook handler was closed");
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (a->over || cc == CURLE_FILESIZE_EXCEEDED)
            return act_handler_fail(res, ACT_ETOOBIG, "response over %zu bytes",
                                    a->st->max_response);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        if (connect_us == 0 && a->connect_ms < a->timeout_ms)
            return act_handler_fail(res, ACT_ETIMEDOUT, "connect to %s timed out after %lld ms",
                                    hp, (long long)a->connect_ms);
        return act_handler_fail(res, ACT_ETIMEDOUT, "timed out after %lld ms",
                                (long long)a->timeout_ms);
    case CURLE_COULDNT_CONNECT:
        return act_handler_fail(res, ACT_EPLUGIN, "connect to %s failed: %s", hp,
                                os_errno ? strerror((int)os_errno) : why);
    case CURLE_COULDNT_RESOLVE_HOST:
        return act_handler_fail(res, ACT_EPLUGIN, "cannot resolve the host of %s", hp);
    case CURLE_GOT_NOTHING:
        return act_handler_fail(res, ACT_EPLUGIN, "connection to %s closed without a response",
                                hp);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        if (os_errno == ECONNRESET || os_errno == EPIPE)
            return act_handler_fail(res, ACT_EPLUGIN, "connection to %s reset by peer", hp);
        break;
    default:
        break;
    }
    return act_handler_fail(res, ACT_EPLUGIN, "request to %s failed: %s", hp, why);
}

static void attempt_free(struct attempt *a)
{
    if (a->xfer.easy)
        curl_easy_cleanup(a->xfer.easy);
    curl_slist_free_all(a->hdrs);
    act_free(a->url);
    act_free(a->body);
    act_free(a->resp);
    act_free(a);
}

/* The loop says the transfer ended: fill the result, free, report. */
static void on_xfer_done(struct act_http_xfer *x, CURLcode cc)
{
    struct attempt *a = (struct attempt *)x;
    act_handler_done_fn *done = a->done;
    void *ud = a->ud;
    long status = 0;
    int rc;

    if (cc == CURLE_OK) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            a->res->output = success_output(a, status);
            rc = ACT_OK;
        } else {
            rc = http_failure(a, x->easy, status);
        }
    } else {
        rc = transfer_error(a, x->easy, cc);
    }
    attempt_free(a);
    done(ud, rc);
}

/* ---- one attempt ---- */

static void add_header(struct attempt *a, const char *line)
{
    struct curl_slist *next = curl_slist_append(a->hdrs, line);

    if (!next)
        ACT_BUG("curl_slist_append: out of memory");
    a->hdrs = next;
}

/* The template scope of an attempt: {event, input, config, execution}. */
static json_t *make_scope(const struct act_handler_call *call)
{
    json_t *scope = json_object();

    if (call->event)
        json_object_set(scope, "event", (json_t *)call->event);
    json_object_set(scope, "input", (json_t *)call->input);
    json_object_set(scope, "config", (json_t *)call->config);
    json_object_set_new(scope, "execution",
                        json_pack("{s:s?,s:i,s:s?}", "id", call->execution_id, "attempt",
                                  call->attempt, "action", call->action_name));
    return scope;
}

/* A rendered value that went wrong is the event's doing, not luck: the
 * same event renders the same way, so the failure is permanent. */
static int render_failed(struct attempt *a, const char *what, const struct act_err *e)
{
    a->res->permanent = true;
    return act_handler_fail(a->res, e->code < 0 ? e->code : ACT_EPLUGIN, "%s%s%s: %s", what,
                            e->field[0] ? "." : "", e->field, e->msg);
}

static int render_url(struct attempt *a, const json_t *scope)
{
    struct act_err e = {0};
    json_t *out = NULL;
    int rc;

    if ((rc = act_template_render(a->st->url_tpl, scope, &out, &e)) < 0)
        return render_failed(a, "handler.url", &e);
    if (!json_is_string(out)) {
        json_decref(out);
        a->res->permanent = true;
        return act_handler_fail(a->res, ACT_EPLUGIN, "handler.url: rendered to a non-string");
    }
    rc = act_webhook_parse_url(json_string_value(out), &a->url, a->hostport, sizeof(a->hostport), &e);
    json_decref(out);
    return rc < 0 ? render_failed(a, "handler.url", &e) : ACT_OK;
}

static int render_headers(struct attempt *a, const json_t *scope)
{
    struct act_err e = {0};
    json_t *out = NULL, *v;
    const char *k;
    int rc = ACT_OK;

    if (act_template_render(a->st->headers_tpl, scope, &out, &e) < 0)
        return render_failed(a, "handler.headers", &e);
    json_object_foreach(out, k, v) {
        size_t len = 0;
        char *text = json_is_string(v) ? act_xstrdup(json_string_value(v))
                                       : act_handler_dump(v, &len);
        char *line = NULL;

        for (const char *c = text; *c && rc == ACT_OK; c++)
            if ((unsigned char)*c < 0x20 && *c != '\t') {
                a->res->permanent = true;
                rc = act_handler_fail(a->res, ACT_EPLUGIN,
                                      "handler.headers.%.64s: rendered value contains a control "
                                      "character", k);
            }
        if (rc == ACT_OK) {
            line = act_xasprintf("%s: %s", k, text);
            add_header(a, line);
        }
        act_free(line);
        act_free(text);
        if (rc < 0)
            break;
    }
    json_decref(out);
    return rc;
}

static int render_body(struct attempt *a, const json_t *scope)
{
    struct act_err e = {0};
    json_t *out = NULL;

    if (act_template_render(a->st->body, scope, &out, &e) < 0)
        return render_failed(a, "handler.body", &e);
    a->body = act_handler_dump(out, &a->body_len);
    json_decref(out);
    return ACT_OK;
}

/* Render the templated parts (url, headers, body) with Lua. */
static int render_templates(struct attempt *a, const struct act_handler_call *call)
{
    const struct webhook_state *st = a->st;
    bool get = strcmp(st->method, "GET") == 0;
    json_t *scope;
    int rc = ACT_OK;

    memcpy(a->hostport, st->hostport, sizeof(a->hostport));
    if (!st->url_tpl && !st->headers_tpl && !(st->body_tpl && !get))
        return ACT_OK;
    scope = make_scope(call);
    if (st->url_tpl)
        rc = render_url(a, scope);
    if (rc == ACT_OK && st->headers_tpl)
        rc = render_headers(a, scope);
    if (rc == ACT_OK && st->body_tpl && !get)
        rc = render_body(a, scope);
    json_decref(scope);
    return rc;
}

/* Body, then the signed Standard Webhooks headers. */
static int build_request(struct attempt *a, const struct act_handler_call *call)
{
    const struct webhook_state *st = a->st;
    const char *wid = call->root_id && call->root_id[0] ? call->root_id : call->execution_id;
    int64_t ts = act_time_now_us() / 1000000;
    struct act_err err = {0};
    char *sig = NULL, *line;
    bool get = strcmp(st->method, "GET") == 0;

    if (!get && !a->body)
        a->body = act_handler_dump(st->body ? st->body : call->input, &a->body_len);
    for (size_t i = 0; st->headers[i]; i++)
        add_header(a, st->headers[i]);
    if (!get)
        add_header(a, "Content-Type: application/json");
    add_header(a, "Expect:");
    line = act_xasprintf("webhook-id: %s", wid);
    add_header(a, line);
    act_free(line);
    line = act_xasprintf("webhook-timestamp: %lld", (long long)ts);
    add_header(a, line);
    act_free(line);
    if (st->n_keys == 0)
        return ACT_OK;
    if (act_webhook_sign_keys(wid, ts, a->body ? a->body : "", a->body_len, st->keys,
                              st->n_keys, &sig, &err) < 0)
        return act_handler_fail(a->res, ACT_EPLUGIN, "cannot sign the request: %s", err.msg);
    line = act_xasprintf("webhook-signature: %s", sig);
    add_header(a, line);
    act_free(line);
    act_free(sig);
    return ACT_OK;
}

static void set_options(struct attempt *a)
{
    const struct webhook_state *st = a->st;
    CURL *h = a->xfer.easy;

    curl_easy_setopt(h, CURLOPT_URL, a->url ? a->url : st->url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, a->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)a->connect_ms);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)st->max_response);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, a->hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    if (a->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)a->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, a->body);
        if (strcmp(st->method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, st->method);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    act_ssrf_guard_install(h, &a->guard);
}

static int webhook_start(void *state, const struct act_handler_call *call,
                         struct act_handler_result *res, act_handler_done_fn *done, void *ud)
{
    const struct webhook_state *st = state;
    struct attempt *a = act_xcalloc(1, sizeof(*a));
    int rc;

    res->retry_after_ms = -1;
    a->st = st;
    a->res = res;
    a->done = done;
    a->ud = ud;
    a->timeout_ms = st->timeout_ms;
    if (call->timeout_ms > 0 && call->timeout_ms < a->timeout_ms)
        a->timeout_ms = call->timeout_ms;
    a->connect_ms = st->connect_timeout_ms > 0 ? st->connect_timeout_ms
                                               : ACT_HTTP_CONNECT_TIMEOUT_MAX_MS;
    if (a->connect_ms > a->timeout_ms)
        a->connect_ms = a->timeout_ms;
    if ((rc = render_templates(a, call)) < 0 || (rc = build_request(a, call)) < 0) {
        attempt_free(a);
        return rc;
    }
    if (!(a->xfer.easy = curl_easy_init())) {
        attempt_free(a);
        return act_handler_fail(res, ACT_EIO, "libcurl could not create a handle");
    }
    set_options(a);
    a->xfer.owner = st;
    a->xfer.on_done = on_xfer_done;
    act_http_loop_submit(st->loop, &a->xfer);
    return ACT_OK;
}

/* The synchronous path (callers without done callbacks): start, then wait. */
struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    int rc;
};

static void on_sync_done(void *ud, int rc)
{
    struct sync_wait *w = ud;

    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static int webhook_execute(void *state, const struct act_handler_call *call,
                           struct act_handler_result *res)
{
    struct sync_wait w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    int rc = webhook_start(state, call, res, on_sync_done, &w);

    if (rc < 0)
        return rc;
    pthread_mutex_lock(&w.lock);
    while (!w.done)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return w.rc;
}

const struct act_handler_ops act_handler_webhook_ops = {
    .kind = "webhook",
    .capabilities = "[\"async\",\"timeout\",\"remote\",\"signed\",\"retry_after\","
                    "\"egress_guard\"]",
    .schema =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
        "\"type\":\"object\",\"required\":[\"kind\",\"url\"],\"additionalProperties\":false,"
        "\"properties\":{"
        "\"kind\":{\"const\":\"webhook\"},"
        "\"url\":{\"type\":\"string\",\"format\":\"uri\",\"pattern\":\"^[Hh][Tt][Tt][Pp][Ss]?://\","
        "\"maxLength\":2048,\"description\":\"the receiver; the connected address must pass "
        "the egress guard (egress.allow)\"},"
        "\"method\":{\"enum\":[\"POST\",\"PUT\",\"PATCH\",\"DELETE\",\"GET\"],"
        "\"default\":\"POST\"},"
        "\"headers\":{\"type\":\"object\",\"maxProperties\":64,"
        "\"additionalProperties\":{\"type\":\"string\",\"maxLength\":8192}},"
        "\"body\":{\"description\":\"any JSON value sent as the body; default: the input\"},"
        "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000,"
        "\"default\":10000},"
        "\"connect_timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":600000,"
        "\"default\":10000},"
        "\"max_response_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864,"
        "\"default\":1048576}},"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"properties\":{"
        "\"secret\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"array\",\"minItems\":1,"
        "\"maxItems\":8,\"items\":{\"type\":\"string\"}}],"
        "\"description\":\"whsec_<base64 key> or a sealed v1: value; several while rotating "
        "(one webhook-signature entry each)\"}}}}}",
    .validate = act_webhook_spec_validate,
    .open = webhook_open,
    .execute = webhook_execute,
    .close = webhook_close,
    .start = webhook_start,
};
