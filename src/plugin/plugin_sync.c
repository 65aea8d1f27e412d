/*
 * The engine objects behind plugins and platform routes.
 *
 * Naming is the link between a registry entry and its core action:
 *   plugin.<slug>.<action_type>   a registered plugin action (kind plugin)
 *   plugin.<slug>.__webhook       event deliveries to webhook_url (kind
 *                                 plugin) + one subscription on `events`
 *   platform.<action_type>        a platform route (kind platform)
 * The plugin document records the ids ("core", "webhook"); when an id is
 * gone (deleted by hand through /v1/actions) the object is recreated, and
 * when a create hits a taken name (an orphan left by a crash between
 * engine writes and the document save) the existing action is adopted.
 *
 * Undo is stateless: it compares the ids `next` holds with those of `prev`
 * and restores prev's bodies (rebuilt from prev, since the engine only
 * shows configs redacted) or deletes what prev did not have.  That works
 * for a sync that stopped half-way as well as for one whose document save
 * failed, because act_plugin_sync records each id in `next` as it goes.
 */
#include "plugin/plugin_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/time.h"
#include "model/model.h"

#include <stdio.h>
#include <string.h>

#define ACT_LOG_MODULE "plugin"

/* ---- bodies ---- */

static json_t *default_retry(int max_retries, int64_t max_delay_ms)
{
    return json_pack("{s:i, s:s, s:i, s:I, s:b}", "max_retries", max_retries, "backoff",
                     "exponential", "initial_delay_ms", 1000, "max_delay_ms",
                     (json_int_t)max_delay_ms, "jitter", 1);
}

/* api_endpoint + endpoint without a doubled '/'. */
static char *join_url(const char *base, const char *path)
{
    size_t n = strlen(base);

    if (n && base[n - 1] == '/' && path[0] == '/')
        n--;
    return act_xasprintf("%.*s%s", (int)n, base, path);
}

static json_t *plugin_config(const json_t *doc)
{
    json_t *c = json_object();
    const json_t *k = json_object_get(doc, "api_key");

    json_object_set(c, "secret", json_object_get(doc, "secret"));
    if (json_is_string(k))
        json_object_set(c, "api_key", (json_t *)k);
    return c;
}

static json_t *plugin_handler(const json_t *doc, const char *url, json_int_t timeout_ms)
{
    return json_pack("{s:s, s:s, s:I, s:O, s:O}", "kind", "plugin", "url", url, "timeout_ms",
                     timeout_ms, "plugin_id", json_object_get(doc, "id"), "plugin_slug",
                     json_object_get(doc, "slug"));
}

/* Event deliveries carry the whole CloudEvent (type, id, source, data), so
 * the plugin learns what happened, not only the data. */
static json_t *webhook_handler(const json_t *doc, json_int_t timeout_ms)
{
    json_t *h = plugin_handler(doc, json_string_value(json_object_get(doc, "webhook_url")),
                               timeout_ms);
    json_object_set_new(h, "payload", json_string("event"));
    return h;
}

static json_int_t pick_timeout(const struct act_plugins *p, const json_t *a, const json_t *doc)
{
    const json_t *v = json_object_get(a, "timeout_ms");

    if (!json_is_integer(v))
        v = json_object_get(doc, "timeout_ms");
    return json_is_integer(v) ? json_integer_value(v) : (json_int_t)p->timeout_ms;
}

json_t *act_plugin_core_body(const struct act_plugins *p, const json_t *doc, const json_t *action)
{
    const char *slug = json_string_value(json_object_get(doc, "slug"));
    const char *type = json_string_value(json_object_get(action, "action_type"));
    const char *base = json_string_value(json_object_get(doc, "api_endpoint"));
    const json_t *rp = json_object_get(action, "retry_policy"), *v;
    json_int_t timeout = pick_timeout(p, action, doc);
    char name[256], *url;
    json_t *b;

    act_plugin_core_name(slug, type, name, sizeof(name));
    url = join_url(base ? base : "", json_string_value(json_object_get(action, "endpoint")));
    if (!json_is_object(rp))
        rp = json_object_get(doc, "retry_policy");
    v = json_object_get(action, "description");
    b = json_pack("{s:s, s:s, s:s, s:O, s:o, s:o, s:O, s:O, s:O, s:o, s:I, s:b}", "name", name,
                  "action_type", type, "category",
                  json_string_value(json_object_get(action, "category"))
                      ? json_string_value(json_object_get(action, "category"))
                      : "plugin",
                  "description", json_is_string(v) ? v : json_object_get(action, "title"),
                  "handler", plugin_handler(doc, url, timeout), "config", plugin_config(doc),
                  "required_fields", json_object_get(action, "required_fields"), "optional_fields",
                  json_object_get(action, "optional_fields"), "input_schema",
                  json_object_get(action, "input_schema") ? json_object_get(action, "input_schema")
                                                          : json_null(),
                  "retry_policy", json_is_object(rp) ? json_deep_copy(rp) : default_retry(2, 30000),
                  "timeout_ms", timeout, "enabled",
                  strcmp(json_string_value(json_object_get(doc, "status")), "active") == 0);
    act_free(url);
    return b;
}

static bool wants_webhook(const json_t *doc)
{
    return json_is_string(json_object_get(doc, "webhook_url")) &&
           json_array_size(json_object_get(doc, "events")) > 0;
}

static json_t *webhook_body(const struct act_plugins *p, const json_t *doc)
{
    const char *slug = json_string_value(json_object_get(doc, "slug"));
    const json_t *rp = json_object_get(doc, "retry_policy");
    json_int_t timeout = pick_timeout(p, NULL, doc);
    char name[256], desc[160];

    act_plugin_core_name(slug, ACT_PLUGIN_WEBHOOK_TYPE, name, sizeof(name));
    snprintf(desc, sizeof(desc), "deliveries of subscribed events to plugin %s", slug);
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:b}", "name", name, "action_type",
        "plugin_webhook", "category", "plugin", "description", desc, "handler",
        webhook_handler(doc, timeout),
        "config", plugin_config(doc), "retry_policy",
        json_is_object(rp) ? json_deep_copy(rp) : default_retry(5, 60000), "timeout_ms", timeout,
        "enabled", strcmp(json_string_value(json_object_get(doc, "status")), "active") == 0);
}

static json_t *sub_body(const json_t *doc, const char *action_id)
{
    return json_pack("{s:s, s:O, s:b}", "action_id", action_id, "event_patterns",
                     json_object_get(doc, "events"), "enabled",
                     strcmp(json_string_value(json_object_get(doc, "status")), "active") == 0);
}

static int probe(json_t *body, const char *prefix, struct act_err *err)
{
    json_t *n = NULL;
    int rc = act_action_normalize(body, NULL, &n, err);

    json_decref(n);
    json_decref(body);
    if (rc < 0 && err) {
        char msg[sizeof(err->msg)];

        act_err_prefix_field(err, prefix);
        if (snprintf(msg, sizeof(msg), "%s %s", err->field, err->msg) >= (int)sizeof(msg))
            msg[sizeof(msg) - 1] = '\0'; /* truncated: still a useful message */
        memcpy(err->msg, msg, sizeof(msg));
    }
    return rc;
}

int act_plugin_core_prevalidate(const struct act_plugins *p, const json_t *doc, struct act_err *err)
{
    const json_t *actions = json_object_get(json_object_get(doc, "registered_actions"), "actions");
    char prefix[32];
    size_t i;
    json_t *a;
    int rc;

    if (json_array_size(actions) && !json_is_string(json_object_get(doc, "api_endpoint")))
        return act_err_field(err, ACT_EUNPROC, "api_endpoint",
                             "plugin '%s' has no api_endpoint: set it before registering actions",
                             json_string_value(json_object_get(doc, "slug")));
    json_array_foreach(actions, i, a)
    {
        snprintf(prefix, sizeof(prefix), "actions[%zu]", i);
        if ((rc = probe(act_plugin_core_body(p, doc, a), prefix, err)) < 0)
            return rc;
    }
    if (wants_webhook(doc))
        return probe(webhook_body(p, doc), "webhook_url", err);
    return ACT_OK;
}

/* ---- engine writes ---- */

int act_plugins_action_by_name(struct act_engine *e, const char *name, char *id, size_t len,
                               struct act_err *err)
{
    struct act_query q = {.q = name, .limit = "1000"};
    json_t *out = NULL, *it;
    size_t i;
    int rc = act_engine_action_list(e, &q, &out, err);

    if (rc < 0)
        return rc;
    rc = act_err_set(err, ACT_ENOTFOUND, "action '%s' not found", name);
    json_array_foreach(json_object_get(out, "items"), i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "name")), name) == 0) {
            snprintf(id, len, "%s", json_string_value(json_object_get(it, "id")));
            act_err_clear(err);
            rc = ACT_OK;
            break;
        }
    }
    json_decref(out);
    return rc;
}

static void take_id(json_t *doc, char *id, size_t len)
{
    snprintf(id, len, "%s", json_string_value(json_object_get(doc, "id")));
    json_decref(doc);
}

/* Update action `id` (NULL: none yet) to `body`, else create it, else adopt
 * the action of the same name.  The resulting id goes to out. */
static int upsert_action(struct act_engine *e, const char *id, const json_t *body, char *out,
                         size_t len, struct act_err *err)
{
    json_t *doc = NULL;
    int rc;

    if (id) {
        rc = act_engine_action_update(e, id, body, false, &doc, err);
        if (rc != ACT_ENOTFOUND) {
            if (rc == ACT_OK)
                take_id(doc, out, len);
            return rc;
        }
        act_err_clear(err);
    }
    rc = act_engine_action_create(e, body, &doc, err);
    if (rc == ACT_OK) {
        take_id(doc, out, len);
        return rc;
    }
    if (rc != ACT_ECONFLICT)
        return rc;
    act_err_clear(err);
    rc = act_plugins_action_by_name(e, json_string_value(json_object_get(body, "name")), out, len,
                                    err);
    if (rc < 0)
        return rc;
    rc = act_engine_action_update(e, out, body, false, &doc, err);
    json_decref(doc);
    return rc;
}

static int upsert_sub(struct act_engine *e, const char *id, const json_t *body, char *out,
                      size_t len, struct act_err *err)
{
    json_t *doc = NULL;
    int rc;

    if (id) {
        rc = act_engine_sub_update(e, id, body, false, &doc, err);
        if (rc != ACT_ENOTFOUND) {
            if (rc == ACT_OK)
                take_id(doc, out, len);
            return rc;
        }
        act_err_clear(err);
    }
    rc = act_engine_sub_create(e, body, &doc, err);
    if (rc == ACT_OK)
        take_id(doc, out, len);
    return rc;
}

static const char *wh_get(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(json_object_get(doc, "webhook"), key));
}

static int sync_webhook(struct act_plugins *p, const json_t *prev, json_t *next,
                        struct act_err *err)
{
    char aid[ACT_UUID_LEN + 1], sid[ACT_UUID_LEN + 1];
    const char *pa = wh_get(prev, "action_id"), *ps = wh_get(prev, "subscription_id");
    json_t *body, *wh;
    int rc;

    if (!wants_webhook(next))
        return ACT_OK;
    body = webhook_body(p, next);
    rc = upsert_action(p->e, pa, body, aid, sizeof(aid), err);
    json_decref(body);
    if (rc < 0)
        return rc;
    wh = json_pack("{s:s, s:n}", "action_id", aid, "subscription_id");
    json_object_set_new(next, "webhook", wh);
    body = sub_body(next, aid);
    rc = upsert_sub(p->e, pa && strcmp(pa, aid) == 0 ? ps : NULL, body, sid, sizeof(sid), err);
    json_decref(body);
    if (rc == ACT_OK)
        json_object_set_new(wh, "subscription_id", json_string(sid));
    return rc;
}

int act_plugin_sync(struct act_plugins *p, const json_t *prev, json_t *next, struct act_err *err)
{
    const json_t *actions = json_object_get(json_object_get(next, "registered_actions"), "actions");
    const json_t *pcore = json_object_get(prev, "core");
    json_t *core = json_object(), *a;
    char id[ACT_UUID_LEN + 1];
    size_t i;
    int rc = ACT_OK;

    json_object_set_new(next, "core", core);
    json_object_set_new(next, "webhook", json_null());
    json_array_foreach(actions, i, a)
    {
        const char *type = json_string_value(json_object_get(a, "action_type"));
        json_t *body = act_plugin_core_body(p, next, a);

        rc = upsert_action(p->e, json_string_value(json_object_get(pcore, type)), body, id,
                           sizeof(id), err);
        json_decref(body);
        if (rc < 0)
            break;
        json_object_set_new(core, type, json_string(id));
    }
    if (rc == ACT_OK)
        rc = sync_webhook(p, prev, next, err);
    if (rc < 0)
        act_plugin_sync_undo(p, prev, next);
    return rc;
}

/* ---- undo and prune ---- */

static void drop_action(struct act_plugins *p, const char *id)
{
    struct act_err err = {0};
    int rc = act_engine_action_delete(p->e, id, &err);

    if (rc < 0 && rc != ACT_ENOTFOUND)
        act_log_warn("cannot delete core action %s: %s", id, err.msg);
}

static void restore_action(struct act_plugins *p, const char *id, json_t *body)
{
    struct act_err err = {0};
    json_t *doc = NULL;

    if (act_engine_action_update(p->e, id, body, false, &doc, &err) < 0)
        act_log_warn("cannot restore core action %s: %s", id, err.msg);
    json_decref(doc);
    json_decref(body);
}

static const json_t *find_action(const json_t *doc, const char *type)
{
    const json_t *list = json_object_get(json_object_get(doc, "registered_actions"), "actions");
    size_t i;
    json_t *a;

    json_array_foreach(list, i, a) if (strcmp(json_string_value(json_object_get(a, "action_type")),
                                              type) == 0) return a;
    return NULL;
}

static void undo_webhook(struct act_plugins *p, const json_t *prev, const json_t *next)
{
    const char *na = wh_get(next, "action_id"), *ns = wh_get(next, "subscription_id");
    const char *pa = wh_get(prev, "action_id"), *ps = wh_get(prev, "subscription_id");
    struct act_err err = {0};
    json_t *doc = NULL, *body;

    if (!na)
        return;
    if (!pa || strcmp(pa, na) != 0) {
        drop_action(p, na); /* its subscription goes with it */
        return;
    }
    restore_action(p, na, webhook_body(p, prev));
    if (ns && (!ps || strcmp(ps, ns) != 0)) {
        (void)act_engine_sub_delete(p->e, ns, &err);
    } else if (ns) {
        body = sub_body(prev, pa);
        if (act_engine_sub_update(p->e, ns, body, false, &doc, &err) < 0)
            act_log_warn("cannot restore subscription %s: %s", ns, err.msg);
        json_decref(doc);
        json_decref(body);
    }
}

void act_plugin_sync_undo(struct act_plugins *p, const json_t *prev, const json_t *next)
{
    const json_t *pcore = json_object_get(prev, "core");
    const char *type;
    json_t *v;

    json_object_foreach(json_object_get(next, "core"), type, v)
    {
        const char *id = json_string_value(v),
                   *pid = json_string_value(json_object_get(pcore, type));
        const json_t *pa = find_action(prev, type);

        if (pid && strcmp(pid, id) == 0 && pa)
            restore_action(p, id, act_plugin_core_body(p, prev, pa));
        else
            drop_action(p, id);
    }
    undo_webhook(p, prev, next);
}

void act_plugin_sync_prune(struct act_plugins *p, const json_t *prev, const json_t *next)
{
    const json_t *ncore = json_object_get(next, "core");
    const char *pa = wh_get(prev, "action_id"), *ps = wh_get(prev, "subscription_id");
    const char *na = wh_get(next, "action_id"), *ns = wh_get(next, "subscription_id");
    struct act_err err = {0};
    const char *type;
    json_t *v;

    json_object_foreach(json_object_get(prev, "core"), type, v)
    {
        const char *nid = json_string_value(json_object_get(ncore, type));
        if (!nid || strcmp(nid, json_string_value(v)) != 0)
            drop_action(p, json_string_value(v));
    }
    if (pa && (!na || strcmp(na, pa) != 0))
        drop_action(p, pa);
    else if (ps && (!ns || strcmp(ns, ps) != 0))
        (void)act_engine_sub_delete(p->e, ps, &err);
}

/* ---- platform routes ---- */

static json_t *platform_body(const struct act_plugins *p, const struct act_platform_route *r)
{
    char name[256], desc[1100];

    snprintf(name, sizeof(name), "platform.%s", r->action_type);
    snprintf(desc, sizeof(desc), "%s %s", r->method, r->path);
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:{}, s:O, s:o, s:I}", "name", name,
                     "action_type", r->action_type, "category", "platform", "description", desc,
                     "handler", "kind", "platform", "method", r->method, "path", r->path, "config",
                     "required_fields", r->require, "retry_policy",
                     r->retry_policy ? json_deep_copy(r->retry_policy) : default_retry(2, 30000),
                     "timeout_ms", (json_int_t)(r->timeout_ms ? r->timeout_ms : p->timeout_ms));
}

int act_plugins_platform_sync(struct act_plugins *p, struct act_err *err)
{
    struct act_query q = {.q = "platform.", .limit = "1000"};
    json_t *list = NULL, *byname = json_object(), *it;
    char id[ACT_UUID_LEN + 1], name[256];
    size_t i;
    int rc = act_engine_action_list(p->e, &q, &list, err);

    if (rc < 0)
        goto out;
    json_array_foreach(json_object_get(list, "items"), i, it) json_object_set(
        byname, json_string_value(json_object_get(it, "name")), json_object_get(it, "id"));
    for (i = 0; i < p->table.n; i++) {
        const struct act_platform_route *r = &p->table.routes[i];
        json_t *body = platform_body(p, r);

        snprintf(name, sizeof(name), "platform.%s", r->action_type);
        rc = upsert_action(p->e, json_string_value(json_object_get(byname, name)), body, id,
                           sizeof(id), err);
        json_decref(body);
        if (rc < 0) {
            act_err_prefix_field(err, name);
            goto out;
        }
        json_object_set_new(p->platform_ids, r->action_type, json_string(id));
    }
out:
    json_decref(list);
    json_decref(byname);
    return rc;
}
