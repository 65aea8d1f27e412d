/*
 * Kind `webhook` and its presets: building the request of one attempt
 * (act_webhook_build) from an open state, before start() hands it to
 * libcurl.  Kept apart from the transfer code so tests can look at a
 * request without a server.
 *
 * Order, which the sign hook relies on: URL (template rendered, query
 * appended percent-encoded, then parsed and normalised by CURLU), body
 * (input or rendered template -> shape hook -> JSON or form encoding),
 * headers (User-Agent, configured ones, rendered ones, Content-Type, the
 * auth line, Standard Webhooks headers when the description asks), and
 * last the sign hook, which sees everything that will be sent.
 *
 * Templates render on the worker with the scope {event, input, config,
 * execution: {id, attempt, action}}; a template that fails, or renders a
 * URL that does not parse, a header with a control character or a form
 * value without a form spelling, fails the attempt permanently (the same
 * event renders the same way on a retry) with the field in the message.
 *
 * Invariants: nothing here writes the state; every string of the request
 * is the req's own and freed by act_webhook_req_release, which wipes the
 * header lines (they may carry credentials).
 */
#include "base/alloc.h"
#include "base/time.h"
#include "handler/handler_http.h"
#include "handler/handler_internal.h"
#include "handler/handler_webhook.h"
#include "handler/secret_box.h"
#include "lua/lua.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- the request ---- */

void act_webhook_req_add(struct act_webhook_req *req, const char *line)
{
    if (req->n_headers + 2 > req->cap_headers) {
        req->cap_headers = req->cap_headers ? req->cap_headers * 2 : 16;
        req->headers = act_xrealloc(req->headers, req->cap_headers * sizeof(*req->headers));
    }
    req->headers[req->n_headers++] = act_xstrdup(line);
    req->headers[req->n_headers] = NULL;
}

const char *act_webhook_req_header(const struct act_webhook_req *req, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < req->n_headers; i++) {
        const char *l = req->headers[i];

        if (strncasecmp(l, name, n) == 0 && l[n] == ':')
            return l + n + 1 + (l[n + 1] == ' ');
    }
    return NULL;
}

void act_webhook_req_release(struct act_webhook_req *req)
{
    for (size_t i = 0; i < req->n_headers; i++)
        act_secret_free(req->headers[i]);
    act_free(req->headers);
    act_secret_free(req->url);
    act_free(req->body);
    memset(req, 0, sizeof(*req));
}

/* ---- rendering ---- */

/* A rendered value that went wrong is the event's doing, not luck: the
 * same event renders the same way, so the failure is permanent.  It is an
 * attempt's failure (ACT_EPLUGIN), not a refused spec, whatever the
 * renderer or a shape hook called it. */
static int render_failed(struct act_handler_result *res, const char *what,
                         const struct act_err *e)
{
    int code = e->code < 0 && e->code != ACT_EUNPROC ? e->code : ACT_EPLUGIN;

    res->permanent = true;
    return act_handler_fail(res, code, "%s%s%s: %s", what, e->field[0] ? "." : "", e->field,
                            e->msg);
}

/* Render v when it holds templates; otherwise a new reference to it. */
static int render(const json_t *v, const json_t *scope, json_t **out, struct act_err *e)
{
    if (!act_webhook_has_template(v)) {
        *out = json_incref((json_t *)v);
        return ACT_OK;
    }
    return act_template_render(v, scope, out, e);
}

static const char *or(const char *s, const char *def)
{
    return s ? s : def;
}

/* The URL text with the encoded query spliced in before any fragment. */
static char *with_query(const char *url, const char *query)
{
    size_t at = strcspn(url, "#");

    if (!query[0])
        return act_xstrdup(url);
    return act_xasprintf("%.*s%c%s%s", (int)at, url, memchr(url, '?', at) ? '&' : '?', query,
                         url + at);
}

static int build_url(const struct act_webhook_state *st, const json_t *scope,
                     struct act_webhook_req *req, struct act_handler_result *res)
{
    const char *url_field = or(st->d.url_field, "handler.url");
    const char *query_field = or(st->d.query_field, "handler.query");
    struct act_err e = {0};
    struct act_buf q = {0};
    json_t *u = NULL, *qv = NULL;
    char *text;
    int rc;

    if (!st->d.url_tpl && !st->d.query) {
        req->url = act_xstrdup(st->d.url);
        memcpy(req->hostport, st->hostport, sizeof(req->hostport));
        return ACT_OK;
    }
    if (st->d.url_tpl) {
        if (act_template_render(st->d.url_tpl, scope, &u, &e) < 0)
            return render_failed(res, url_field, &e);
        if (!json_is_string(u)) {
            json_decref(u);
            res->permanent = true;
            return act_handler_fail(res, ACT_EPLUGIN, "%s: rendered to a non-string", url_field);
        }
    }
    if (st->d.query) {
        if (render(st->d.query, scope, &qv, &e) < 0 || act_webhook_form_encode(&q, qv, &e) < 0) {
            json_decref(u);
            json_decref(qv);
            act_free(q.p);
            return render_failed(res, query_field, &e);
        }
        json_decref(qv);
    }
    text = with_query(u ? json_string_value(u) : st->d.url, q.p ? q.p : "");
    json_decref(u);
    act_free(q.p);
    rc = act_webhook_parse_url(text, &req->url, req->hostport, sizeof(req->hostport), &e);
    act_free(text);
    if (rc < 0) {
        e.field[0] = '\0';
        return render_failed(res, url_field, &e);
    }
    return ACT_OK;
}

static int build_body(const struct act_webhook_state *st, const struct act_handler_call *call,
                      const json_t *scope, struct act_webhook_req *req,
                      struct act_handler_result *res)
{
    const char *field = or(st->d.body_field, "handler.body");
    struct act_err e = {0};
    json_t *v = NULL, *shaped;
    struct act_buf b = {0};

    if (strcmp(req->method, "GET") == 0 || st->d.body_mode == ACT_WEBHOOK_BODY_NONE)
        return ACT_OK;
    if (st->d.body_mode == ACT_WEBHOOK_BODY_INPUT)
        v = json_incref((json_t *)call->input);
    else if (render(st->d.body, scope, &v, &e) < 0)
        return render_failed(res, field, &e);
    if (st->d.shape) {
        shaped = st->d.shape(st->d.ctx, v, &e);
        json_decref(v);
        if (!shaped)
            return render_failed(res, field, &e);
        v = shaped;
    }
    if (st->d.encoding == ACT_WEBHOOK_FORM) {
        if (act_webhook_form_encode(&b, v, &e) < 0) {
            json_decref(v);
            act_free(b.p);
            return render_failed(res, field, &e);
        }
        req->body = b.p;
        req->body_len = b.len;
    } else {
        req->body = act_handler_dump(v, &req->body_len);
    }
    json_decref(v);
    return ACT_OK;
}

static int render_headers(const struct act_webhook_state *st, const json_t *scope,
                          struct act_webhook_req *req, struct act_handler_result *res)
{
    const char *field = or(st->d.headers_field, "handler.headers");
    struct act_err e = {0};
    json_t *out = NULL, *v;
    const char *k;
    int rc = ACT_OK;

    if (act_template_render(st->headers_tpl, scope, &out, &e) < 0)
        return render_failed(res, field, &e);
    json_object_foreach(out, k, v) {
        size_t len = 0;
        char *text = json_is_string(v) ? act_xstrdup(json_string_value(v))
                                       : act_handler_dump(v, &len);

        for (const char *c = text; *c && rc == ACT_OK; c++)
            if ((unsigned char)*c < 0x20 && *c != '\t') {
                res->permanent = true;
                rc = act_handler_fail(res, ACT_EPLUGIN,
                                      "%s.%.64s: rendered value contains a control character",
                                      field, k);
            }
        if (rc == ACT_OK) {
            char *line = act_xasprintf("%s: %s", k, text);

            act_webhook_req_add(req, line);
            act_free(line);
        }
        act_free(text);
        if (rc < 0)
            break;
    }
    json_decref(out);
    return rc;
}

/* webhook-id (the root execution id: constant across retries),
 * webhook-timestamp and, with keys, webhook-signature. */
static int standard_webhooks(const struct act_webhook_state *st,
                             const struct act_handler_call *call, struct act_webhook_req *req,
                             struct act_handler_result *res)
{
    const char *wid = call->root_id && call->root_id[0] ? call->root_id : call->execution_id;
    int64_t ts = act_time_now_us() / 1000000;
    struct act_err err = {0};
    char *sig = NULL, *line;

    line = act_xasprintf("webhook-id: %s", wid ? wid : "");
    act_webhook_req_add(req, line);
    act_free(line);
    line = act_xasprintf("webhook-timestamp: %lld", (long long)ts);
    act_webhook_req_add(req, line);
    act_free(line);
    if (st->d.n_keys == 0)
        return ACT_OK;
    if (act_webhook_sign_keys(wid, ts, req->body ? req->body : "", req->body_len, st->d.keys,
                              st->d.n_keys, &sig, &err) < 0)
        return act_handler_fail(res, ACT_EPLUGIN, "cannot sign the request: %s", err.msg);
    line = act_xasprintf("webhook-signature: %s", sig);
    act_webhook_req_add(req, line);
    act_free(line);
    act_free(sig);
    return ACT_OK;
}

static bool needs_scope(const struct act_webhook_state *st)
{
    return st->d.url_tpl || st->headers_tpl || act_webhook_has_template(st->d.query) ||
           (st->d.body_mode == ACT_WEBHOOK_BODY_TEMPLATE && act_webhook_has_template(st->d.body));
}

int act_webhook_build(const void *state, const struct act_handler_call *call,
                      struct act_webhook_req *req, struct act_handler_result *res)
{
    const struct act_webhook_state *st = state;
    json_t *scope = needs_scope(st) ? act_handler_scope(call) : NULL;
    struct act_err err = {0};
    int rc;

    memset(req, 0, sizeof(*req));
    req->method = st->d.method;
    for (size_t i = 0; st->headers[i]; i++)
        act_webhook_req_add(req, st->headers[i]);
    if ((rc = build_url(st, scope, req, res)) < 0 ||
        (rc = build_body(st, call, scope, req, res)) < 0 ||
        (st->headers_tpl && (rc = render_headers(st, scope, req, res)) < 0))
        goto out;
    if (req->body)
        act_webhook_req_add(req, st->d.encoding == ACT_WEBHOOK_FORM
                                     ? "Content-Type: application/x-www-form-urlencoded"
                                     : "Content-Type: application/json");
    if (st->d.auth_line)
        act_webhook_req_add(req, st->d.auth_line);
    if (st->d.standard_webhooks && (rc = standard_webhooks(st, call, req, res)) < 0)
        goto out;
    if (st->d.sign && (rc = st->d.sign(st->d.ctx, req, &err)) < 0) {
        res->permanent = true; /* the same request fails to sign the same way */
        rc = act_handler_fail(res, ACT_EPLUGIN, "cannot sign the request: %s", err.msg);
    }
out:
    json_decref(scope);
    return rc;
}
