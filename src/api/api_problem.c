/*
 * application/problem+json (RFC 9457) bodies and the mapping from
 * act_status codes to HTTP statuses.
 *
 * Every 4xx/5xx the API sends is built here, so type URIs, titles and the
 * `field` member stay uniform: {type, title, status, detail, field?}.  The
 * type is ACT_API_PROBLEM_BASE + a slug derived from the status (or from the
 * error code where two codes share a status: ESTATE is "invalid-state",
 * ECONFLICT "conflict", both 409).  The detail is the error's message, which
 * by the git-style rule of base/err.h is a lowercase sentence naming the
 * subject.
 *
 * Pure apart from jansson: no engine, no libmicrohttpd.
 */
#include "api/api_internal.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct status_info {
    int status;
    const char *slug;
    const char *title;
};

static const struct status_info statuses[] = {
    {400, "invalid-input", "Invalid input"},
    {401, "unauthorized", "Unauthorized"},
    {403, "forbidden", "Forbidden"},
    {404, "not-found", "Not found"},
    {405, "method-not-allowed", "Method not allowed"},
    {406, "not-acceptable", "Not acceptable"},
    {409, "conflict", "Conflict"},
    {411, "length-required", "Length required"},
    {413, "payload-too-large", "Payload too large"},
    {415, "unsupported-media-type", "Unsupported media type"},
    {422, "unprocessable", "Unprocessable entity"},
    {429, "rate-limited", "Too many requests"},
    {500, "internal", "Internal server error"},
    {503, "unavailable", "Service unavailable"},
};

/* Status-derived slugs that a specific error code overrides. */
static const struct {
    int code;
    const char *slug;
    const char *title;
} code_slugs[] = {
    {ACT_ESTATE, "invalid-state", "Invalid state"},
    {ACT_ETIMEDOUT, "timeout", "Timed out"},
};

static const struct status_info *status_find(int status)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        if (statuses[i].status == status)
            return &statuses[i];
    }
    return status >= 500 ? &statuses[sizeof(statuses) / sizeof(statuses[0]) - 2] : &statuses[0];
}

int act_api_status_from_code(int code)
{
    switch (code) {
    case ACT_EINVAL: return 400;
    case ACT_ENOTFOUND: return 404;
    case ACT_ECONFLICT: return 409;
    case ACT_EUNPROC: return 422;
    case ACT_ETOOBIG: return 413;
    case ACT_EBUSY: return 503;
    case ACT_ESTATE: return 409;
    default: return 500;
    }
}

const char *act_api_problem_type(int status)
{
    /* One static string per status: the table is small and fixed. */
    static const char *const uris[] = {
        ACT_API_PROBLEM_BASE "invalid-input",      ACT_API_PROBLEM_BASE "unauthorized",
        ACT_API_PROBLEM_BASE "forbidden",          ACT_API_PROBLEM_BASE "not-found",
        ACT_API_PROBLEM_BASE "method-not-allowed", ACT_API_PROBLEM_BASE "not-acceptable",
        ACT_API_PROBLEM_BASE "conflict",           ACT_API_PROBLEM_BASE "length-required",
        ACT_API_PROBLEM_BASE "payload-too-large",  ACT_API_PROBLEM_BASE "unsupported-media-type",
        ACT_API_PROBLEM_BASE "unprocessable",      ACT_API_PROBLEM_BASE "rate-limited",
        ACT_API_PROBLEM_BASE "internal",           ACT_API_PROBLEM_BASE "unavailable",
    };
    _Static_assert(sizeof(uris) / sizeof(uris[0]) == sizeof(statuses) / sizeof(statuses[0]),
                   "one type URI per status");

    return uris[status_find(status) - statuses];
}

const char *act_api_problem_title(int status)
{
    return status_find(status)->title;
}

json_t *act_api_problem_new(int status, const char *slug, const char *detail, const char *field)
{
    const struct status_info *si = status_find(status);
    json_t *p = json_object();
    char type[160];

    snprintf(type, sizeof(type), "%s%s", ACT_API_PROBLEM_BASE, slug && *slug ? slug : si->slug);
    json_object_set_new(p, "type", json_string(type));
    json_object_set_new(p, "title", json_string(si->title));
    json_object_set_new(p, "status", json_integer(status));
    /* A detail that is not valid UTF-8 (it may quote client input) must not
     * make the problem itself unserialisable. */
    json_t *d = json_string(detail && *detail ? detail : si->title);
    json_object_set_new(p, "detail", d ? d : json_string(si->title));
    if (field && *field) {
        json_t *f = json_string(field);
        if (f)
            json_object_set_new(p, "field", f);
    }
    return p;
}

json_t *act_api_problem_from_err(const struct act_err *err)
{
    int status = act_api_status_from_code(err->code);
    json_t *p;

    p = act_api_problem_new(status, NULL, err->msg[0] ? err->msg : act_strerror(err->code),
                            err->field);
    for (size_t i = 0; i < sizeof(code_slugs) / sizeof(code_slugs[0]); i++) {
        if (code_slugs[i].code == err->code) {
            char type[160];

            snprintf(type, sizeof(type), "%s%s", ACT_API_PROBLEM_BASE, code_slugs[i].slug);
            json_object_set_new(p, "type", json_string(type));
            json_object_set_new(p, "title", json_string(code_slugs[i].title));
        }
    }
    return p;
}

void act_api_reply_json(struct act_api_resp *resp, int status, json_t *body)
{
    json_decref(resp->body);
    act_free(resp->text);
    resp->text = NULL;
    resp->text_len = 0;
    resp->status = status;
    resp->body = body;
    resp->content_type = NULL;
}

void act_api_reply_text(struct act_api_resp *resp, int status, char *text, size_t len)
{
    act_api_reply_json(resp, status, NULL);
    resp->text = text;
    resp->text_len = len;
}

void act_api_reply_problem(struct act_api_resp *resp, int status, const char *slug,
                           const char *field, const char *fmt, ...)
{
    char detail[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    act_api_reply_json(resp, status, act_api_problem_new(status, slug, detail, field));
    resp->content_type = "application/problem+json";
}

void act_api_reply_err(struct act_api_resp *resp, const struct act_err *err)
{
    act_api_reply_json(resp, act_api_status_from_code(err->code), act_api_problem_from_err(err));
    resp->content_type = "application/problem+json";
}

void act_api_reply_result(struct act_api_resp *resp, int rc, int status, json_t *out,
                          const struct act_err *err)
{
    if (rc < 0) {
        struct act_err e = {0};

        json_decref(out);
        if (err)
            e = *err;
        if (e.code >= 0) /* the callee returned an error without filling err */
            e.code = rc;
        act_api_reply_err(resp, &e);
        return;
    }
    act_api_reply_json(resp, status, out);
}

void act_api_reply_created(struct act_api_resp *resp, const char *prefix, json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));

    act_api_reply_json(resp, 201, doc);
    if (id)
        snprintf(resp->location, sizeof(resp->location), "%s%s", prefix, id);
}

void act_api_resp_release(struct act_api_resp *resp)
{
    json_decref(resp->body);
    act_free(resp->text);
    memset(resp, 0, sizeof(*resp));
}
