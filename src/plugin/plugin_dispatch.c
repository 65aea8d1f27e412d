/*
 * The automation dispatcher (seed: POST /api/plugins/events/automation).
 *
 * Each event of a batch is resolved, in this order, to one core action:
 *   1. with plugin_id: the plugin of that id, if active and registering the
 *      action type ("Plugin action not found: T for plugin P" otherwise);
 *   2. without: the platform routing table;
 *   3. else the one active plugin that registers the type (the seed's own
 *      usage example omits plugin_id); several: an error naming them;
 *      none: "Unknown action type: T".
 * Required fields are checked before anything runs (absent or null is
 * missing; platform routes also refuse "" for their path ids), then the
 * action is started as a durable execution carrying flow_execution_id.
 *
 * All events are started first (from up to START_THREADS_MAX threads, so
 * their commits share fsyncs) and waited for afterwards, so the calls of
 * one batch run in parallel on the engine's workers and the batch takes
 * about as long as its slowest event.  The synchronous reply waits, per
 * event, for the outcome of the first attempt up to the action's timeout
 * plus ACT_PLUGIN_WAIT_GRACE_MS from the start of the batch; an event
 * still queued or running then is reported as such and carries on.  A
 * failed attempt whose retry is scheduled says so (retry_at).  One failing
 * event never stops the others.  This blocks the calling HTTP thread.
 */
#include "plugin/plugin_internal.h"

#include "base/alloc.h"
#include "base/time.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define FLOW_ID_MAX 256

/* One event of the batch while it is in flight. */
struct slot {
    json_t *res;                    /* the result entry (owned) */
    char exec_id[ACT_UUID_LEN + 1]; /* "" when nothing was started */
    int64_t timeout_ms;             /* the action's call timeout */
};

/* What an event resolved to. */
struct target {
    const char *action_id; /* core action */
    const json_t *plugin;  /* plugin document, or NULL (platform) */
    const json_t *reg;     /* the plugin's registration of the type */
    const struct act_platform_route *route;
};

static bool active(const json_t *doc)
{
    return strcmp(json_string_value(json_object_get(doc, "status")), "active") == 0;
}

static const json_t *registration(const json_t *doc, const char *type)
{
    size_t i;
    json_t *a;

    json_array_foreach(json_object_get(json_object_get(doc, "registered_actions"), "actions"), i,
                       a) if (strcmp(json_string_value(json_object_get(a, "action_type")), type) ==
                              0) return a;
    return NULL;
}

static void set_plugin(struct target *t, const json_t *doc, const json_t *reg, const char *type)
{
    t->plugin = doc;
    t->reg = reg;
    t->action_id = json_string_value(json_object_get(json_object_get(doc, "core"), type));
}

/* Without plugin_id and not a platform route: the single active plugin
 * registering the type. */
static int resolve_fallback(const json_t *snap, const char *type, struct target *t,
                            struct act_err *err)
{
    char names[200] = "";
    size_t i, n = 0, off = 0;
    json_t *d;

    json_array_foreach(snap, i, d)
    {
        const json_t *reg = active(d) ? registration(d, type) : NULL;
        if (!reg)
            continue;
        if (n++ == 0)
            set_plugin(t, d, reg, type);
        if (off < sizeof(names))
            off +=
                (size_t)snprintf(names + off, sizeof(names) - off, "%s%s (%s)", n > 1 ? ", " : "",
                                 json_string_value(json_object_get(d, "slug")),
                                 json_string_value(json_object_get(d, "id")));
    }
    if (n == 0)
        return act_err_set(err, ACT_ENOTFOUND, "Unknown action type: %s", type);
    if (n > 1)
        return act_err_set(err, ACT_ECONFLICT,
                           "Action type %s is registered by several plugins: %s; give plugin_id",
                           type, names);
    return ACT_OK;
}

static int resolve(struct act_plugins *p, const json_t *snap, const char *type,
                   const char *plugin_id, struct target *t, struct act_err *err)
{
    size_t i;
    json_t *d;

    memset(t, 0, sizeof(*t));
    if (plugin_id) {
        json_array_foreach(snap, i, d)
        {
            const json_t *reg;
            if (!active(d) || strcmp(json_string_value(json_object_get(d, "id")), plugin_id) != 0)
                continue;
            if ((reg = registration(d, type)) != NULL)
                set_plugin(t, d, reg, type);
            break;
        }
        if (!t->plugin)
            return act_err_set(err, ACT_ENOTFOUND, "Plugin action not found: %s for plugin %s",
                               type, plugin_id);
    } else if ((t->route = act_platform_table_find(&p->table, type)) != NULL) {
        t->action_id = json_string_value(json_object_get(p->platform_ids, type));
    } else if (resolve_fallback(snap, type, t, err) < 0) {
        return err ? err->code : ACT_ENOTFOUND;
    }
    if (!t->action_id)
        return act_err_set(err, ACT_ENOTFOUND, "action %s has no core action (yet)", type);
    return ACT_OK;
}

static int64_t target_timeout(const struct act_plugins *p, const struct target *t)
{
    const json_t *v;

    if (t->route)
        return t->route->timeout_ms ? t->route->timeout_ms : p->timeout_ms;
    v = json_object_get(t->reg, "timeout_ms");
    if (!json_is_integer(v))
        v = json_object_get(t->plugin, "timeout_ms");
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : p->timeout_ms;
}

static void fail_slot(struct slot *s, const char *msg)
{
    json_object_set_new(s->res, "success", json_false());
    json_object_set_new(s->res, "error", json_string(msg));
}

/* Validate one event, resolve it, check its fields and start it. */
static void start_one(struct act_plugins *p, const json_t *snap, const json_t *ev, const char *flow,
                      struct slot *s)
{
    const json_t *type = json_object_get(ev, "action_type"),
                 *pid = json_object_get(ev, "plugin_id");
    const json_t *payload = json_object_get(ev, "payload");
    struct act_err err = {0};
    struct target t;
    json_t *o = NULL;

    s->res = json_object();
    json_object_set(s->res, "action_type", json_is_string(type) ? (json_t *)type : json_null());
    if (json_is_string(pid))
        json_object_set(s->res, "plugin_id", (json_t *)pid);
    json_object_set_new(s->res, "execution_id", json_null());
    if (!json_is_object(ev))
        return fail_slot(s, "an event must be an object {action_type, plugin_id?, payload}");
    if (!json_is_string(type) || json_string_length(type) == 0)
        return fail_slot(s, "action_type is required (a string)");
    if (pid && !json_is_null(pid) && !json_is_string(pid))
        return fail_slot(s, "plugin_id must be a string");
    if (payload && !json_is_null(payload) && !json_is_object(payload))
        return fail_slot(s, "payload must be an object");
    if (resolve(p, snap, json_string_value(type), json_string_value(pid), &t, &err) < 0)
        return fail_slot(s, err.msg);
    if (t.plugin && !pid)
        json_object_set(s->res, "plugin_id", json_object_get(t.plugin, "id"));
    if ((t.route ? act_platform_route_check(t.route, payload, &err)
                 : act_plugin_required_check(json_object_get(t.reg, "required_fields"), payload,
                                             json_string_value(type), &err)) < 0)
        return fail_slot(s, err.msg);
    s->timeout_ms = target_timeout(p, &t);
    if (act_engine_action_execute_flow(p->e, t.action_id, json_is_object(payload) ? payload : NULL,
                                       flow, &o, &err) < 0)
        return fail_slot(s, err.msg);
    snprintf(s->exec_id, sizeof(s->exec_id), "%s",
             json_string_value(json_object_get(o, "execution_id")));
    json_object_set(s->res, "execution_id", json_object_get(o, "execution_id"));
    json_decref(o);
}

/* The retry that follows attempt `doc` (from its lineage): retry_at. */
static void note_retry(struct act_plugins *p, const json_t *doc, json_t *res)
{
    json_int_t attempt = json_integer_value(json_object_get(doc, "attempt"));
    struct act_err err = {0};
    size_t i;
    json_t *l, *next = NULL;

    json_array_foreach(json_object_get(doc, "lineage"), i, l)
    {
        if (json_integer_value(json_object_get(l, "attempt")) != attempt + 1)
            continue;
        if (act_engine_exec_get(p->e, json_string_value(json_object_get(l, "id")), &next, &err) ==
            ACT_OK) {
            json_object_set_new(res, "will_retry", json_true());
            json_object_set(res, "retry_at", json_object_get(next, "next_attempt_at"));
            json_object_set(res, "retry_execution_id", json_object_get(next, "id"));
            json_decref(next);
        }
        return;
    }
}

/* Wait for the slot's first attempt (until deadline_us, monotonic). */
static void wait_one(struct act_plugins *p, struct slot *s, int64_t deadline_us)
{
    int64_t left_ms = (deadline_us - act_time_mono_us()) / 1000;
    const char *status, *msg;
    struct act_err err = {0};
    json_t *doc = NULL;
    char buf[200];
    int rc;

    rc = act_engine_exec_wait_attempt(p->e, s->exec_id, left_ms > 0 ? left_ms : 0, &doc, &err);
    status = json_string_value(json_object_get(doc, "status"));
    json_object_set_new(s->res, "status", json_string(status ? status : "unknown"));
    if (rc == ACT_ETIMEDOUT || (rc == ACT_OK && !status)) {
        snprintf(buf, sizeof(buf),
                 "no outcome within %lld ms: the execution is still %s and "
                 "carries on (see execution_id)",
                 (long long)(s->timeout_ms + ACT_PLUGIN_WAIT_GRACE_MS),
                 status ? status : "pending");
        fail_slot(s, buf);
    } else if (rc < 0) {
        fail_slot(s, err.msg);
    } else if (strcmp(status, "succeeded") == 0) {
        json_object_set_new(s->res, "success", json_true());
        json_object_set(s->res, "result",
                        json_object_get(doc, "output") ? json_object_get(doc, "output")
                                                       : json_null());
    } else {
        msg = json_string_value(json_object_get(doc, "error"));
        fail_slot(s, msg ? msg
                         : (strcmp(status, "cancelled") == 0 ? "execution cancelled"
                                                             : "the action failed"));
        if (json_object_get(doc, "error_detail") &&
            !json_is_null(json_object_get(doc, "error_detail")))
            json_object_set(s->res, "error_detail", json_object_get(doc, "error_detail"));
        if (strcmp(status, "failed") == 0)
            note_retry(p, doc, s->res);
        else if (strcmp(status, "dead") == 0)
            json_object_set_new(s->res, "dead_letter", json_true());
    }
    json_decref(doc);
}

static int check_body(const struct act_plugins *p, const json_t *body, const json_t **events,
                      const char **flow, struct act_err *err)
{
    const json_t *f;

    if (!json_is_object(body))
        return act_err_set(err, ACT_EINVAL,
                           "the body must be a JSON object {flow_execution_id, events: [...]}");
    f = json_object_get(body, "flow_execution_id");
    if (f && !json_is_null(f) &&
        (!json_is_string(f) || json_string_length(f) == 0 || json_string_length(f) > FLOW_ID_MAX))
        return act_err_field(err, ACT_EINVAL, "flow_execution_id",
                             "flow_execution_id must be a string of 1..%d characters", FLOW_ID_MAX);
    *flow = json_string_value(f);
    *events = json_object_get(body, "events");
    if (!json_is_array(*events))
        return act_err_field(err, ACT_EINVAL, "events",
                             *events ? "events must be an array" : "events is required (an array)");
    if (json_array_size(*events) > p->max_dispatch)
        return act_err_field(err, ACT_ETOOBIG, "events",
                             "the batch holds %zu events; the limit is %zu "
                             "(plugins.max_dispatch_events)",
                             json_array_size(*events), p->max_dispatch);
    return ACT_OK;
}

/* Starting an execution is one durable commit; the engine's writer groups
 * the commits that arrive together, so a batch is started from a few
 * threads at once (events are independent; results keep their slots). */
#define START_THREADS_MAX 8
#define START_PER_THREAD_MIN 8

struct starter {
    struct act_plugins *p;
    const json_t *snap, *events;
    const char *flow;
    struct slot *slots;
    size_t from, to;
};

static void *start_range(void *ud)
{
    struct starter *st = ud;

    for (size_t i = st->from; i < st->to; i++)
        start_one(st->p, st->snap, json_array_get(st->events, i), st->flow, &st->slots[i]);
    return NULL;
}

static void start_all(struct act_plugins *p, const json_t *snap, const json_t *events,
                      const char *flow, struct slot *slots)
{
    size_t n = json_array_size(events), nt = n / START_PER_THREAD_MIN, started = 0;
    struct starter st[START_THREADS_MAX];
    pthread_t th[START_THREADS_MAX];

    if (nt > START_THREADS_MAX)
        nt = START_THREADS_MAX;
    if (nt < 1)
        nt = 1;
    for (size_t k = 0; k < nt; k++) {
        st[k] = (struct starter){p, snap, events, flow, slots, n * k / nt, n * (k + 1) / nt};
        /* The last range runs here; a thread that cannot start runs inline. */
        if (k + 1 == nt || pthread_create(&th[k], NULL, start_range, &st[k]) != 0)
            start_range(&st[k]);
        else
            started |= (size_t)1 << k;
    }
    for (size_t k = 0; k < nt; k++)
        if (started & ((size_t)1 << k))
            pthread_join(th[k], NULL);
}

int act_plugins_dispatch(struct act_plugins *p, const json_t *body, bool async, json_t **out,
                         struct act_err *err)
{
    const json_t *events = NULL;
    const char *flow = NULL;
    json_t *snap, *results;
    struct slot *slots;
    size_t n, ok = 0;
    int64_t t0 = act_time_mono_us();
    int rc;

    *out = NULL;
    if ((rc = check_body(p, body, &events, &flow, err)) < 0)
        return rc;
    n = json_array_size(events);
    slots = act_xcalloc(n ? n : 1, sizeof(*slots));
    snap = act_plugins_snapshot(p);
    start_all(p, snap, events, flow, slots);
    json_decref(snap);
    results = json_array();
    for (size_t i = 0; i < n; i++) {
        if (slots[i].exec_id[0] && !async)
            wait_one(p, &slots[i], t0 + (slots[i].timeout_ms + ACT_PLUGIN_WAIT_GRACE_MS) * 1000);
        else if (slots[i].exec_id[0])
            json_object_set_new(slots[i].res, "status", json_string("accepted"));
        if (async ? slots[i].exec_id[0] != '\0'
                  : json_is_true(json_object_get(slots[i].res, "success")))
            ok++;
        json_array_append_new(results, slots[i].res);
    }
    act_free(slots);
    *out = json_pack("{s:s?, s:s, s:o, s:{s:I, s:I, s:I}}", "flow_execution_id", flow, "mode",
                     async ? "async" : "sync", "results", results, "summary", "total",
                     (json_int_t)n, async ? "accepted" : "successful", (json_int_t)ok, "failed",
                     (json_int_t)(n - ok));
    return ACT_OK;
}
