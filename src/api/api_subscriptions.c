/*
 * /v1/subscriptions: create, list (?action_id=), read, replace, patch and
 * delete (API.md "Subscriptions").
 *
 * Patterns and conditions are compiled by the model and indexed by the
 * engine; this file only translates HTTP to engine calls.  A subscription
 * naming an unknown action is the engine's decision (404/422), not ours.
 */
#include "api/api_internal.h"

static void on_create(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *body = NULL, *out = NULL;

    if (act_api_body_object(req, resp, false, &body) < 0)
        return;
    if (act_engine_sub_create(req->engine, body, &out, &err) < 0)
        act_api_reply_err(resp, &err);
    else
        act_api_reply_created(resp, "/v1/subscriptions/", out);
    json_decref(body);
}

static void on_list(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    struct act_query q;
    json_t *out = NULL;
    int rc;

    act_api_query_fill(req, &q);
    rc = act_engine_sub_list(req->engine, &q, &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
}

static void on_get(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *out = NULL;
    int rc;

    rc = act_engine_sub_get(req->engine, act_api_param(&req->params, "id"), &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
}

static void update(struct act_api_req *req, struct act_api_resp *resp, bool merge)
{
    struct act_err err = {0};
    json_t *body = NULL, *out = NULL;
    int rc;

    if (act_api_body_object(req, resp, false, &body) < 0)
        return;
    rc = act_engine_sub_update(req->engine, act_api_param(&req->params, "id"), body, merge, &out,
                               &err);
    act_api_reply_result(resp, rc, 200, out, &err);
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

static void on_delete(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    int rc;

    rc = act_engine_sub_delete(req->engine, act_api_param(&req->params, "id"), &err);
    act_api_reply_result(resp, rc, 204, NULL, &err);
}

const struct act_api_route act_api_sub_routes[] = {
    {"POST", "/v1/subscriptions", on_create, ACT_API_ROUTE_JSON},
    {"GET", "/v1/subscriptions", on_list, 0},
    {"GET", "/v1/subscriptions/{id}", on_get, 0},
    {"PUT", "/v1/subscriptions/{id}", on_put, ACT_API_ROUTE_JSON},
    {"PATCH", "/v1/subscriptions/{id}", on_patch, ACT_API_ROUTE_JSON},
    {"DELETE", "/v1/subscriptions/{id}", on_delete, 0},
};
const size_t act_api_n_sub_routes = sizeof(act_api_sub_routes) / sizeof(act_api_sub_routes[0]);
