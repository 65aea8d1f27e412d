/*
 * What the HTTP kinds (`plugin`, `platform`) share: the common spec members
 * (timeout_ms, max_response_bytes), the common config members (headers,
 * api_key), and the meaning of an HTTP answer for an attempt.
 *
 * Outcomes (docs/internals/http-handlers.md):
 *   2xx                    success; output = JSON body, {"body": text}, or null
 *   3xx                    failure, never followed ("HTTP 302: redirect not followed")
 *   410                    permanent failure (dead-lettered at once)
 *   429/503 + Retry-After  failure with res->retry_after_ms
 *   other                  failure "HTTP <status>: <start of the body>"
 *   transport              ACT_ETIMEDOUT, ACT_ETOOBIG or ACT_EPLUGIN with the
 *                          client's message
 * error_detail of an HTTP failure: {"status", "body" (first 1 KiB, cleaned),
 * "location"? (3xx), "retry_after_ms"?}.
 *
 * Invariants: struct act_http_common is immutable after open, so execute()
 * runs from many workers at once; per-attempt header lines live on the
 * caller's stack.
 */
#include "base/alloc.h"
#include "handler/handler_http.h"
#include "handler/handler_internal.h"
#include "handler/http_client.h"
#include "handler/secret_box.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HEADERS_MAX 64
#define API_KEY_MAX 4096
#define ERROR_BODY 200
#define DETAIL_BODY 1024
#define RETRY_AFTER_MAX_MS (7LL * 24 * 3600 * 1000)
#define EXTRA_MAX 8

/* ---- validation ---- */

bool act_http_header_tchar(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

bool act_http_header_reserved(const char *name)
{
    static const char *const names[] = {"host", "content-length", "transfer-encoding",
                                        "connection", "expect", "content-type", "user-agent",
                                        "webhook-id", "webhook-timestamp", "webhook-signature",
                                        NULL};

    for (size_t i = 0; names[i]; i++)
        if (strcasecmp(name, names[i]) == 0)
            return true;
    return false;
}

int act_http_header_check(const char *prefix, const char *name, const json_t *v, char *field,
                          size_t field_len, struct act_err *err)
{
    const char *s;

    snprintf(field, field_len, "%s.%.64s", prefix, name);
    if (!name[0] || strlen(name) > 128)
        return act_err_field(err, ACT_EUNPROC, field, "header name must be 1..128 characters");
    for (const char *c = name; *c; c++)
        if (!act_http_header_tchar((unsigned char)*c))
            return act_err_field(err, ACT_EUNPROC, field, "header name '%.64s' is not a token",
                                 name);
    if (act_http_header_reserved(name))
        return act_err_field(err, ACT_EUNPROC, field, "header '%.64s' is set by actiond", name);
    if (!json_is_string(v))
        return act_err_field(err, ACT_EUNPROC, field, "header value must be a string");
    s = json_string_value(v);
    if (json_string_length(v) > ACT_HTTP_HEADER_VALUE_MAX)
        return act_err_field(err, ACT_EUNPROC, field, "header value is longer than %d bytes",
                             ACT_HTTP_HEADER_VALUE_MAX);
    for (size_t i = 0; i < json_string_length(v); i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
            return act_err_field(err, ACT_EUNPROC, field,
                                 "header value contains a control character");
    return ACT_OK;
}

static int check_header(const char *name, const json_t *v, bool has_api_key, struct act_err *err)
{
    char field[96];
    int rc = act_http_header_check("config.headers", name, v, field, sizeof(field), err);

    if (rc == ACT_OK && has_api_key && strcasecmp(name, "x-api-key") == 0)
        return act_err_field(err, ACT_EUNPROC, field, "X-Api-Key comes from config.api_key");
    return rc;
}

static int validate_headers(const json_t *config, struct act_err *err)
{
    const json_t *headers = json_object_get(config, "headers");
    bool has_api_key = json_object_get(config, "api_key") != NULL;
    const char *k;
    json_t *v;
    int rc;

    if (!headers)
        return ACT_OK;
    if (!json_is_object(headers))
        return act_err_field(err, ACT_EUNPROC, "config.headers",
                             "headers must be an object of strings");
    if (json_object_size(headers) > HEADERS_MAX)
        return act_err_field(err, ACT_EUNPROC, "config.headers", "more than %d headers",
                             HEADERS_MAX);
    json_object_foreach((json_t *)headers, k, v)
        if ((rc = check_header(k, v, has_api_key, err)) < 0)
            return rc;
    return ACT_OK;
}

int act_http_kind_reveal(const char *value, const char *field, char **out, struct act_err *err)
{
    struct act_err e = {0};

    *out = NULL;
    if (!act_secret_is_sealed(value)) {
        *out = act_xstrdup(value);
        return ACT_OK;
    }
    if (act_secret_box_open(value, out, &e) < 0)
        return act_err_field(err, ACT_EUNPROC, field, "%s", e.msg);
    return ACT_OK;
}

static int validate_api_key(const json_t *config, struct act_err *err)
{
    const json_t *v = json_object_get(config, "api_key");
    char *plain = NULL;
    int rc;

    if (!v)
        return ACT_OK;
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > API_KEY_MAX * 2)
        return act_err_field(err, ACT_EUNPROC, "config.api_key",
                             "api_key must be a non-empty string");
    if ((rc = act_http_kind_reveal(json_string_value(v), "config.api_key", &plain, err)) < 0)
        return rc;
    for (const char *c = plain; *c; c++)
        if ((unsigned char)*c < 0x20) {
            act_secret_free(plain);
            return act_err_field(err, ACT_EUNPROC, "config.api_key",
                                 "api_key contains a control character");
        }
    act_secret_free(plain);
    return ACT_OK;
}

static int check_range(const json_t *handler, const char *name, int64_t max, struct act_err *err)
{
    const json_t *v = json_object_get(handler, name);
    char field[48];

    if (!v)
        return ACT_OK;
    snprintf(field, sizeof(field), "handler.%s", name);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
        return act_err_field(err, ACT_EUNPROC, field, "%s must be an integer in 1..%lld", name,
                             (long long)max);
    return ACT_OK;
}

int act_http_kind_validate_common(const json_t *handler, const json_t *config,
                                  struct act_err *err)
{
    int rc;

    if ((rc = check_range(handler, "timeout_ms", ACT_HTTP_KIND_TIMEOUT_MAX_MS, err)) < 0 ||
        (rc = check_range(handler, "max_response_bytes", ACT_HTTP_KIND_RESPONSE_MAX, err)) < 0)
        return rc;
    if (!config)
        return ACT_OK;
    if ((rc = validate_headers(config, err)) < 0)
        return rc;
    return validate_api_key(config, err);
}

/* ---- state ---- */

int act_http_kind_open_common(const json_t *handler, const json_t *config,
                              struct act_http_common *c, struct act_err *err)
{
    const json_t *t = json_object_get(handler, "timeout_ms");
    const json_t *m = json_object_get(handler, "max_response_bytes");
    const json_t *headers = json_object_get(config, "headers");
    const json_t *api_key = json_object_get(config, "api_key");
    size_t n = 0;
    const char *k;
    json_t *v;

    memset(c, 0, sizeof(*c));
    c->timeout_ms = t ? json_integer_value(t) : ACT_HTTP_KIND_TIMEOUT_DEFAULT_MS;
    c->max_response = m ? (size_t)json_integer_value(m) : ACT_HTTP_MAX_RESPONSE_DEFAULT;
    c->headers = act_xcalloc(json_object_size(headers) + 4, sizeof(*c->headers));
    c->headers[n++] = act_xstrdup("User-Agent: " ACT_HTTP_USER_AGENT);
    c->headers[n++] = act_xstrdup("Accept: application/json");
    if (api_key) {
        char *plain = NULL;
        int rc = act_http_kind_reveal(json_string_value(api_key), "config.api_key", &plain, err);

        if (rc < 0) {
            act_http_kind_release_common(c);
            return rc;
        }
        c->headers[n++] = act_xasprintf("X-Api-Key: %s", plain);
        act_secret_free(plain);
    }
    if (headers)
        json_object_foreach((json_t *)headers, k, v)
            c->headers[n++] = act_xasprintf("%s: %s", k, json_string_value(v));
    return ACT_OK;
}

void act_http_kind_release_common(struct act_http_common *c)
{
    for (size_t i = 0; c->headers && c->headers[i]; i++)
        act_secret_free(c->headers[i]); /* may hold an API key */
    act_free(c->headers);
    c->headers = NULL;
}

/* ---- outcome ---- */

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

static json_t *body_output(const struct act_http_response *r)
{
    json_t *out;
    char *text;

    if (blank(r->body, r->body_len))
        return NULL;
    out = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL);
    if (out)
        return out;
    text = act_xmalloc(r->body_len + 1);
    act_handler_clean_text(text, r->body_len + 1, r->body, r->body_len, false);
    out = json_pack("{s:s}", "body", text);
    act_free(text);
    return out;
}

static int http_failure(const struct act_http_response *r, struct act_handler_result *res)
{
    char start[ERROR_BODY + 8], detail[DETAIL_BODY + 8];
    size_t skip = 0;

    while (skip < r->body_len && isspace((unsigned char)r->body[skip]))
        skip++;
    act_handler_clean_text(start, sizeof(start), r->body + skip,
                           r->body_len - skip < ERROR_BODY ? r->body_len - skip : ERROR_BODY,
                           true);
    act_handler_clean_text(detail, sizeof(detail), r->body,
                           r->body_len < DETAIL_BODY ? r->body_len : DETAIL_BODY, false);
    res->error_detail = json_pack("{s:I,s:s}", "status", (json_int_t)r->status, "body", detail);
    if ((r->status == 429 || r->status == 503) && r->retry_after_ms >= 0) {
        res->retry_after_ms =
            r->retry_after_ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : r->retry_after_ms;
        json_object_set_new(res->error_detail, "retry_after_ms",
                            json_integer(res->retry_after_ms));
    }
    if (r->status == 410)
        res->permanent = true;
    if (r->status >= 300 && r->status < 400) {
        if (r->location[0])
            json_object_set_new(res->error_detail, "location", json_string(r->location));
        return act_handler_fail(res, ACT_EPLUGIN, "HTTP %ld: redirect not followed", r->status);
    }
    if (!start[0])
        return act_handler_fail(res, ACT_EPLUGIN, "HTTP %ld", r->status);
    return act_handler_fail(res, ACT_EPLUGIN, "HTTP %ld: %s", r->status, start);
}

int act_http_kind_call(const struct act_http_common *c, const struct act_handler_call *call,
                       const char *method, const char *url, const char *const *extra,
                       const char *body, size_t len, struct act_handler_result *res)
{
    const char *lines[HEADERS_MAX + EXTRA_MAX + 8];
    struct act_http_request req = {.method = method, .url = url, .body = body, .body_len = len,
                                   .max_response = c->max_response, .headers = lines};
    struct act_http_response r;
    struct act_err err = {0};
    size_t n = 0;
    int rc;

    res->retry_after_ms = -1;
    req.timeout_ms = c->timeout_ms;
    if (call->timeout_ms > 0 && call->timeout_ms < req.timeout_ms)
        req.timeout_ms = call->timeout_ms;
    for (size_t i = 0; c->headers[i]; i++)
        lines[n++] = c->headers[i];
    for (size_t i = 0; extra && extra[i] && i < EXTRA_MAX; i++)
        lines[n++] = extra[i];
    if (body)
        lines[n++] = "Content-Type: application/json";
    lines[n] = NULL;
    rc = act_http_request(&req, &r, &err);
    if (rc < 0) {
        if (rc == ACT_EINVAL)
            res->permanent = true;
        return act_handler_fail(res, rc == ACT_ETIMEDOUT || rc == ACT_ETOOBIG ? rc : ACT_EPLUGIN,
                                "%s", err.msg);
    }
    if (r.status >= 200 && r.status < 300) {
        res->output = body_output(&r);
        rc = ACT_OK;
    } else {
        rc = http_failure(&r, res);
    }
    act_http_response_release(&r);
    return rc;
}
