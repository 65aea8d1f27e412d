/*
 * /v1/executions: list (newest first, filtered by the query string), read
 * one with its retry lineage, cancel (API.md "Executions").
 *
 * Query parameters go to the engine unparsed (struct act_query); it
 * validates them and names the parameter in its error, so a bad `?limit=`
 * is a 400 with field "limit".  Cancel answers 200 with the execution as
 * it is after the cancel, 409 when it had already finished.
 */
#include "api/api_internal.h"

static void on_list(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    struct act_query q;
    json_t *out = NULL;
    int rc;

    act_api_query_fill(req, &q);
    rc = act_engine_exec_list(req->engine, &q, &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
}

static void on_get(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *out = NULL;
    int rc;

    rc = act_engine_exec_get(req->engine, act_api_param(&req->params, "id"), &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
}

static void on_cancel(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *out = NULL;
    int rc;

    rc = act_engine_exec_cancel(req->engine, act_api_param(&req->params, "id"), &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
}

const struct act_api_route act_api_exec_routes[] = {
    {"GET", "/v1/executions", on_list, 0},
    {"GET", "/v1/executions/{id}", on_get, 0},
    {"POST", "/v1/executions/{id}/cancel", on_cancel, 0},
};
const size_t act_api_n_exec_routes = sizeof(act_api_exec_routes) / sizeof(act_api_exec_routes[0]);
