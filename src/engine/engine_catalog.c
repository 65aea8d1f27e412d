/*
 * The catalog: actions and subscriptions, in the store and in memory.
 *
 * A change is validated and prepared on the caller's thread (normalise the
 * document, open the handler state), written by the writer inside its
 * transaction, and installed in memory only after the commit, under the
 * catalog write lock.  Readers (event matching on API threads) take the read
 * lock, so they see either the old or the new catalog, never a mix.
 *
 * An action version (`struct action_rt`) is immutable and refcounted: an
 * update installs a new version and queued executions switch to it when they
 * are dispatched; running ones finish on the version they started with.
 * Flow-control state (concurrency, token buckets, counters) lives in a
 * `struct flow` per action id, shared by its versions.
 */
#include "engine/engine_internal.h"

#include "base/alloc.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>

#define ACT_LOG_MODULE "catalog"

struct action_rt *act_action_rt_ref(struct action_rt *a)
{
    if (a)
        atomic_fetch_add(&a->refs, 1);
    return a;
}

void act_action_rt_unref(struct action_rt *a)
{
    if (!a || atomic_fetch_sub(&a->refs, 1) != 1)
        return;
    if (a->ops && a->ops->close)
        a->ops->close(a->hstate);
    json_decref(a->doc);
    act_free(a->name);
    act_free(a);
}

struct action_rt *act_catalog_action(struct act_engine *e, const char *id)
{
    return act_map_get(&e->actions, id);
}

static struct flow *flow_for(struct act_engine *e, const char *id)
{
    struct flow *f = act_map_get(&e->flows, id);
    if (f)
        return f;
    f = act_xcalloc(1, sizeof(*f));
    snprintf(f->action_id, sizeof(f->action_id), "%s", id);
    f->next = e->all_flows;
    e->all_flows = f;
    act_map_put(&e->flows, id, f);
    return f;
}

/* Build a runtime version from a canonical document.  A handler that cannot
 * be opened (a plugin file removed since) still yields a version whose
 * executions fail with the reason, so nothing accepted is dropped. */
static struct action_rt *rt_new(const char *id, const json_t *doc, struct act_err *err)
{
    struct action_rt *a = act_xcalloc(1, sizeof(*a));
    const json_t *handler = json_object_get(doc, "handler");
    const char *kind = json_string_value(json_object_get(handler, "kind"));
    struct act_err oerr = {0};

    atomic_init(&a->refs, 1);
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->doc = json_deep_copy(doc);
    json_object_del(a->doc, "id");
    json_object_del(a->doc, "created_at");
    json_object_del(a->doc, "updated_at");
    a->name = act_xstrdup(json_string_value(json_object_get(doc, "name")));
    a->config = json_object_get(a->doc, "config");
    act_action_spec_from_doc(a->doc, &a->spec);
    a->ops = kind ? act_handler_find(kind) : NULL;
    if (!a->ops || a->ops->open(json_object_get(a->doc, "handler"), a->config, &a->hstate,
                                &oerr) < 0) {
        if (err) {
            act_err_set(err, ACT_EUNPROC, "handler: %s",
                        a->ops ? oerr.msg : "unknown handler kind");
            snprintf(err->field, sizeof(err->field), "%s", a->ops ? "handler" : "handler.kind");
        }
        a->ops = NULL;
        if (!err)
            act_log_error("action '%s': handler cannot be opened: %s", a->name, oerr.msg);
    }
    return a;
}

/* Install under the write lock; takes the caller's reference. */
static void install_action(struct act_engine *e, struct action_rt *a)
{
    struct action_rt *old;

    pthread_rwlock_wrlock(&e->cat_lock);
    a->flow = flow_for(e, a->id);
    act_free(a->flow->name);
    a->flow->name = act_xstrdup(a->name);
    old = act_map_put(&e->actions, a->id, a);
    pthread_rwlock_unlock(&e->cat_lock);
    act_action_rt_unref(old);
}

static struct sub_rt *sub_new(const char *id, const json_t *doc)
{
    struct sub_rt *s = act_xcalloc(1, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->action_id, sizeof(s->action_id), "%s",
             json_string_value(json_object_get(doc, "action_id")));
    s->priority = (int)json_integer_value(json_object_get(doc, "priority"));
    s->enabled = json_is_true(json_object_get(doc, "enabled"));
    return s;
}

static void sub_free(struct sub_rt *s)
{
    act_free(s);
}

/* Caller holds the write lock.  The document is only read here: the index
 * keeps its compiled form, so memory per subscription stays small. */
static void install_sub_locked(struct act_engine *e, struct sub_rt *s, const json_t *doc)
{
    struct act_err err = {0};
    struct sub_rt *old = act_map_put(&e->subs, s->id, s);

    /* add() replaces in place (keeping the insertion order of the id). */
    if (!s->enabled)
        act_match_index_remove(e->index, s->id);
    else if (act_match_index_add(e->index, s->id, json_object_get(doc, "event_patterns"),
                                 json_object_get(doc, "conditions"), s->priority, s, &err) < 0)
        act_log_error("subscription %s cannot be indexed: %s", s->id, err.msg);
    sub_free(old);
}

static int load_action(const char *id, json_t *doc, void *ud)
{
    install_action(ud, rt_new(id, doc, NULL));
    return ACT_OK;
}

static int load_sub(const char *id, json_t *doc, void *ud)
{
    struct act_engine *e = ud;
    pthread_rwlock_wrlock(&e->cat_lock);
    install_sub_locked(e, sub_new(id, doc), doc);
    pthread_rwlock_unlock(&e->cat_lock);
    return ACT_OK;
}

int act_catalog_load(struct act_engine *e, struct act_err *err)
{
    int rc = e->store->ops->actions_load(e->store, load_action, e, err);
    if (rc < 0)
        return rc;
    return e->store->ops->subs_load(e->store, load_sub, e, err);
}

void act_catalog_release(struct act_engine *e)
{
    size_t i = 0;
    const char *k;
    void *v;
    struct flow *f, *next;

    while (act_map_next(&e->actions, &i, &k, &v))
        act_action_rt_unref(v);
    i = 0;
    while (act_map_next(&e->subs, &i, &k, &v))
        sub_free(v);
    act_map_release(&e->actions);
    act_map_release(&e->subs);
    act_map_release(&e->flows);
    for (f = e->all_flows; f; f = next) {
        next = f->next;
        act_free(f->disabled_reason);
        act_free(f->name);
        act_free(f);
    }
    e->all_flows = NULL;
    act_match_index_free(e->index);
    e->index = NULL;
}

json_t *act_action_health(const struct action_rt *a)
{
    const struct flow *f = a ? a->flow : NULL;
    long fails = f ? atomic_load(&f->consecutive_failures) : 0;
    int64_t ok_us = f ? atomic_load(&f->last_success_us) : 0;
    int64_t bad_us = f ? atomic_load(&f->last_failure_us) : 0;
    char b1[40], b2[40];
    const char *status = "unknown";

    if (a && !a->spec.enabled && f && f->disabled_reason)
        return json_pack("{s:s, s:s, s:I}", "status", "disabled", "reason", f->disabled_reason,
                         "consecutive_failures", (json_int_t)fails);
    if (a && !a->ops)
        status = "broken";
    else if (fails >= 3)
        status = "failing";
    else if (fails > 0)
        status = "degraded";
    else if (ok_us)
        status = "healthy";
    return json_pack("{s:s, s:I, s:o, s:o}", "status", status, "consecutive_failures",
                     (json_int_t)fails, "last_success_at",
                     ok_us ? json_string(act_time_format_rfc3339(ok_us, b1, sizeof(b1)))
                           : json_null(),
                     "last_failure_at",
                     bad_us ? json_string(act_time_format_rfc3339(bad_us, b2, sizeof(b2)))
                            : json_null());
}

int act_catalog_disable(struct act_engine *e, struct action_rt *a, const char *reason,
                        struct act_err *err)
{
    json_t *doc;
    int rc;

    if (!a->spec.enabled || act_catalog_action(e, a->id) != a)
        return ACT_OK; /* disabled already, or replaced meanwhile */
    doc = json_deep_copy(a->doc);
    json_object_set_new(doc, "enabled", json_false());
    rc = e->store->ops->action_put(e->store, a->id, doc, false, act_time_now_us(), err);
    if (rc == ACT_OK) {
        struct action_rt *n = rt_new(a->id, doc, NULL);
        install_action(e, n);
        pthread_rwlock_wrlock(&e->cat_lock);
        act_free(n->flow->disabled_reason);
        n->flow->disabled_reason = act_xstrdup(reason);
        pthread_rwlock_unlock(&e->cat_lock);
        act_log_warn("action '%s' disabled: %s", a->name, reason);
    }
    json_decref(doc);
    return rc;
}

/* ---- actions API ---- */

static json_t *present_action(struct act_engine *e, json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    json_t *cfg = json_object_get(doc, "config"), *h = json_object_get(doc, "handler");

    if (cfg)
        json_object_set_new(doc, "config", act_redact(cfg));
    if (h) /* e.g. a password inside a `sql` dsn */
        json_object_set_new(doc, "handler", act_redact(h));
    pthread_rwlock_rdlock(&e->cat_lock);
    json_object_set_new(doc, "health", act_action_health(id ? act_map_get(&e->actions, id) : NULL));
    pthread_rwlock_unlock(&e->cat_lock);
    return doc;
}

int act_engine_action_get(struct act_engine *e, const char *id, json_t **out, struct act_err *err)
{
    int rc = e->store->ops->action_get(e->store, id, out, err);
    if (rc < 0)
        return rc;
    present_action(e, *out);
    return ACT_OK;
}

static void present_item(struct act_engine *e, json_t *doc)
{
    present_action(e, doc);
}

int act_engine_action_list(struct act_engine *e, const struct act_query *q, json_t **out,
                           struct act_err *err)
{
    return act_engine_list(e, e->store->ops->action_list, q, present_item, out, err);
}

struct action_change {
    char id[ACT_UUID_LEN + 1];
    json_t *doc;             /* canonical */
    struct action_rt *rt;    /* prepared version; installed after commit */
    bool insert;
    struct item *cancel;     /* delete: items to drop after commit */
};

static int action_put_fn(struct act_engine *e, void *arg, struct act_err *err)
{
    struct action_change *c = arg;
    if (!c->insert && !act_catalog_action(e, c->id))
        return act_err_set(err, ACT_ENOTFOUND, "action '%s' not found", c->id);
    return e->store->ops->action_put(e->store, c->id, c->doc, c->insert, act_time_now_us(), err);
}

static void action_put_after(struct act_engine *e, void *arg)
{
    struct action_change *c = arg;
    struct flow *f;

    install_action(e, c->rt);
    pthread_rwlock_wrlock(&e->cat_lock);
    f = act_map_get(&e->flows, c->id);
    if (f && c->rt->spec.enabled) { /* re-enabled by hand: the note goes */
        act_free(f->disabled_reason);
        f->disabled_reason = NULL;
    }
    pthread_rwlock_unlock(&e->cat_lock);
    c->rt = NULL;
}

static int action_save(struct act_engine *e, struct action_change *c, json_t **out,
                       struct act_err *err)
{
    struct act_err oerr = {0};
    int rc;

    c->rt = rt_new(c->id, c->doc, &oerr);
    if (!c->rt->ops) {
        if (err)
            *err = oerr;
        rc = oerr.code;
        goto out;
    }
    if ((rc = act_engine_run_fn(e, action_put_fn, action_put_after, c, err)) < 0)
        goto out;
    rc = act_engine_action_get(e, c->id, out, err);
out:
    act_action_rt_unref(c->rt);
    json_decref(c->doc);
    return rc;
}

int act_engine_action_create(struct act_engine *e, const json_t *body, json_t **out,
                             struct act_err *err)
{
    struct action_change c = {0};
    int rc;

    *out = NULL;
    if ((rc = act_action_normalize(body, NULL, &c.doc, err)) < 0)
        return rc;
    act_uuid_v7(c.id);
    c.insert = true;
    return action_save(e, &c, out, err);
}

int act_engine_action_update(struct act_engine *e, const char *id, const json_t *body, bool merge,
                             json_t **out, struct act_err *err)
{
    struct action_change c = {0};
    json_t *base = NULL;
    int rc;

    *out = NULL;
    if ((rc = e->store->ops->action_get(e->store, id, &base, err)) < 0)
        return rc;
    rc = act_action_normalize(body, merge ? base : NULL, &c.doc, err);
    json_decref(base);
    if (rc < 0)
        return rc;
    snprintf(c.id, sizeof(c.id), "%s", id);
    return action_save(e, &c, out, err);
}

static int action_delete_fn(struct act_engine *e, void *arg, struct act_err *err)
{
    struct action_change *c = arg;
    int64_t now = act_time_now_us();
    size_t i = 0;
    const char *k;
    void *v;
    int rc;

    if ((rc = e->store->ops->action_delete(e->store, c->id, err)) < 0)
        return rc;
    /* Executions not yet final are cancelled with their action. */
    while (act_map_next(&e->items, &i, &k, &v)) {
        struct item *it = v;
        if (strcmp(it->action->id, c->id) != 0)
            continue;
        rc = e->store->ops->exec_cancel(e->store, it->id, now, err);
        if (rc < 0 && rc != ACT_ESTATE)
            return rc;
    }
    return ACT_OK;
}

static void action_delete_after(struct act_engine *e, void *arg)
{
    struct action_change *c = arg;
    struct action_rt *a;
    size_t i = 0;
    const char *k;
    void *v;

    pthread_rwlock_wrlock(&e->cat_lock);
    a = act_map_del(&e->actions, c->id);
    if (a)
        a->deleted = true;
    while (act_map_next(&e->subs, &i, &k, &v)) {
        struct sub_rt *s = v;
        if (strcmp(s->action_id, c->id) != 0)
            continue;
        act_match_index_remove(e->index, s->id);
        act_map_del(&e->subs, s->id);
        sub_free(s);
    }
    pthread_rwlock_unlock(&e->cat_lock);
    i = 0;
    while (act_map_next(&e->items, &i, &k, &v)) {
        struct item *it = v;
        if (strcmp(it->action->id, c->id) != 0)
            continue;
        if (it->state == ITEM_RUNNING) {
            it->cancel_requested = true;
        } else {
            act_map_del(&e->items, it->id);
            it->state = ITEM_CANCELLED;
        }
    }
    act_action_rt_unref(a);
}

int act_engine_action_delete(struct act_engine *e, const char *id, struct act_err *err)
{
    struct action_change c = {0};
    snprintf(c.id, sizeof(c.id), "%s", id);
    return act_engine_run_fn(e, action_delete_fn, action_delete_after, &c, err);
}

/* ---- subscriptions API ---- */

int act_engine_sub_get(struct act_engine *e, const char *id, json_t **out, struct act_err *err)
{
    return e->store->ops->sub_get(e->store, id, out, err);
}

int act_engine_sub_list(struct act_engine *e, const struct act_query *q, json_t **out,
                        struct act_err *err)
{
    return act_engine_list(e, e->store->ops->sub_list, q, NULL, out, err);
}

struct sub_change {
    char id[ACT_UUID_LEN + 1];
    json_t *doc;
    bool insert;
};

static int sub_put_fn(struct act_engine *e, void *arg, struct act_err *err)
{
    struct sub_change *c = arg;
    const char *aid = json_string_value(json_object_get(c->doc, "action_id"));

    if (!act_catalog_action(e, aid))
        return act_err_field(err, ACT_EUNPROC, "action_id", "action '%s' does not exist", aid);
    if (!c->insert && !act_map_get(&e->subs, c->id))
        return act_err_set(err, ACT_ENOTFOUND, "subscription '%s' not found", c->id);
    return e->store->ops->sub_put(e->store, c->id, c->doc, c->insert, act_time_now_us(), err);
}

static void sub_put_after(struct act_engine *e, void *arg)
{
    struct sub_change *c = arg;
    pthread_rwlock_wrlock(&e->cat_lock);
    install_sub_locked(e, sub_new(c->id, c->doc), c->doc);
    pthread_rwlock_unlock(&e->cat_lock);
}

static int sub_save(struct act_engine *e, struct sub_change *c, json_t **out, struct act_err *err)
{
    int rc = act_engine_run_fn(e, sub_put_fn, sub_put_after, c, err);
    json_decref(c->doc);
    if (rc < 0)
        return rc;
    return e->store->ops->sub_get(e->store, c->id, out, err);
}

int act_engine_sub_create(struct act_engine *e, const json_t *body, json_t **out,
                          struct act_err *err)
{
    struct sub_change c = {0};
    int rc;

    *out = NULL;
    if ((rc = act_subscription_normalize(body, NULL, &c.doc, err)) < 0)
        return rc;
    act_uuid_v7(c.id);
    c.insert = true;
    return sub_save(e, &c, out, err);
}

int act_engine_sub_update(struct act_engine *e, const char *id, const json_t *body, bool merge,
                          json_t **out, struct act_err *err)
{
    struct sub_change c = {0};
    json_t *base = NULL;
    int rc;

    *out = NULL;
    if ((rc = e->store->ops->sub_get(e->store, id, &base, err)) < 0)
        return rc;
    rc = act_subscription_normalize(body, merge ? base : NULL, &c.doc, err);
    json_decref(base);
    if (rc < 0)
        return rc;
    snprintf(c.id, sizeof(c.id), "%s", id);
    return sub_save(e, &c, out, err);
}

static int sub_delete_fn(struct act_engine *e, void *arg, struct act_err *err)
{
    return e->store->ops->sub_delete(e->store, (const char *)arg, err);
}

static void sub_delete_after(struct act_engine *e, void *arg)
{
    struct sub_rt *s;
    pthread_rwlock_wrlock(&e->cat_lock);
    s = act_map_del(&e->subs, (const char *)arg);
    if (s)
        act_match_index_remove(e->index, s->id);
    pthread_rwlock_unlock(&e->cat_lock);
    sub_free(s);
}

int act_engine_sub_delete(struct act_engine *e, const char *id, struct act_err *err)
{
    char buf[ACT_UUID_LEN + 1];
    snprintf(buf, sizeof(buf), "%s", id);
    return act_engine_run_fn(e, sub_delete_fn, sub_delete_after, buf, err);
}
