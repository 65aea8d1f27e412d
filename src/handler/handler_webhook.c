/*
 * Kind `webhook`: deliver an attempt as a signed HTTP request, without a
 * thread per request; and the machinery every provider preset
 * (handler_preset_*.c) runs on.
 *
 *   handler: {"kind": "webhook", "url": "https://...", "method"?: "POST",
 *             "headers"?: {"Name": "value"}, "body"?: <JSON value>,
 *             "timeout_ms"?: 10000, "connect_timeout_ms"?: N,
 *             "max_response_bytes"?: 1048576}
 *   config:  {"secret"?: "whsec_..." | "v1:<sealed>" | [one or more of those]}
 *
 * A state is opened from a struct act_webhook_desc (handler_webhook.h):
 * kind `webhook` fills one from its spec (JSON body, Standard Webhooks
 * headers), a preset from its own.  start() runs on a worker: it builds the
 * request (act_webhook_build, handler_webhook_build.c: URL, body, headers,
 * Standard Webhooks headers with webhook-id = the root execution id,
 * constant across retries, the sign hook), configures a libcurl easy
 * handle and submits it to the shared HTTP loop (http_loop.h), then
 * returns.  The loop thread later calls on_xfer_done, which turns the
 * answer into the result (the interpret hook first, when the description
 * has one) and calls done(ud, rc).
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
 * workers at once; an attempt owns its easy handle, header list and request
 * until on_xfer_done frees them; close() cancels the state's transfers
 * through the loop (their done callbacks run) before freeing the state.
 */
#include "base/alloc.h"
#include "handler/handler_http.h"
#include "handler/handler_internal.h"
#include "handler/handler_webhook.h"
#include "handler/http_client.h"
#include "handler/http_loop.h"
#include "handler/secret_box.h"
#include "handler/ssrf.h"
#include "handler/webhook_sign.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ERROR_BODY 200
#define DETAIL_BODY 1024
#define RETRY_AFTER_MAX_MS (7LL * 24 * 3600 * 1000)
#define RESP_HEADERS_MAX 16384 /* bytes of response headers kept for an interpret hook */

struct attempt {
    struct act_http_xfer xfer; /* first: on_xfer_done casts back */
    const struct act_webhook_state *st;
    struct act_webhook_req req;
    struct act_handler_result *res;
    act_handler_done_fn *done;
    void *ud;
    struct curl_slist *hdrs;
    int64_t timeout_ms, connect_ms;
    char *resp;                 /* response body, bounded by max_response */
    size_t resp_len, resp_cap, max_response;
    struct act_buf rhead;      /* the final response's header lines (interpret hook only) */
    bool over, has_retry_after;
    struct act_ssrf_guard guard;
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- the description and the state ---- */

void act_webhook_desc_release(struct act_webhook_desc *d)
{
    act_secret_free(d->url); /* a Slack webhook URL is a credential */
    json_decref(d->url_tpl);
    json_decref(d->query);
    json_decref(d->headers);
    json_decref(d->body);
    act_free(d->ca_file);
    if (d->auth_line)
        act_secret_free(d->auth_line);
    if (d->ctx_free)
        d->ctx_free(d->ctx);
    OPENSSL_cleanse(d, sizeof(*d));
}

static int64_t int_member(const json_t *handler, const char *name, int64_t def)
{
    const json_t *v = json_object_get(handler, name);

    return v ? (int64_t)json_integer_value(v) : def;
}

void act_webhook_desc_limits(struct act_webhook_desc *d, const json_t *handler)
{
    d->timeout_ms = int_member(handler, "timeout_ms", ACT_HTTP_KIND_TIMEOUT_DEFAULT_MS);
    d->connect_timeout_ms = int_member(handler, "connect_timeout_ms", 0);
    d->max_response = (size_t)int_member(handler, "max_response_bytes",
                                         (int64_t)ACT_HTTP_MAX_RESPONSE_DEFAULT);
}

void act_webhook_close(void *state)
{
    struct act_webhook_state *st = state;

    if (!st)
        return;
    if (st->loop) {
        act_http_loop_cancel(st->loop, st); /* every in-flight attempt ends first */
        act_http_loop_release(st->loop);
    }
    for (size_t i = 0; st->headers && st->headers[i]; i++)
        act_secret_free(st->headers[i]); /* configured headers may carry keys */
    act_free(st->headers);
    json_decref(st->headers_tpl);
    act_webhook_desc_release(&st->d);
    act_free(st);
}

int act_webhook_open_desc(struct act_webhook_desc *d, void **state, struct act_err *err)
{
    struct act_webhook_state *st = act_xcalloc(1, sizeof(*st));
    size_t n = 0;
    const char *k;
    json_t *v;
    int rc = ACT_OK;

    *state = NULL;
    st->d = *d;
    memset(d, 0, sizeof(*d));
    if (!st->d.method[0])
        snprintf(st->d.method, sizeof(st->d.method), "POST");
    if (st->d.timeout_ms <= 0)
        st->d.timeout_ms = ACT_HTTP_KIND_TIMEOUT_DEFAULT_MS;
    if (st->d.max_response == 0)
        st->d.max_response = ACT_HTTP_MAX_RESPONSE_DEFAULT;
    st->headers = act_xcalloc(json_object_size(st->d.headers) + 2, sizeof(*st->headers));
    st->headers[n++] = act_xstrdup("User-Agent: " ACT_HTTP_USER_AGENT);
    json_object_foreach(st->d.headers, k, v) {
        if (!act_webhook_has_template(v)) {
            st->headers[n++] = act_xasprintf("%s: %s", k, json_string_value(v));
            continue;
        }
        if (!st->headers_tpl)
            st->headers_tpl = json_object();
        json_object_set(st->headers_tpl, k, v);
    }
    if (!st->d.url_tpl && !st->d.url)
        rc = act_err_field(err, ACT_EUNPROC, st->d.url_field ? st->d.url_field : "handler.url",
                           "url is required");
    else if (st->d.url &&
             (rc = act_webhook_parse_url(st->d.url, NULL, st->hostport, sizeof(st->hostport),
                                         err)) < 0 &&
             st->d.url_field && err)
        snprintf(err->field, sizeof(err->field), "%s", st->d.url_field);
    if (rc < 0 || (rc = act_http_loop_acquire(&st->loop, err)) < 0) {
        act_webhook_close(st);
        return rc;
    }
    *state = st;
    return ACT_OK;
}

/* Kind `webhook`: its spec as a description. */
static int webhook_open(const json_t *handler, const json_t *config, void **state,
                        struct act_err *err)
{
    const json_t *method = json_object_get(handler, "method");
    const json_t *url = json_object_get(handler, "url");
    const json_t *body = json_object_get(handler, "body");
    struct act_webhook_desc d = {.kind = "webhook", .standard_webhooks = true};
    int rc;

    *state = NULL;
    if ((rc = act_webhook_spec_validate(handler, config, err)) < 0)
        return rc;
    snprintf(d.method, sizeof(d.method), "%s", method ? json_string_value(method) : "POST");
    act_webhook_desc_limits(&d, handler);
    if (act_webhook_has_template(url))
        d.url_tpl = json_deep_copy(url);
    else if ((rc = act_webhook_parse_url(json_string_value(url), &d.url, NULL, 0, err)) < 0)
        return rc;
    d.headers = json_deep_copy(json_object_get(handler, "headers"));
    if (json_is_string(json_object_get(handler, "ca_file")))
        d.ca_file = act_xstrdup(json_string_value(json_object_get(handler, "ca_file")));
    if (body) {
        d.body_mode = ACT_WEBHOOK_BODY_TEMPLATE;
        d.body = json_deep_copy(body);
    }
    if ((rc = act_webhook_load_keys(config, d.keys, &d.n_keys, err)) < 0) {
        act_webhook_desc_release(&d);
        return rc;
    }
    return act_webhook_open_desc(&d, state, err);
}

/* ---- the answer ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct attempt *a = ud;
    size_t n = size * nmemb, max = a->max_response;

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

    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        a->has_retry_after = false; /* a new (interim or final) response */
        a->rhead.len = 0;
        return n;
    }
    if (n >= 12 && strncasecmp(line, "retry-after:", 12) == 0)
        a->has_retry_after = true;
    if (a->st->d.interpret && a->rhead.len + n <= RESP_HEADERS_MAX)
        act_buf_add(&a->rhead, line, n);
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
    const char *hp = a->req.hostport, *why = a->errbuf[0] ? a->errbuf : curl_easy_strerror(cc);
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
        return act_handler_fail(res, ACT_EPLUGIN, "cancelled: the %s handler was closed",
                                    a->st->d.kind);
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (a->over || cc == CURLE_FILESIZE_EXCEEDED)
            return act_handler_fail(res, ACT_ETOOBIG, "response over %zu bytes",
                                    a->max_response);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        if (a->xfer.waited_out)
            return act_handler_fail(res, ACT_ETIMEDOUT,
                                    "timed out after %lld ms waiting for one of the %d connections "
                                    "to %s", (long long)a->timeout_ms,
                                    ACT_HTTP_LOOP_MAX_HOST_CONNECTIONS, hp);
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
    act_http_loop_easy_put(a->st->loop, a->xfer.easy);
    curl_slist_free_all(a->hdrs);
    act_webhook_req_release(&a->req);
    act_free(a->resp);
    act_free(a->rhead.p);
    act_free(a);
}

bool act_webhook_answer_header(const struct act_webhook_answer *ans, const char *name, char *out,
                               size_t cap)
{
    size_t n = strlen(name);
    const char *p = ans->headers ? ans->headers : "", *end = p + ans->headers_len;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *stop = eol ? eol : end;

        if ((size_t)(stop - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;

            while (v < stop && (*v == ' ' || *v == '\t'))
                v++;
            while (stop > v && isspace((unsigned char)stop[-1]))
                stop--;
            act_handler_clean_text(out, cap, v, (size_t)(stop - v), true);
            return true;
        }
        p = eol ? eol + 1 : end;
    }
    return false;
}

/* An HTTP answer: the interpret hook first, then the webhook's rules. */
static int answered(struct attempt *a, CURL *h)
{
    const struct act_webhook_state *st = a->st;
    long status = 0;
    int rc;

    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (st->d.interpret) {
        struct act_webhook_answer ans = {.status = status,
                                         .body = a->resp ? a->resp : "",
                                         .body_len = a->resp_len,
                                         .headers = a->rhead.p ? a->rhead.p : "",
                                         .headers_len = a->rhead.len};

        if ((rc = st->d.interpret(st->d.ctx, &ans, a->res)) != ACT_WEBHOOK_DEFAULT)
            return rc;
    }
    if (status >= 200 && status < 300) {
        a->res->output = success_output(a, status);
        return ACT_OK;
    }
    return http_failure(a, h, status);
}

/* The loop says the transfer ended: fill the result, free, report. */
static void on_xfer_done(struct act_http_xfer *x, CURLcode cc)
{
    struct attempt *a = (struct attempt *)x;
    act_handler_done_fn *done = a->done;
    void *ud = a->ud;
    int rc = cc == CURLE_OK ? answered(a, x->easy) : transfer_error(a, x->easy, cc);

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

static void set_options(struct attempt *a)
{
    CURL *h = a->xfer.easy;

    for (size_t i = 0; i < a->req.n_headers; i++)
        add_header(a, a->req.headers[i]);
    add_header(a, "Expect:");
    add_header(a, "Accept:"); /* drop libcurl's default Accept: fewer bytes to format */
    curl_easy_setopt(h, CURLOPT_URL, a->req.url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, a->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (a->st->d.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, a->st->d.ca_file);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)a->connect_ms);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)a->max_response);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, a->hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    if (a->req.body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)a->req.body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, a->req.body);
        if (strcmp(a->req.method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, a->req.method);
    } else if (strcmp(a->req.method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, a->req.method); /* DELETE without a body */
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    act_ssrf_guard_install(h, &a->guard);
}

int act_webhook_start(void *state, const struct act_handler_call *call,
                      struct act_handler_result *res, act_handler_done_fn *done, void *ud)
{
    const struct act_webhook_state *st = state;
    struct attempt *a = act_xcalloc(1, sizeof(*a));
    int rc;

    res->retry_after_ms = -1;
    a->st = st;
    a->res = res;
    a->done = done;
    a->ud = ud;
    a->max_response = st->d.max_response;
    a->timeout_ms = st->d.timeout_ms;
    if (call->timeout_ms > 0 && call->timeout_ms < a->timeout_ms)
        a->timeout_ms = call->timeout_ms;
    a->connect_ms = st->d.connect_timeout_ms > 0 ? st->d.connect_timeout_ms
                                                 : ACT_HTTP_CONNECT_TIMEOUT_MAX_MS;
    if (a->connect_ms > a->timeout_ms)
        a->connect_ms = a->timeout_ms;
    if ((rc = act_webhook_build(st, call, &a->req, res)) < 0) {
        attempt_free(a);
        return rc;
    }
    if (!(a->xfer.easy = act_http_loop_easy_get(st->loop))) {
        attempt_free(a);
        return act_handler_fail(res, ACT_EIO, "libcurl could not create a handle");
    }
    set_options(a);
    a->xfer.owner = st;
    a->xfer.on_done = on_xfer_done;
    a->xfer.timeout_ms = a->timeout_ms; /* waiting for a connection counts */
    act_http_loop_submit(st->loop, &a->xfer);
    return ACT_OK;
}

int act_webhook_execute(void *state, const struct act_handler_call *call,
                        struct act_handler_result *res)
{
    return act_handler_execute_sync(act_webhook_start, state, call, res);
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
        "\"ca_file\":{\"type\":\"string\",\"pattern\":\"^/\",\"maxLength\":4096,"
        "\"description\":\"PEM file of the CAs to trust for https instead of the system's "
        "(a private CA)\"},"
        "\"max_response_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":67108864,"
        "\"default\":1048576}},"
        "\"$defs\":{\"config\":{\"type\":\"object\",\"properties\":{"
        "\"secret\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"array\",\"minItems\":1,"
        "\"maxItems\":8,\"items\":{\"type\":\"string\"}}],"
        "\"description\":\"whsec_<base64 key> or a sealed v1: value; several while rotating "
        "(one webhook-signature entry each)\"}}}}}",
    .validate = act_webhook_spec_validate,
    .open = webhook_open,
    .execute = act_webhook_execute,
    .close = act_webhook_close,
    .start = act_webhook_start,
};
