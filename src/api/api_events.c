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

/* A deferred ingest: what the continuation needs once the engine is done. */
struct ingest_ctx {
    struct act_ingest *h;
    size_t n, nv;       /* members in the request; valid ones given to the engine */
    bool batch;
    json_t **slots;     /* batch: per member, its error entry (or NULL) */
    json_t **valid;     /* canonical events given to the engine */
    size_t *where;      /* valid[j] is member where[j] */
};

static void ctx_free(struct ingest_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        json_decref(c->slots ? c->slots[i] : NULL);
        json_decref(c->valid[i]);
    }
    act_free(c->slots);
    act_free(c->valid);
    act_free(c->where);
    act_free(c);
}

static struct ingest_ctx *ctx_new(size_t n, bool batch)
{
    struct ingest_ctx *c = act_xcalloc(1, sizeof(*c));
    c->n = n;
    c->batch = batch;
    c->valid = act_xcalloc(n, sizeof(*c->valid));
    c->where = act_xcalloc(n, sizeof(*c->where));
    if (batch)
        c->slots = act_xcalloc(n, sizeof(*c->slots));
    return c;
}

/* {"results": [...]} from each member's reply text or error entry. */
static void batch_reply(struct ingest_ctx *c, char **texts, size_t *lens,
                        struct act_api_resp *resp)
{
    static const char head[] = "{\"results\":[", tail[] = "]}";
    size_t total = sizeof(head) + sizeof(tail), at = 0;
    char *out;

    for (size_t i = 0; i < c->n; i++) /* error entries as text too */
        if (c->slots[i])
            texts[i] = act_api_json_dump(c->slots[i], &lens[i]);
    for (size_t i = 0; i < c->n; i++)
        total += (texts[i] ? lens[i] : 4) + 1;
    out = act_xmalloc(total);
    memcpy(out, head, sizeof(head) - 1);
    at = sizeof(head) - 1;
    for (size_t i = 0; i < c->n; i++) {
        if (i)
            out[at++] = ',';
        if (texts[i]) {
            memcpy(out + at, texts[i], lens[i]);
            at += lens[i];
        } else { /* cannot happen: every member has a reply or an error */
            memcpy(out + at, "null", 4);
            at += 4;
        }
    }
    memcpy(out + at, tail, sizeof(tail) - 1);
    at += sizeof(tail) - 1;
    act_api_reply_text(resp, 202, out, at);
}

/* Runs on a pool thread after the commit: the 202 (or the failure). */
static void ingest_finish(void *ud, struct act_api_resp *resp)
{
    struct ingest_ctx *c = ud;
    size_t nv = c->nv ? c->nv : 1;
    char **replies = act_xcalloc(nv, sizeof(*replies)), **texts = NULL;
    size_t *rlens = act_xcalloc(nv, sizeof(*rlens)), *lens = NULL;
    struct act_err err = {0};
    int rc = act_engine_ingest_end_text(c->h, replies, rlens, &err);

    if (rc < 0) {
        if (err.code >= 0) /* the engine failed without filling err */
            err.code = rc;
        act_api_reply_err(resp, &err);
    } else if (!c->batch) {
        act_api_reply_text(resp, 202, replies[0], rlens[0]);
        replies[0] = NULL;
    } else {
        texts = act_xcalloc(c->n, sizeof(*texts));
        lens = act_xcalloc(c->n, sizeof(*lens));
        for (size_t j = 0; j < c->nv; j++) {
            texts[c->where[j]] = replies[j];
            lens[c->where[j]] = rlens[j];
            replies[j] = NULL;
        }
        batch_reply(c, texts, lens, resp);
        for (size_t i = 0; i < c->n; i++)
            act_free(texts[i]);
    }
    for (size_t j = 0; j < c->nv; j++)
        act_free(replies[j]);
    act_free(replies);
    act_free(rlens);
    act_free(texts);
    act_free(lens);
    ctx_free(c);
}

/* A batch with no valid member: every slot is an error, nothing to store. */
static void ingest_finish_noengine(struct ingest_ctx *c, struct act_api_resp *resp)
{
    json_t *results = json_array();
    for (size_t i = 0; i < c->n; i++) {
        json_array_append_new(results, c->slots[i]);
        c->slots[i] = NULL;
    }
    act_api_reply_json(resp, 202, json_pack("{s:o}", "results", results));
    ctx_free(c);
}

/* Hand the valid events to the engine without blocking this pool thread:
 * the connection is parked until the commit.  Without a connection (unit
 * tests) or when the engine refuses at once, answer synchronously. */
static void ingest_start(struct act_api_req *req, struct act_api_resp *resp, struct ingest_ctx *c)
{
    struct act_err err = {0};
    void *tok;
    int rc;

    if (c->nv == 0) { /* a batch whose members are all invalid */
        c->h = NULL;
        ingest_finish_noengine(c, resp);
        return;
    }
    tok = act_api_defer(req, resp, ingest_finish, c);
    rc = act_engine_ingest_begin(req->engine, c->valid, c->nv, act_api_resume, tok, &c->h, &err);
    if (rc < 0) {
        act_api_defer_cancel(resp);
        act_api_reply_err(resp, &err);
        ctx_free(c);
    }
}

static void ingest_single(struct act_api_req *req, struct act_api_resp *resp, const json_t *ev)
{
    struct act_err err = {0};
    struct ingest_ctx *c = ctx_new(1, false);

    if (act_event_normalize(ev, act_time_now_us(), &c->valid[0], &err) < 0) {
        act_api_reply_err(resp, &err);
        ctx_free(c);
        return;
    }
    c->nv = 1;
    ingest_start(req, resp, c);
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
    size_t n = json_array_size(list);
    int64_t now = act_time_now_us();
    struct ingest_ctx *c;
    struct act_err err = {0};

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
    c = ctx_new(n, true);
    for (size_t i = 0; i < n; i++) {
        act_err_clear(&err);
        if (act_event_normalize(json_array_get(list, i), now, &c->valid[c->nv], &err) < 0)
            c->slots[i] = member_error(&err, i);
        else
            c->where[c->nv++] = i;
    }
    ingest_start(req, resp, c);
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
