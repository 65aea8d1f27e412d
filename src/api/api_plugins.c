/*
 * /api/plugins/...: the seed-2 routes of the plugin action registry
 * (docs/plugins.md), served by the same daemon as /v1.
 *
 * Thin translations onto src/plugin/plugin.h, like the /v1 resources.  The
 * registry is the process registry (act_plugins_current); without one the
 * routes answer 503.  Errors are application/problem+json with an extra
 * `message` member equal to `detail`, because the seed's clients read
 * `.message`.  Literal routes (actions, events, events/automation) come
 * before /api/plugins/{slug} in the table, and those two words are not
 * valid slugs, so they never shadow a plugin.
 *
 * POST /api/plugins/events/automation blocks its pool thread while the
 * batch runs (synchronous mode); see plugin_dispatch.c.
 */
#include "api/api_internal.h"

#include "plugin/plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The problem for err, plus the seed's `message`. */
static void reply_err(struct act_api_resp *resp, const struct act_err *err)
{
    json_t *p = act_api_problem_from_err(err);
    int status = (int)json_integer_value(json_object_get(p, "status"));

    json_object_set(p, "message", json_object_get(p, "detail"));
    act_api_reply_json(resp, status ? status : 500, p);
}

static void reply(struct act_api_resp *resp, int rc, int status, json_t *out,
                  const struct act_err *err)
{
    if (rc < 0) {
        json_decref(out);
        reply_err(resp, err);
        return;
    }
    act_api_reply_json(resp, status, out);
}

/* The registry, or a 503 already in resp. */
static struct act_plugins *registry(struct act_api_resp *resp)
{
    struct act_plugins *p = act_plugins_current();
    struct act_err err = {0};

    if (!p) {
        act_err_set(&err, ACT_EBUSY, "the plugin registry is not running");
        reply_err(resp, &err);
    }
    return p;
}

static const char *slug_param(const struct act_api_req *req)
{
    return act_api_param(&req->params, "slug");
}

/* Read the JSON object body; on failure the problem (with message) is in
 * resp. */
static json_t *body_object(struct act_api_req *req, struct act_api_resp *resp)
{
    json_t *body = NULL;

    if (act_api_body_object(req, resp, false, &body) < 0) {
        if (resp->body && !json_object_get(resp->body, "message"))
            json_object_set(resp->body, "message", json_object_get(resp->body, "detail"));
        return NULL;
    }
    return body;
}

/* ---- plugins ---- */

static void on_list(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_plugins *p = registry(resp);
    struct act_err err = {0};
    json_t *out = NULL;

    int rc;

    if (!p)
        return;
    rc = act_plugins_list(p, act_api_query(req, "status"), &out, &err);
    reply(resp, rc, 200, out, &err);
}

static void on_create(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_plugins *p = registry(resp);
    struct act_err err = {0};
    json_t *body, *out = NULL;

    if (!p || !(body = body_object(req, resp)))
        return;
    if (act_plugins_create(p, body, &out, &err) < 0) {
        reply_err(resp, &err);
    } else {
        snprintf(resp->location, sizeof(resp->location), "/api/plugins/%s",
                 json_string_value(json_object_get(out, "slug")));
        act_api_reply_json(resp, 201, out);
    }
    json_decref(body);
}

static void update(struct act_api_req *req, struct act_api_resp *resp, bool merge)
{
    struct act_plugins *p = registry(resp);
    struct act_err err = {0};
    json_t *body, *out = NULL;
    int rc;

    if (!p || !(body = body_object(req, resp)))
        return;
    rc = act_plugins_update(p, slug_param(req), body, merge, &out, &err);
    reply(resp, rc, 200, out, &err);
    json_decref(body);
}

static void on_put(struct act_api_req *req, struct act_api_resp *resp)
{
    update(req, resp, false);
}

static void on_patch(struct act_api_req *req, struct act_api_resp *resp)
{
    update(req, resp, true);
}

static void on_get(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_plugins *p = registry(resp);
    struct act_err err = {0};
    json_t *out = NULL;

    int rc;

    if (!p)
        return;
    rc = act_plugins_get(p, slug_param(req), &out, &err);
    reply(resp, rc, 200, out, &err);
}

static void on_delete(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_plugins *p = registry(resp);
    struct act_err err = {0};

    int rc;

    if (!p)
        return;
    rc = act_plugins_delete(p, slug_param(req), &err);
    reply(resp, rc, 204, NULL, &err);
}

static void on_register(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_plugins *p = registry(resp);
    struct act_err err = {0};
    json_t *body, *out = NULL;
    int rc;

    if (!p || !(body = body_object(req, resp)))
        return;
    rc = act_plugins_register_actions(p, slug_param(req), body, &out, &err);
    reply(resp, rc, 200, out, &err);
    json_decref(body);
}

static void on_test(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_plugins *p = registry(resp);
    struct act_err err = {0};
    json_t *out = NULL;

    int rc;

    if (!p)
        return;
    rc = act_plugins_test(p, slug_param(req), &out, &err);
    reply(resp, rc, 200, out, &err);
}

/* ---- discovery, dispatch, events ---- */

static void on_discover(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_plugins *p = registry(resp);
    struct act_err err = {0};
    json_t *out = NULL;
    int rc;

    if (!p)
        return;
    rc = act_plugins_discover(p, act_api_query(req, "category"), act_api_query(req, "plugin"), &out,
                              &err);
    reply(resp, rc, 200, out, &err);
}

static void on_dispatch(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_plugins *p = registry(resp);
    const char *mode = act_api_query(req, "mode");
    struct act_err err = {0};
    json_t *body, *out = NULL;
    bool async;
    int rc;

    if (!p)
        return;
    if (mode && strcmp(mode, "async") != 0 && strcmp(mode, "sync") != 0) {
        act_err_field(&err, ACT_EINVAL, "mode", "mode must be 'sync' or 'async'");
        reply_err(resp, &err);
        return;
    }
    if (!(body = body_object(req, resp)))
        return;
    async = mode && strcmp(mode, "async") == 0;
    rc = act_plugins_dispatch(p, body, async, &out, &err);
    reply(resp, rc, async ? 202 : 200, out, &err);
    json_decref(body);
}

static void on_health(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_plugins *p = registry(resp);
    struct act_err err = {0};
    json_t *out = NULL;

    int rc;

    (void)req;
    if (!p)
        return;
    rc = act_plugins_health(p, &out, &err);
    reply(resp, rc, 200, out, &err);
}

static void on_event_ingest(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_plugins *p = registry(resp);
    struct act_err err = {0};
    json_t *body, *out = NULL;
    int rc;

    if (!p || !(body = body_object(req, resp)))
        return;
    rc = act_plugins_event_ingest(p, body, &out, &err);
    reply(resp, rc, 202, out, &err);
    json_decref(body);
}

static void on_event_list(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_plugins *p = registry(resp);
    const char *ls = act_api_query(req, "limit");
    struct act_err err = {0};
    json_t *out = NULL;
    char *end = NULL;
    long limit = 0;
    int rc;

    if (!p)
        return;
    if (ls) {
        limit = strtol(ls, &end, 10);
        if (!*ls || *end || limit < 1 || limit > 500) {
            act_err_field(&err, ACT_EINVAL, "limit", "limit must be an integer 1..500");
            reply_err(resp, &err);
            return;
        }
    }
    rc = act_plugins_event_list(p, act_api_query(req, "plugin"), (int)limit, &out, &err);
    reply(resp, rc, 200, out, &err);
}

const struct act_api_route act_api_plugin_routes[] = {
    {"GET", "/api/plugins", on_list, 0},
    {"POST", "/api/plugins", on_create, ACT_API_ROUTE_JSON},
    {"PUT", "/api/plugins", on_put, ACT_API_ROUTE_JSON},
    {"PATCH", "/api/plugins", on_patch, ACT_API_ROUTE_JSON},
    {"GET", "/api/plugins/actions", on_discover, 0},
    {"GET", "/api/plugins/events", on_event_list, 0},
    {"POST", "/api/plugins/events", on_event_ingest, ACT_API_ROUTE_JSON},
    {"GET", "/api/plugins/events/automation", on_health, 0},
    {"POST", "/api/plugins/events/automation", on_dispatch, ACT_API_ROUTE_JSON},
    {"GET", "/api/plugins/{slug}", on_get, 0},
    {"PUT", "/api/plugins/{slug}", on_put, ACT_API_ROUTE_JSON},
    {"PATCH", "/api/plugins/{slug}", on_patch, ACT_API_ROUTE_JSON},
    {"DELETE", "/api/plugins/{slug}", on_delete, 0},
    {"POST", "/api/plugins/{slug}/test", on_test, 0}, /* no body */
    {"POST", "/api/plugins/{slug}/register-actions", on_register, ACT_API_ROUTE_JSON},
};
const size_t act_api_n_plugin_routes =
    sizeof(act_api_plugin_routes) / sizeof(act_api_plugin_routes[0]);
