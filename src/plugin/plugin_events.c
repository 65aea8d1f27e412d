/*
 * Plugin events (seed: /api/plugins/events) and the connectivity test
 * (seed: /api/plugins/{slug}/test).
 *
 * Ingest is the engine's ordinary event ingest: the event is stored, the
 * subscriptions match it, and every active plugin whose `events` patterns
 * match gets a durable, signed delivery to its webhook_url (the core
 * action plugin.<slug>.__webhook).  The answer names those deliveries.
 * The list shows the recent executions of the webhook actions, newest
 * first, with their outcomes.
 *
 * The connectivity test is a plain GET of api_endpoint (handler/http_client:
 * no redirects, no proxy): the plugin is reachable when it answers anything
 * below 500.  Only the first bytes of the answer are read.
 */
#include "plugin/plugin_internal.h"

#include "base/alloc.h"
#include "base/time.h"
#include "handler/handler_http.h"
#include "handler/http_client.h"
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_TIMEOUT_MS 5000
#define TEST_BODY_MAX 4096
#define LIST_DEFAULT 50
#define LIST_MAX 500

/* The plugin whose webhook action is `action_id` (borrowed), or NULL. */
static const json_t *plugin_of_webhook(const json_t *snap, const char *action_id)
{
    size_t i;
    json_t *d;

    json_array_foreach(snap, i, d)
    {
        const char *a =
            json_string_value(json_object_get(json_object_get(d, "webhook"), "action_id"));
        if (a && action_id && strcmp(a, action_id) == 0)
            return d;
    }
    return NULL;
}

int act_plugins_event_ingest(struct act_plugins *p, const json_t *body, json_t **out,
                             struct act_err *err)
{
    json_t *canon = NULL, *reply = NULL, *snap, *del, *x;
    size_t i;
    int rc;

    *out = NULL;
    if (!json_is_object(body))
        return act_err_set(err, ACT_EINVAL, "the body must be one event {type, data}");
    if ((rc = act_event_normalize(body, act_time_now_us(), &canon, err)) < 0)
        return rc;
    rc = act_engine_ingest(p->e, &canon, 1, &reply, err);
    json_decref(canon);
    if (rc < 0)
        return rc;
    snap = act_plugins_snapshot(p);
    del = json_array();
    json_array_foreach(json_object_get(reply, "executions"), i, x)
    {
        const json_t *d =
            plugin_of_webhook(snap, json_string_value(json_object_get(x, "action_id")));
        if (d)
            json_array_append_new(del, json_pack("{s:O, s:O, s:O}", "plugin_id",
                                                 json_object_get(d, "id"), "plugin_slug",
                                                 json_object_get(d, "slug"), "execution_id",
                                                 json_object_get(x, "id")));
    }
    json_decref(snap);
    *out = json_pack("{s:O, s:O, s:o, s:I}", "event_id", json_object_get(reply, "event_id"),
                     "duplicate", json_object_get(reply, "duplicate"), "deliveries", del, "count",
                     (json_int_t)json_array_size(del));
    json_decref(reply);
    return ACT_OK;
}

static json_t *event_row(struct act_engine *e, const json_t *d, const json_t *x, json_t *types)
{
    const char *eid = json_string_value(json_object_get(x, "event_id"));
    json_t *type = eid ? json_object_get(types, eid) : NULL, *ev = NULL;

    if (eid && !type) {
        struct act_err err = {0};
        if (act_engine_event_get(e, eid, &ev, &err) == ACT_OK)
            json_object_set(types, eid, json_object_get(json_object_get(ev, "event"), "type"));
        json_decref(ev);
        type = json_object_get(types, eid);
    }
    return json_pack(
        "{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "execution_id",
        json_object_get(x, "id"), "plugin_id", json_object_get(d, "id"), "plugin_slug",
        json_object_get(d, "slug"), "event_id", json_object_get(x, "event_id"), "event_type",
        type ? type : json_null(), "status", json_object_get(x, "status"), "attempt",
        json_object_get(x, "attempt"), "error", json_object_get(x, "error"), "queued_at",
        json_object_get(x, "queued_at"), "finished_at", json_object_get(x, "finished_at"),
        "duration_ms", json_object_get(x, "duration_ms"));
}

static int by_queued_desc(const void *a, const void *b)
{
    const char *qa = json_string_value(json_object_get(*(json_t *const *)a, "queued_at"));
    const char *qb = json_string_value(json_object_get(*(json_t *const *)b, "queued_at"));
    int c = strcmp(qb ? qb : "", qa ? qa : "");

    if (c)
        return c;
    return strcmp(json_string_value(json_object_get(*(json_t *const *)b, "execution_id")),
                  json_string_value(json_object_get(*(json_t *const *)a, "execution_id")));
}

/* Sort rows newest first and keep `limit`. */
static json_t *newest(json_t *rows, size_t limit)
{
    size_t n = json_array_size(rows);
    json_t **v = act_xcalloc(n ? n : 1, sizeof(*v)), *out = json_array();

    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(rows, i);
    qsort(v, n, sizeof(*v), by_queued_desc);
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append(out, v[i]);
    act_free(v);
    json_decref(rows);
    return out;
}

int act_plugins_event_list(struct act_plugins *p, const char *plugin, int limit, json_t **out,
                           struct act_err *err)
{
    json_t *snap = act_plugins_snapshot(p), *rows = json_array(), *types = json_object(), *d;
    char lim[16];
    size_t i, j;
    json_t *x;
    int rc = ACT_OK;

    *out = NULL;
    if (limit < 0 || limit > LIST_MAX) {
        rc = act_err_field(err, ACT_EINVAL, "limit", "limit must be an integer 1..%d", LIST_MAX);
        goto out;
    }
    limit = limit ? limit : LIST_DEFAULT;
    snprintf(lim, sizeof(lim), "%d", limit);
    json_array_foreach(snap, i, d)
    {
        const char *aid =
            json_string_value(json_object_get(json_object_get(d, "webhook"), "action_id"));
        struct act_query q = {.action_id = aid, .limit = lim};
        json_t *page = NULL;

        if (!aid || (plugin && strcmp(plugin, json_string_value(json_object_get(d, "slug"))) != 0))
            continue;
        if ((rc = act_engine_exec_list(p->e, &q, &page, err)) < 0)
            goto out;
        json_array_foreach(json_object_get(page, "items"), j, x)
            json_array_append_new(rows, event_row(p->e, d, x, types));
        json_decref(page);
    }
    rows = newest(rows, (size_t)limit);
    *out = json_pack("{s:O, s:I}", "events", rows, "count", (json_int_t)json_array_size(rows));
out:
    json_decref(rows);
    json_decref(types);
    json_decref(snap);
    return rc;
}

/* ---- connectivity test ---- */

int act_plugins_test(struct act_plugins *p, const char *slug, json_t **out, struct act_err *err)
{
    static const char *const headers[] = {"User-Agent: " ACT_HTTP_USER_AGENT,
                                          "Accept: application/json", NULL};
    json_t *snap = act_plugins_snapshot(p);
    const json_t *d = act_plugins_find_slug(snap, slug);
    const char *url = d ? json_string_value(json_object_get(d, "api_endpoint")) : NULL;
    struct act_http_request req = {.method = "GET",
                                   .url = url,
                                   .headers = headers,
                                   .timeout_ms = TEST_TIMEOUT_MS,
                                   .max_response = TEST_BODY_MAX};
    struct act_http_response res = {0};
    struct act_err herr = {0};
    int rc = ACT_OK, hrc;

    *out = NULL;
    if (!d) {
        rc = act_err_set(err, ACT_ENOTFOUND, "plugin '%.64s' not found", slug);
        goto out;
    }
    if (!url) {
        rc =
            act_err_field(err, ACT_ESTATE, "api_endpoint", "plugin '%s' has no api_endpoint", slug);
        goto out;
    }
    hrc = act_http_request(&req, &res, &herr);
    /* A long answer is still an answer: the plugin is reachable. */
    if (hrc == ACT_ETOOBIG && res.status > 0)
        hrc = ACT_OK;
    *out = json_pack("{s:b, s:s, s:O, s:i, s:I}", "success",
                     hrc == ACT_OK && res.status > 0 && res.status < 500, "url", url, "plugin_id",
                     json_object_get(d, "id"), "status", (int)res.status, "latency_ms",
                     (json_int_t)(res.latency_us / 1000));
    if (hrc < 0)
        json_object_set_new(*out, "error", json_string(herr.msg));
    else if (res.status >= 500)
        json_object_set_new(*out, "error", json_string("the plugin answered a server error"));
    act_http_response_release(&res);
out:
    json_decref(snap);
    return rc;
}
