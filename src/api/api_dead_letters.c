/*
 * /v1/dead-letters: list (?action_id= &since= &until=), read, replay one
 * (optionally with edited input) and replay in bulk by filter (API.md
 * "Dead letters").
 *
 * A replay is a new execution whose parent_id is the dead one; the engine
 * creates it and answers only after the commit, so a 202 here means the
 * replay is durable.  The literal route /v1/dead-letters/replay comes
 * before /v1/dead-letters/{id} routes in the table; they never compete
 * (different segment counts or methods), but the order keeps that obvious.
 */
#include "api/api_internal.h"

static void on_list(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    struct act_query q;
    json_t *out = NULL;
    int rc;

    act_api_query_fill(req, &q);
    rc = act_engine_dead_list(req->engine, &q, &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
}

static void on_get(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *out = NULL;
    int rc;

    rc = act_engine_dead_get(req->engine, act_api_param(&req->params, "id"), &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
}

static void on_replay(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *body = NULL, *out = NULL;
    const json_t *input;
    int rc;

    if (act_api_body_input(req, resp, &body, &input) == ACT_OK) {
        rc = act_engine_dead_replay(req->engine, act_api_param(&req->params, "id"), input, &out,
                                    &err);
        act_api_reply_result(resp, rc, 202, out, &err);
    }
    json_decref(body);
}

/* The filter body is optional: none means every dead letter. */
static void on_replay_bulk(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *body = NULL, *out = NULL;
    int rc;

    if (act_api_body_object(req, resp, true, &body) < 0)
        return;
    if (!body)
        body = json_object();
    rc = act_engine_dead_replay_bulk(req->engine, body, &out, &err);
    act_api_reply_result(resp, rc, 202, out, &err);
    json_decref(body);
}

const struct act_api_route act_api_dead_routes[] = {
    {"GET", "/v1/dead-letters", on_list, 0},
    {"POST", "/v1/dead-letters/replay", on_replay_bulk, ACT_API_ROUTE_JSON},
    {"GET", "/v1/dead-letters/{id}", on_get, 0},
    {"POST", "/v1/dead-letters/{id}/replay", on_replay, ACT_API_ROUTE_JSON},
};
const size_t act_api_n_dead_routes = sizeof(act_api_dead_routes) / sizeof(act_api_dead_routes[0]);
