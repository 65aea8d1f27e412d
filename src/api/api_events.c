/*
 * /v1/events (ingest, read) and /v1/match/explain (API.md "Events",
 * "Matching").
 *
 * One request body can take five forms, told apart in this order (the
 * CloudEvents HTTP binding: the Content-Type decides before the headers):
 *   1. Content-Type application/cloudevents-batch+json: a JSON array;
 *   2. Content-Type application/cloudevents+json: one structured event;
 *   3. binary CloudEvents: a `ce-specversion` header is present; the other
 *      ce-* headers are the attributes and the body is the data (any other
 *      Content-Type), see api_cloudevents.c;
 *   4. any other JSON: an object with an `events` array and no `type` is a
 *      batch, a top-level array is a batch too, any other object is one
 *      event (plain form {"type", "data", ...} or structured CloudEvents,
 *      which act_event_normalize tells apart by `specversion`);
 *   5. a non-JSON Content-Type without ce-specversion: 415.
 *
 * Every event goes through act_event_normalize, then all valid events of a
 * request reach the engine in ONE act_engine_ingest call, so a batch costs
 * one transaction and one fsync.  A batch member that fails normalisation
 * gets {"error": problem} in its slot of `results` (its field prefixed
 * "events[i]") and does not stop the others; a single event that fails is
 * the request's problem.  The reply (202) is sent only after the engine's
 * commit.  Explain takes one event in any form and stores nothing.
 */
#include "api/api_internal.h"

#include "base/alloc.h"
#include "base/time.h"
#include "model/model.h"

#include <stdio.h>
#include <string.h>

/* A request body read as events. */
struct ev_input {
    json_t *doc;          /* owned: the parsed body or the binary-mode event */
    const json_t *list;   /* batch members (borrowed from doc), or NULL */
    const json_t *single; /* the one event (borrowed from doc), or NULL */
};

static int read_binary(struct act_api_req *req, struct act_api_resp *resp, struct ev_input *in)
{
    struct act_err err = {0};
    struct act_api_header *hdrs;
    size_t n;
    int rc;

    hdrs = act_api_headers_collect(req, &n);
    rc = act_api_ce_binary(hdrs, n, req->body, req->body_len, &in->doc, &err);
    act_free(hdrs);
    if (rc < 0) {
        act_api_reply_err(resp, &err);
        return rc;
    }
    in->single = in->doc;
    return ACT_OK;
}

/* Decide batch or single for a parsed JSON body of media type `mt`. */
static int classify(struct act_api_resp *resp, const char *mt, struct ev_input *in)
{
    const json_t *events;

    if (strcmp(mt, "application/cloudevents-batch+json") == 0) {
        if (!json_is_array(in->doc)) {
            act_api_reply_problem(resp, 400, NULL, NULL,
                                  "a CloudEvents batch is a JSON array of events");
            return ACT_EINVAL;
        }
        in->list = in->doc;
        return ACT_OK;
    }
    if (json_is_array(in->doc)) {
        if (strcmp(mt, "application/cloudevents+json") == 0) {
            act_api_reply_problem(resp, 400, NULL, NULL,
                                  "a structured CloudEvent is a JSON object; send arrays as "
                                  "application/cloudevents-batch+json");
            return ACT_EINVAL;
        }
        in->list = in->doc;
        return ACT_OK;
    }
    events = json_object_get(in->doc, "events");
    if (events && !json_object_get(in->doc, "type") && strcmp(mt, "application/cloudevents+json")) {
        if (!json_is_array(events)) {
            act_api_reply_problem(resp, 400, NULL, "events", "'events' must be an array of events");
            return ACT_EINVAL;
        }
        in->list = events;
        return ACT_OK;
    }
    in->single = in->doc;
    return ACT_OK;
}

/* Read the body in any accepted form.  On failure the problem is in resp. */
static int read_events(struct act_api_req *req, struct act_api_resp *resp, struct ev_input *in)
{
    char mt[128];

    memset(in, 0, sizeof(*in));
    act_api_media_type(req->content_type, mt, sizeof(mt));
    if (act_api_header(req, "ce-specversion") && strncmp(mt, "application/cloudevents", 23) != 0)
        return read_binary(req, resp, in);
    if (req->content_type && !act_api_media_is_json(req->content_type)) {
        act_api_reply_problem(resp, 415, NULL, NULL,
                              "Content-Type '%s' is not accepted: send JSON, CloudEvents "
                              "structured or batch JSON, or binary mode with ce-* headers",
                              req->content_type);
        return ACT_EINVAL;
    }
    if (act_api_body_json(req, resp, false, &in->doc) < 0)
        return ACT_EINVAL;
    return classify(resp, mt, in);
}

static void ingest_single(struct act_api_req *req, struct act_api_resp *resp, const json_t *ev)
{
    struct act_err err = {0};
    json_t *canon = NULL, *reply = NULL;
    int rc;

    if (act_event_normalize(ev, act_time_now_us(), &canon, &err) < 0) {
        act_api_reply_err(resp, &err);
        return;
    }
    rc = act_engine_ingest(req->engine, &canon, 1, &reply, &err);
    act_api_reply_result(resp, rc, 202, reply, &err);
    json_decref(canon);
}

/* {"error": problem} for batch member i whose normalisation failed. */
static json_t *member_error(struct act_err *err, size_t i)
{
    char prefix[48];

    snprintf(prefix, sizeof(prefix), "events[%zu]", i);
    act_err_prefix_field(err, prefix);
    return json_pack("{s:o}", "error", act_api_problem_from_err(err));
}

static void ingest_batch(struct act_api_req *req, struct act_api_resp *resp, const json_t *list)
{
    size_t n = json_array_size(list), nv = 0;
    int64_t now = act_time_now_us();
    json_t **slots, **valid, **replies, *results;
    size_t *where;
    struct act_err err = {0};
    int rc = ACT_OK;

    if (n == 0) {
        act_api_reply_problem(resp, 400, NULL, "events", "the batch holds no events");
        return;
    }
    if (n > req->api->max_batch_events) {
        act_api_reply_problem(resp, 413, NULL, "events",
                              "the batch holds %zu events; the limit is %zu", n,
                              req->api->max_batch_events);
        return;
    }
    slots = act_xcalloc(n, sizeof(*slots)); /* per member: its error entry, later its reply */
    valid = act_xcalloc(n, sizeof(*valid)); /* canonical events handed to the engine */
    replies = act_xcalloc(n, sizeof(*replies));
    where = act_xcalloc(n, sizeof(*where)); /* valid[j] is member where[j] */
    for (size_t i = 0; i < n; i++) {
        act_err_clear(&err);
        if (act_event_normalize(json_array_get(list, i), now, &valid[nv], &err) < 0)
            slots[i] = member_error(&err, i);
        else
            where[nv++] = i;
    }
    if (nv > 0 && (rc = act_engine_ingest(req->engine, valid, nv, replies, &err)) < 0) {
        act_api_reply_result(resp, rc, 202, NULL, &err);
        goto out;
    }
    for (size_t j = 0; j < nv; j++) {
        slots[where[j]] = replies[j] ? replies[j]
                                     : json_pack("{s:o}", "error",
                                                 act_api_problem_new(500, NULL, "no reply", NULL));
        replies[j] = NULL;
    }
    results = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(results, slots[i]);
        slots[i] = NULL;
    }
    act_api_reply_json(resp, 202, json_pack("{s:o}", "results", results));
out:
    for (size_t i = 0; i < n; i++) {
        json_decref(slots[i]);
        json_decref(valid[i]);
        json_decref(replies[i]);
    }
    act_free(slots);
    act_free(valid);
    act_free(replies);
    act_free(where);
}

static void on_ingest(struct act_api_req *req, struct act_api_resp *resp)
{
    struct ev_input in;

    if (read_events(req, resp, &in) < 0)
        goto out;
    if (in.list)
        ingest_batch(req, resp, in.list);
    else
        ingest_single(req, resp, in.single);
out:
    json_decref(in.doc);
}

static void on_get(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *out = NULL;
    int rc;

    rc = act_engine_event_get(req->engine, act_api_param(&req->params, "id"), &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
}

static void on_explain(struct act_api_req *req, struct act_api_resp *resp)
{
    struct act_err err = {0};
    json_t *canon = NULL, *out = NULL;
    struct ev_input in;
    int rc;

    if (read_events(req, resp, &in) < 0)
        goto out;
    if (in.list) {
        act_api_reply_problem(resp, 400, NULL, NULL, "explain takes one event, not a batch");
        goto out;
    }
    if (act_event_normalize(in.single, act_time_now_us(), &canon, &err) < 0) {
        act_api_reply_err(resp, &err);
        goto out;
    }
    rc = act_engine_explain(req->engine, canon, &out, &err);
    act_api_reply_result(resp, rc, 200, out, &err);
out:
    json_decref(canon);
    json_decref(in.doc);
}

const struct act_api_route act_api_event_routes[] = {
    /* No ACT_API_ROUTE_JSON: binary mode takes any Content-Type, so these
     * handlers check the media type themselves. */
    {"POST", "/v1/events", on_ingest, 0},
    {"GET", "/v1/events/{id}", on_get, 0},
    {"POST", "/v1/match/explain", on_explain, 0},
};
const size_t act_api_n_event_routes =
    sizeof(act_api_event_routes) / sizeof(act_api_event_routes[0]);
