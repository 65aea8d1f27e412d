/*
 * The plugin registry: lifecycle, the read snapshot, and the changes to
 * plugins (create, update, delete, register-actions).
 *
 * Every change runs under write_lock and follows one order, so that a
 * refused or failed change leaves nothing behind:
 *   1. validate the whole request (model rules, then every core action
 *      body it implies, with act_action_normalize) -- nothing written yet;
 *   2. create/update the core engine objects (act_plugin_sync), which
 *      undoes its own partial work on failure;
 *   3. save the plugin document; on failure undo step 2;
 *   4. delete the engine objects the plugin no longer uses (failures are
 *      logged: they leave an orphan action that the next sync adopts by
 *      name) and publish a new snapshot.
 * The engine has no multi-object transaction, so the atomicity is "all or
 * nothing, best effort": a crash between steps 2 and 3 leaves core actions
 * without a document pointing at them; the next registration of the same
 * action adopts them by name.
 *
 * Reads (dispatch, discovery, views) take a reference to the snapshot, an
 * array of stored documents that is never modified once published.
 */
#include "plugin/plugin_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/time.h"
#include "handler/secret_box.h"
#include "handler/webhook_sign.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define ACT_LOG_MODULE "plugin"

static _Atomic(struct act_plugins *) current;

struct act_plugins *act_plugins_current(void)
{
    return atomic_load(&current);
}

json_t *act_plugins_snapshot(struct act_plugins *p)
{
    json_t *s;

    pthread_mutex_lock(&p->snap_lock);
    s = json_incref(p->snap);
    pthread_mutex_unlock(&p->snap_lock);
    return s;
}

const json_t *act_plugins_find_slug(const json_t *snap, const char *slug)
{
    size_t i;
    json_t *d;

    json_array_foreach(
        snap, i, d) if (strcmp(json_string_value(json_object_get(d, "slug")), slug) == 0) return d;
    return NULL;
}

int act_plugins_reload_locked(struct act_plugins *p, struct act_err *err)
{
    json_t *list = NULL, *old;
    int rc = act_engine_doc_list(p->e, ACT_PLUGIN_DOC_KIND, &list, err);

    if (rc < 0)
        return rc;
    pthread_mutex_lock(&p->snap_lock);
    old = p->snap;
    p->snap = list;
    pthread_mutex_unlock(&p->snap_lock);
    json_decref(old);
    return ACT_OK;
}

/* ---- secrets ---- */

/* Seal `plain` into doc[key] and its masked form into doc[key_hint]. */
static int seal_into(json_t *doc, const char *key, const char *plain, struct act_err *err)
{
    char hint_key[32], *sealed = NULL, *mask;
    int rc = act_secret_box_seal(plain, &sealed, err);

    if (rc < 0)
        return rc;
    mask = act_secret_mask(plain);
    snprintf(hint_key, sizeof(hint_key), "%s_hint", key);
    json_object_set_new(doc, key, json_string(sealed));
    json_object_set_new(doc, hint_key, json_string(mask));
    act_free(sealed);
    act_free(mask);
    return ACT_OK;
}

static void keep_secret(json_t *doc, const json_t *prev, const char *key)
{
    char hint_key[32];

    snprintf(hint_key, sizeof(hint_key), "%s_hint", key);
    json_object_set(doc, key,
                    json_object_get(prev, key) ? json_object_get(prev, key) : json_null());
    json_object_set(doc, hint_key,
                    json_object_get(prev, hint_key) ? json_object_get(prev, hint_key)
                                                    : json_null());
}

/* True when the client sent back a masked value: keep what is stored. */
static bool is_masked(const json_t *v)
{
    return json_is_string(v) && strstr(json_string_value(v), ACT_PLUGIN_MASK_MARK);
}

/* Settle "secret" and "api_key" of a normalized doc.  `raw` is the
 * client's body, `prev` the stored doc (NULL on create).  *plain_secret
 * receives a new secret's plaintext (to show once), else NULL. */
static int settle_secrets(json_t *doc, const json_t *raw, const json_t *prev, char **plain_secret,
                          struct act_err *err)
{
    const json_t *s = json_object_get(raw, "secret"), *k = json_object_get(raw, "api_key");
    int rc;

    *plain_secret = NULL;
    if (json_is_string(s) && !is_masked(s)) {
        *plain_secret = act_xstrdup(json_string_value(s));
    } else if (!prev) {
        *plain_secret = act_webhook_secret_new();
    }
    if (*plain_secret) {
        if ((rc = seal_into(doc, "secret", *plain_secret, err)) < 0)
            return rc;
    } else {
        keep_secret(doc, prev, "secret");
    }
    if (json_is_string(k) && !is_masked(k))
        return seal_into(doc, "api_key", json_string_value(k), err);
    if (json_is_null(k) || !prev) {
        json_object_set_new(doc, "api_key", json_null());
        json_object_set_new(doc, "api_key_hint", json_null());
        return ACT_OK;
    }
    keep_secret(doc, prev, "api_key");
    return ACT_OK;
}

/* registered_actions in a plugin body: {"actions": [...]} or a bare array. */
static int body_actions(const json_t *raw, json_t **out, struct act_err *err)
{
    json_t *ra = json_object_get(raw, "registered_actions"), *wrap;
    int rc;

    *out = NULL;
    if (!ra || json_is_null(ra))
        return ACT_OK;
    if (json_is_array(ra)) {
        wrap = json_pack("{s:O}", "actions", ra);
        rc = act_plugin_actions_normalize(wrap, out, err);
        json_decref(wrap);
    } else if (json_is_object(ra) && !json_object_get(ra, "actions")) {
        *out = json_array(); /* the seed's column default '{}' */
        return ACT_OK;
    } else {
        rc = act_plugin_actions_normalize(ra, out, err);
    }
    if (rc < 0)
        act_err_prefix_field(err, "registered_actions");
    return rc;
}

/* ---- the change pipeline ---- */

/* Steps 1b-4 of the header comment for a doc that passed the model. */
static int commit_locked(struct act_plugins *p, const json_t *prev, json_t *next, bool insert,
                         struct act_err *err)
{
    const char *id = json_string_value(json_object_get(next, "id"));
    const char *slug = json_string_value(json_object_get(next, "slug"));
    int rc;

    if ((rc = act_plugin_core_prevalidate(p, next, err)) < 0)
        return rc;
    if ((rc = act_plugin_sync(p, prev, next, err)) < 0)
        return rc;
    if ((rc = act_engine_doc_put(p->e, ACT_PLUGIN_DOC_KIND, id, slug, next, insert, err)) < 0) {
        act_plugin_sync_undo(p, prev, next);
        return rc;
    }
    if (prev)
        act_plugin_sync_prune(p, prev, next);
    return act_plugins_reload_locked(p, err);
}

/* The stored document by slug (new reference), or ACT_ENOTFOUND. */
static int stored_get(struct act_plugins *p, const char *slug, json_t **out, struct act_err *err)
{
    int rc = act_engine_doc_get_by_key(p->e, ACT_PLUGIN_DOC_KIND, slug, out, err);

    if (rc == ACT_ENOTFOUND)
        return act_err_set(err, ACT_ENOTFOUND, "plugin '%.64s' not found", slug);
    return rc;
}

/* The view of what was just saved (re-read for the store's timestamps). */
static int saved_view(struct act_plugins *p, const char *id, json_t **out, struct act_err *err)
{
    json_t *doc = NULL;
    int rc = act_engine_doc_get(p->e, ACT_PLUGIN_DOC_KIND, id, &doc, err);

    if (rc < 0)
        return rc;
    *out = act_plugin_view(doc);
    json_decref(doc);
    return ACT_OK;
}

static int check_free(struct act_plugins *p, const json_t *doc, struct act_err *err)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    const char *slug = json_string_value(json_object_get(doc, "slug"));
    json_t *other = NULL;
    int rc = act_engine_doc_get_by_key(p->e, ACT_PLUGIN_DOC_KIND, slug, &other, err);

    json_decref(other);
    if (rc == ACT_OK)
        return act_err_field(err, ACT_ECONFLICT, "slug", "a plugin with slug '%s' already exists",
                             slug);
    if (rc != ACT_ENOTFOUND)
        return rc;
    if (!id)
        return ACT_OK;
    rc = act_engine_doc_get(p->e, ACT_PLUGIN_DOC_KIND, id, &other, err);
    json_decref(other);
    if (rc == ACT_OK)
        return act_err_field(err, ACT_ECONFLICT, "id", "a plugin with id '%s' already exists", id);
    return rc == ACT_ENOTFOUND ? ACT_OK : rc;
}

int act_plugins_create(struct act_plugins *p, const json_t *body, json_t **out, struct act_err *err)
{
    json_t *doc = NULL, *actions = NULL;
    char *plain = NULL, uuid[ACT_UUID_LEN + 1];
    int rc;

    *out = NULL;
    if ((rc = act_plugin_normalize(body, NULL, &doc, err)) < 0 ||
        (rc = body_actions(body, &actions, err)) < 0)
        goto out;
    if (!json_object_get(doc, "id")) {
        act_uuid_v7(uuid);
        json_object_set_new(doc, "id", json_string(uuid));
    }
    json_object_set_new(doc, "registered_actions",
                        json_pack("{s:o}", "actions", actions ? actions : json_array()));
    actions = NULL;
    json_object_set_new(doc, "core", json_object());
    json_object_set_new(doc, "webhook", json_null());
    pthread_mutex_lock(&p->write_lock);
    if ((rc = check_free(p, doc, err)) == ACT_OK &&
        (rc = settle_secrets(doc, body, NULL, &plain, err)) == ACT_OK)
        rc = commit_locked(p, NULL, doc, true, err);
    pthread_mutex_unlock(&p->write_lock);
    if (rc == ACT_OK)
        act_log_info("plugin '%s' created (%s)", json_string_value(json_object_get(doc, "slug")),
                     json_string_value(json_object_get(doc, "id")));
    if (rc == ACT_OK &&
        (rc = saved_view(p, json_string_value(json_object_get(doc, "id")), out, err)) == ACT_OK)
        json_object_set_new(*out, "secret", json_string(plain));
out:
    act_secret_free(plain);
    json_decref(actions);
    json_decref(doc);
    return rc;
}

int act_plugins_get(struct act_plugins *p, const char *slug, json_t **out, struct act_err *err)
{
    json_t *snap = act_plugins_snapshot(p);
    const json_t *d = act_plugins_find_slug(snap, slug);
    int rc = ACT_OK;

    *out = NULL;
    if (d)
        *out = act_plugin_view(d);
    else
        rc = act_err_set(err, ACT_ENOTFOUND, "plugin '%.64s' not found", slug);
    json_decref(snap);
    return rc;
}

int act_plugins_list(struct act_plugins *p, const char *status, json_t **out, struct act_err *err)
{
    json_t *snap, *items;
    size_t i;
    json_t *d;

    *out = NULL;
    if (status && strcmp(status, "active") != 0 && strcmp(status, "inactive") != 0)
        return act_err_field(err, ACT_EINVAL, "status", "status must be 'active' or 'inactive'");
    snap = act_plugins_snapshot(p);
    items = json_array();
    json_array_foreach(snap, i, d)
    {
        if (status && strcmp(json_string_value(json_object_get(d, "status")), status) != 0)
            continue;
        json_array_append_new(items, act_plugin_view(d));
    }
    json_decref(snap);
    *out = json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(items), "plugins", items);
    return ACT_OK;
}

/* Which stored plugin an update names: the path slug, else the body's id
 * or slug (PUT /api/plugins). */
static int update_target(struct act_plugins *p, const char *slug, const json_t *body, json_t **prev,
                         struct act_err *err)
{
    const char *bid = json_string_value(json_object_get(body, "id"));
    const char *bslug = json_string_value(json_object_get(body, "slug"));

    if (slug)
        return stored_get(p, slug, prev, err);
    if (bid) {
        int rc = act_engine_doc_get(p->e, ACT_PLUGIN_DOC_KIND, bid, prev, err);
        if (rc == ACT_ENOTFOUND)
            return act_err_field(err, ACT_ENOTFOUND, "id", "plugin '%.64s' not found", bid);
        return rc;
    }
    if (bslug)
        return stored_get(p, bslug, prev, err);
    return act_err_field(err, ACT_EINVAL, "id", "name the plugin to update with 'id' or 'slug'");
}

/* The base a PUT/PATCH body is laid over: identity members always, the
 * public columns too for PATCH. */
static json_t *update_base(const json_t *prev, bool merge)
{
    static const char *const cols[] = {"name",     "status",       "description", "version",
                                       "events",   "api_endpoint", "webhook_url", "config",
                                       "metadata", "timeout_ms",   "retry_policy"};
    json_t *b =
        json_pack("{s:O, s:O, s:O}", "id", json_object_get(prev, "id"), "slug",
                  json_object_get(prev, "slug"), "tenant_id", json_object_get(prev, "tenant_id"));

    for (size_t i = 0; merge && i < sizeof(cols) / sizeof(cols[0]); i++) {
        json_t *v = json_object_get(prev, cols[i]);
        if (v)
            json_object_set(b, cols[i], v);
    }
    return b;
}

static int check_identity(const json_t *prev, const json_t *body, struct act_err *err)
{
    static const char *const fixed[] = {"id", "slug", "tenant_id"};

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        const json_t *v = json_object_get(body, fixed[i]);
        if (v && !json_is_null(v) && !json_equal(v, json_object_get(prev, fixed[i])))
            return act_err_field(err, ACT_EINVAL, fixed[i], "a plugin's %s cannot change",
                                 fixed[i]);
    }
    return ACT_OK;
}

static int update_locked(struct act_plugins *p, const char *slug, const json_t *body, bool merge,
                         json_t **out, struct act_err *err)
{
    json_t *prev = NULL, *base = NULL, *next = NULL, *actions = NULL;
    char *plain = NULL;
    int rc;

    if ((rc = update_target(p, slug, body, &prev, err)) < 0 ||
        (rc = check_identity(prev, body, err)) < 0)
        goto out;
    base = update_base(prev, merge);
    if ((rc = act_plugin_normalize(body, base, &next, err)) < 0 ||
        (rc = body_actions(body, &actions, err)) < 0 ||
        (rc = settle_secrets(next, body, prev, &plain, err)) < 0)
        goto out;
    if (actions)
        json_object_set_new(next, "registered_actions", json_pack("{s:O}", "actions", actions));
    else
        json_object_set(next, "registered_actions", json_object_get(prev, "registered_actions"));
    json_object_set(next, "core", json_object_get(prev, "core"));
    json_object_set(next, "webhook", json_object_get(prev, "webhook"));
    if ((rc = commit_locked(p, prev, next, false, err)) < 0)
        goto out;
    rc = saved_view(p, json_string_value(json_object_get(next, "id")), out, err);
    if (rc == ACT_OK && plain && json_object_get(body, "secret"))
        json_object_set_new(*out, "secret", json_string(plain)); /* rotated: shown once */
out:
    act_secret_free(plain);
    json_decref(actions);
    json_decref(base);
    json_decref(next);
    json_decref(prev);
    return rc;
}

int act_plugins_update(struct act_plugins *p, const char *slug, const json_t *body, bool merge,
                       json_t **out, struct act_err *err)
{
    int rc;

    *out = NULL;
    if (!json_is_object(body))
        return act_err_set(err, ACT_EINVAL, "the body must be a JSON object");
    pthread_mutex_lock(&p->write_lock);
    rc = update_locked(p, slug, body, merge, out, err);
    pthread_mutex_unlock(&p->write_lock);
    return rc;
}

int act_plugins_delete(struct act_plugins *p, const char *slug, struct act_err *err)
{
    json_t *prev = NULL;
    int rc;

    pthread_mutex_lock(&p->write_lock);
    if ((rc = stored_get(p, slug, &prev, err)) == ACT_OK) {
        act_plugin_sync_prune(p, prev, NULL);
        rc = act_engine_doc_delete(p->e, ACT_PLUGIN_DOC_KIND,
                                   json_string_value(json_object_get(prev, "id")), err);
        if (rc == ACT_OK)
            rc = act_plugins_reload_locked(p, err);
        if (rc == ACT_OK)
            act_log_info("plugin '%s' deleted", slug);
    }
    pthread_mutex_unlock(&p->write_lock);
    json_decref(prev);
    return rc;
}

static json_t *register_reply(const json_t *doc, const json_t *actions)
{
    json_t *types = json_array();
    size_t i, n = json_array_size(actions);
    json_t *a;
    char msg[200];

    json_array_foreach(actions, i, a) json_array_append(types, json_object_get(a, "action_type"));
    snprintf(msg, sizeof(msg), "Registered %zu action%s for plugin: %s", n, n == 1 ? "" : "s",
             json_string_value(json_object_get(doc, "slug")));
    return json_pack("{s:b, s:s, s:I, s:O, s:O, s:o}", "success", 1, "message", msg, "count",
                     (json_int_t)n, "plugin_id", json_object_get(doc, "id"), "plugin_slug",
                     json_object_get(doc, "slug"), "actions", types);
}

int act_plugins_register_actions(struct act_plugins *p, const char *slug, const json_t *body,
                                 json_t **out, struct act_err *err)
{
    json_t *prev = NULL, *next = NULL, *actions = NULL, *snap = act_plugins_snapshot(p);
    int rc;

    *out = NULL;
    /* 404 before 400: an unknown slug is the first thing to report. */
    if (!act_plugins_find_slug(snap, slug)) {
        rc = act_err_set(err, ACT_ENOTFOUND, "plugin '%.64s' not found", slug);
        goto out;
    }
    if ((rc = act_plugin_actions_normalize(body, &actions, err)) < 0)
        goto out;
    pthread_mutex_lock(&p->write_lock);
    if ((rc = stored_get(p, slug, &prev, err)) == ACT_OK) {
        next = json_deep_copy(prev);
        json_object_set_new(next, "registered_actions", json_pack("{s:O}", "actions", actions));
        rc = commit_locked(p, prev, next, false, err);
    }
    pthread_mutex_unlock(&p->write_lock);
    if (rc == ACT_OK) {
        *out = register_reply(next, actions);
        act_log_info("plugin '%s': %zu actions registered", slug, json_array_size(actions));
    } else if (rc != ACT_ENOTFOUND && rc != ACT_EINVAL && rc != ACT_EUNPROC && rc != ACT_ESTATE)
        act_log_warn("plugin '%s': registration failed and was rolled back: %s", slug, err->msg);
out:
    json_decref(snap);
    json_decref(actions);
    json_decref(next);
    json_decref(prev);
    return rc;
}

/* ---- lifecycle ---- */

/* Bring every stored plugin's engine objects in line with the current
 * defaults (and recreate any deleted by hand).  Failures are logged: one
 * broken plugin must not keep the daemon from starting. */
static void resync_all(struct act_plugins *p)
{
    json_t *snap = act_plugins_snapshot(p);
    struct act_err err = {0};
    size_t i;
    json_t *d;

    json_array_foreach(snap, i, d)
    {
        json_t *next = json_deep_copy(d);
        const char *slug = json_string_value(json_object_get(d, "slug"));
        const char *id = json_string_value(json_object_get(d, "id"));
        int rc;

        act_err_clear(&err);
        rc = act_plugin_core_prevalidate(p, next, &err);
        if (rc == ACT_OK)
            rc = act_plugin_sync(p, d, next, &err);
        /* Save only when an object had to be recreated. */
        if (rc == ACT_OK &&
            !(json_equal(json_object_get(d, "core"), json_object_get(next, "core")) &&
              json_equal(json_object_get(d, "webhook"), json_object_get(next, "webhook")))) {
            rc = act_engine_doc_put(p->e, ACT_PLUGIN_DOC_KIND, id, slug, next, false, &err);
            if (rc < 0)
                act_plugin_sync_undo(p, d, next);
            else
                act_plugin_sync_prune(p, d, next);
        }
        if (rc < 0)
            act_log_warn("plugin '%s': cannot bring its actions up to date: %s", slug, err.msg);
        json_decref(next);
    }
    json_decref(snap);
    if (act_plugins_reload_locked(p, &err) < 0)
        act_log_warn("plugin registry: cannot reload: %s", err.msg);
}

int act_plugins_open(struct act_engine *e, const struct act_plugins_conf *conf,
                     struct act_plugins **out, struct act_err *err)
{
    struct act_plugins *p = act_xcalloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    p->e = e;
    p->timeout_ms =
        conf && conf->http_timeout_ms > 0 ? conf->http_timeout_ms : ACT_PLUGIN_DEFAULT_TIMEOUT_MS;
    p->max_dispatch = conf && conf->max_dispatch_events ? conf->max_dispatch_events
                                                        : ACT_PLUGIN_DEFAULT_MAX_DISPATCH;
    p->platform_ids = json_object();
    p->snap = json_array();
    pthread_mutex_init(&p->write_lock, NULL);
    pthread_mutex_init(&p->snap_lock, NULL);
    if ((rc = act_platform_table_load(conf ? conf->platform_actions_json : NULL, &p->table, err)) <
        0)
        goto fail;
    if ((rc = act_plugins_platform_sync(p, err)) < 0)
        goto fail;
    pthread_mutex_lock(&p->write_lock);
    rc = act_plugins_reload_locked(p, err);
    if (rc == ACT_OK)
        resync_all(p);
    pthread_mutex_unlock(&p->write_lock);
    if (rc < 0)
        goto fail;
    atomic_store(&current, p);
    act_log_info("plugin registry: %zu platform actions, %zu plugins", p->table.n,
                 json_array_size(p->snap));
    *out = p;
    return ACT_OK;
fail:
    act_plugins_close(p);
    return rc;
}

void act_plugins_close(struct act_plugins *p)
{
    struct act_plugins *expect = p;

    if (!p)
        return;
    atomic_compare_exchange_strong(&current, &expect, NULL);
    act_platform_table_release(&p->table);
    json_decref(p->platform_ids);
    json_decref(p->snap);
    pthread_mutex_destroy(&p->write_lock);
    pthread_mutex_destroy(&p->snap_lock);
    act_free(p);
}
