/*
 * /v1/actions: create, list, read, replace, patch, delete, run by hand and
 * per-action metrics (API.md "Actions").
 *
 * Each handler is a thin translation: path and query into engine
 * arguments, the engine's document or error into a response.  Validation,
 * defaults and redaction live in the model and the engine, so the
 * embedding API answers the same body the same way.  Status codes: 201
 * with Location on create, 204 on delete, 202 on execute, 200 otherwise.
 */
#include "api/api_internal.h"

static void on_create(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *body = NULL, *out = NULL;

    if (act_api_body_object(req, resp, false, &body) < 0)
        return;
    if (act_engine_action_create(req->engine, body, &out, &err) < 0)
        act_api_reply_err(resp, &err);
    else
        act_api_reply_created(resp, "/v1/actions/", out);
    json_decref(body);
}

static void on_list(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    struct act_query q;
    json_t *out = NULL;
    int rc;

    act_api_query_fill(req, &q);
    rc = act_engine_action_list(req->engine, &q, &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
}

static void on_get(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *out = NULL;
    int rc;

    rc = act_engine_action_get(req->engine, act_api_param(&req->params, "id"), &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
}

static void update(struct act_api_req *req, struct act_api_resp *resp, bool merge)
{
    struct act_err err = {0};
    json_t *body = NULL, *out = NULL;
    int rc;

    if (act_api_body_object(req, resp, false, &body) < 0)
        return;
    rc = act_engine_action_update(req->engine, act_api_param(&req->params, "id"), body, merge, &out,
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

    rc = act_engine_action_delete(req->engine, act_api_param(&req->params, "id"), &err);
    act_api_reply_result(resp, rc, 204, NULL, &err);
}

static void on_execute(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *body = NULL, *out = NULL;
    const json_t *input;
    int rc;

    if (act_api_body_input(req, resp, &body, &input) == ACT_OK) {
        rc = act_engine_action_execute(req->engine, act_api_param(&req->params, "id"), input, &out,
                                       &err);
        act_api_reply_result(resp, rc, 202, out, &err);
    }
    json_decref(body);
}

static void on_metrics(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    struct act_query q;
    json_t *out = NULL;
    int rc;

    act_api_query_fill(req, &q);
    rc = act_engine_action_metrics(req->engine, act_api_param(&req->params, "id"), &q, &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
}

const struct act_api_route act_api_action_routes[] = {
    {"POST", "/v1/actions", on_create, ACT_API_ROUTE_JSON},
    {"GET", "/v1/actions", on_list, 0},
    {"GET", "/v1/actions/{id}", on_get, 0},
    {"PUT", "/v1/actions/{id}", on_put, ACT_API_ROUTE_JSON},
    {"PATCH", "/v1/actions/{id}", on_patch, ACT_API_ROUTE_JSON},
    {"DELETE", "/v1/actions/{id}", on_delete, 0},
    {"POST", "/v1/actions/{id}/execute", on_execute, ACT_API_ROUTE_JSON},
    {"GET", "/v1/actions/{id}/metrics", on_metrics, 0},
};
const size_t act_api_n_action_routes =
    sizeof(act_api_action_routes) / sizeof(act_api_action_routes[0]);
