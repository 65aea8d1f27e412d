/*
 * Reading a request: query arguments, headers and the JSON body.
 *
 * Query arguments and headers come from libmicrohttpd, which keeps them in
 * the connection's memory pool for the life of the request, so the strings
 * handed out here are borrowed, never copied.  Header names compare
 * case-insensitively (libmicrohttpd does that for MHD_HEADER_KIND).
 * When req->conn is NULL (a unit test driving a handler) every lookup
 * answers "absent".
 */
#include "api/api_internal.h"

#include "base/alloc.h"

#include <microhttpd.h>
#include <string.h>

const char *act_api_query(const struct act_api_req *req, const char *name)
{
    if (!req->conn)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *act_api_header(const struct act_api_req *req, const char *name)
{
    if (!req->conn)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void act_api_query_fill(const struct act_api_req *req, struct act_query *q)
{
    memset(q, 0, sizeof(*q));
    q->limit = act_api_query(req, "limit");
    q->cursor = act_api_query(req, "cursor");
    q->action_id = act_api_query(req, "action_id");
    q->status = act_api_query(req, "status");
    q->event_id = act_api_query(req, "event_id");
    q->since = act_api_query(req, "since");
    q->until = act_api_query(req, "until");
    q->category = act_api_query(req, "category");
    q->enabled = act_api_query(req, "enabled");
    q->q = act_api_query(req, "q");
    q->flow_execution_id = act_api_query(req, "flow_execution_id");
    q->window = act_api_query(req, "window");
}

/* True when the body holds only JSON whitespace. */
static bool body_blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    }
    return true;
}

int act_api_body_json(const struct act_api_req *req, struct act_api_resp *resp, bool optional,
                      json_t **out)
{
    struct act_err err = {0};

    *out = NULL;
    if (!req->body || body_blank(req->body, req->body_len)) {
        if (optional)
            return ACT_OK;
        act_api_reply_problem(resp, 400, NULL, NULL, "request body is empty: expected JSON");
        return ACT_EINVAL;
    }
    if (act_api_json_parse(req->body, req->body_len, false, out, &err) < 0) {
        act_api_reply_problem(resp, 400, "malformed-json", NULL, "%s", err.msg);
        return ACT_EINVAL;
    }
    return ACT_OK;
}

int act_api_body_object(const struct act_api_req *req, struct act_api_resp *resp, bool optional,
                        json_t **out)
{
    json_t *v = NULL;
    int rc;

    *out = NULL;
    if ((rc = act_api_body_json(req, resp, optional, &v)) < 0)
        return rc;
    if (v && !json_is_object(v)) {
        json_decref(v);
        act_api_reply_problem(resp, 400, NULL, NULL, "expected a JSON object");
        return ACT_EINVAL;
    }
    *out = v;
    return ACT_OK;
}

int act_api_body_input(const struct act_api_req *req, struct act_api_resp *resp, json_t **body,
                       const json_t **input)
{
    const char *key;
    json_t *v;

    *input = NULL;
    if (act_api_body_object(req, resp, true, body) < 0)
        return ACT_EINVAL;
    if (!*body)
        return ACT_OK;
    /* Unknown members are refused rather than dropped, so a client that
     * posts the input itself learns about the wrapper. */
    json_object_foreach(*body, key, v) {
        if (strcmp(key, "input") != 0) {
            act_api_reply_problem(resp, 400, NULL, key,
                                  "unknown member '%s': the body is {\"input\": {...}}", key);
            return ACT_EINVAL;
        }
    }
    v = json_object_get(*body, "input");
    *input = json_is_null(v) ? NULL : v;
    return ACT_OK;
}

struct collect {
    struct act_api_header *h;
    size_t n, cap;
};

static enum MHD_Result collect_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct collect *c = cls;

    (void)kind;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->h = act_xrealloc(c->h, c->cap * sizeof(*c->h));
    }
    c->h[c->n].name = key;
    c->h[c->n].value = value ? value : "";
    c->n++;
    return MHD_YES;
}

struct act_api_header *act_api_headers_collect(const struct act_api_req *req, size_t *n)
{
    struct collect c = {NULL, 0, 0};

    if (req->conn)
        MHD_get_connection_values(req->conn, MHD_HEADER_KIND, collect_one, &c);
    *n = c.n;
    return c.h;
}
