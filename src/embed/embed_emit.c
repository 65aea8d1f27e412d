/*
 * actiond_emit(): events in, durable executions out, the in-process twin of
 * POST /v1/events (src/api/api_events.c).
 *
 * The text is one event or a batch (a JSON array, or an object with an
 * `events` array and no `type`, the rule the HTTP path uses for plain JSON
 * bodies).  Every event goes through act_event_normalize, exactly as over
 * HTTP, and all valid events of one call reach the engine in ONE
 * act_engine_ingest call: one transaction, one fsync, and the reply only
 * after the commit.  In a batch, a member that fails normalisation gets
 * {"error": {"code", "message", "field"}} in its slot (field prefixed
 * "events[i]") and does not stop the others, as the HTTP batch gives a
 * problem object per member; a single event that fails fails the call.
 */
#include "actiond/actiond.h"

#include "embed/embed_internal.h"

#include "base/alloc.h"
#include "base/time.h"
#include "engine/engine.h"
#include "model/model.h"

#include <stdio.h>

/* The batch members of `doc`, or NULL when it is a single event.  Fails
 * (ACT_EINVAL) when `events` is present but not an array. */
static int batch_of(const json_t *doc, const json_t **list, struct act_err *err)
{
    const json_t *events;

    *list = NULL;
    if (json_is_array(doc)) {
        *list = doc;
        return ACT_OK;
    }
    events = json_object_get(doc, "events");
    if (events && !json_object_get(doc, "type")) {
        if (!json_is_array(events))
            return act_err_field(err, ACT_EINVAL, "events", "must be an array of events");
        *list = events;
    }
    return ACT_OK;
}

static int emit_single(struct act_engine *e, const json_t *ev, json_t **reply, struct act_err *err)
{
    json_t *canon = NULL;
    int rc;

    if ((rc = act_event_normalize(ev, act_time_now_us(), &canon, err)) < 0)
        return rc;
    rc = act_engine_ingest(e, &canon, 1, reply, err);
    json_decref(canon);
    return rc;
}

/* {"error": {...}} for batch member i whose normalisation failed. */
static json_t *member_error(struct act_err *err, size_t i)
{
    char prefix[48];

    snprintf(prefix, sizeof(prefix), "events[%zu]", i);
    act_err_prefix_field(err, prefix);
    return json_pack("{s:{s:i, s:s, s:s}}", "error", "code", err->code, "message", err->msg,
                     "field", err->field);
}

static int emit_batch(struct act_engine *e, const json_t *list, json_t **reply,
                      struct act_err *err)
{
    size_t n = json_array_size(list), nv = 0;
    int64_t now = act_time_now_us();
    json_t **slots, **valid, **replies, *results;
    struct act_err merr;
    size_t *where;
    int rc = ACT_OK;

    if (n == 0)
        return act_err_field(err, ACT_EINVAL, "events", "the batch holds no events");
    slots = act_xcalloc(n, sizeof(*slots));     /* per member: its error, later its reply */
    valid = act_xcalloc(n, sizeof(*valid));     /* canonical events for the engine */
    replies = act_xcalloc(n, sizeof(*replies));
    where = act_xcalloc(n, sizeof(*where));     /* valid[j] is member where[j] */
    for (size_t i = 0; i < n; i++) {
        act_err_clear(&merr);
        if (act_event_normalize(json_array_get(list, i), now, &valid[nv], &merr) < 0)
            slots[i] = member_error(&merr, i);
        else
            where[nv++] = i;
    }
    if (nv > 0 && (rc = act_engine_ingest(e, valid, nv, replies, err)) < 0)
        goto out;
    for (size_t j = 0; j < nv; j++) {
        slots[where[j]] = replies[j];
        replies[j] = NULL;
    }
    results = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(results, slots[i] ? slots[i] : json_null());
        slots[i] = NULL;
    }
    *reply = json_pack("{s:o}", "results", results);
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
    return rc;
}

int actiond_emit(struct act_engine *e, const char *event_json, char **reply_json, char *errbuf,
                 size_t errlen)
{
    struct act_err err = {0};
    json_t *doc = NULL, *reply = NULL;
    const json_t *list;
    int rc;

    if (reply_json)
        *reply_json = NULL;
    if ((rc = act_embed_need(e != NULL, "engine", &err)) < 0 ||
        (rc = act_embed_parse(event_json, "event", &doc, &err)) < 0 ||
        (rc = batch_of(doc, &list, &err)) < 0)
        goto out;
    rc = list ? emit_batch(e, list, &reply, &err) : emit_single(e, doc, &reply, &err);
out:
    json_decref(doc);
    if (rc < 0) {
        json_decref(reply);
        return act_embed_fail(&err, errbuf, errlen);
    }
    act_embed_give(reply, reply_json);
    return ACTIOND_OK;
}
