/*
 * Internals of the plugin registry, shared by the files of src/plugin/ only.
 *
 * The stored plugin document (engine document kind "plugin", key = slug)
 * holds the public columns plus private members the API never shows:
 *   "secret" / "api_key"   sealed with the secret box ("v1:...") or null
 *   "secret_hint" / "api_key_hint"  their masked display forms
 *   "core"                 {action_type: core action id} of its actions
 *   "webhook"              {"action_id", "subscription_id"} or null
 * A snapshot (a JSON array of stored documents, never modified once
 * published) serves every read; writers rebuild it after each change.
 */
#ifndef ACT_PLUGIN_PLUGIN_INTERNAL_H
#define ACT_PLUGIN_PLUGIN_INTERNAL_H

#include "plugin/plugin.h"

#include <pthread.h>

#define ACT_PLUGIN_DOC_KIND "plugin"
#define ACT_PLUGIN_WEBHOOK_TYPE "__webhook"
#define ACT_PLUGIN_MASK_MARK "\xe2\x80\xa6" /* U+2026: a masked value sent back */

struct act_plugins {
    struct act_engine *e;
    int64_t timeout_ms; /* default call timeout */
    size_t max_dispatch;
    struct act_platform_table table;
    json_t *platform_ids;       /* {type: core action id}; fixed after open */
    pthread_mutex_t write_lock; /* serialises changes to plugins */
    pthread_mutex_t snap_lock;  /* guards `snap` (the pointer, not its contents) */
    json_t *snap;               /* array of stored plugin documents */
};

/* ---- plugin_registry.c ---- */

/* A new reference to the current snapshot.  thread: any */
json_t *act_plugins_snapshot(struct act_plugins *p);

/* The stored document of `slug` in `snap` (borrowed), or NULL. */
const json_t *act_plugins_find_slug(const json_t *snap, const char *slug);

/* Reload the snapshot from the store.  Caller holds write_lock. */
int act_plugins_reload_locked(struct act_plugins *p, struct act_err *err);

/* ---- plugin_sync.c: core engine objects of a plugin ---- */

/* Make the engine match `next` (core actions of its registered actions,
 * webhook action and subscription), knowing it matched `prev` (NULL for a
 * new plugin).  Fills next.core and next.webhook.  On failure every change
 * made is undone (best effort) and the error returned.  Objects that
 * `prev` had and `next` no longer needs are NOT removed here: call
 * act_plugin_sync_prune after the document is saved.  Caller holds
 * write_lock.  */
int act_plugin_sync(struct act_plugins *p, const json_t *prev, json_t *next, struct act_err *err);

/* Undo a successful act_plugin_sync (the document could not be saved). */
void act_plugin_sync_undo(struct act_plugins *p, const json_t *prev, const json_t *next);

/* Delete the engine objects of `prev` that `next` (NULL: none) does not
 * use.  Failures are logged.  Caller holds write_lock. */
void act_plugin_sync_prune(struct act_plugins *p, const json_t *prev, const json_t *next);

/* The core action body of a registered action of plugin `doc`.  New
 * reference.  */
json_t *act_plugin_core_body(const struct act_plugins *p, const json_t *doc, const json_t *action);

/* Check every core body `doc` would need with act_action_normalize, so a
 * change is refused before anything is written.  Errors are prefixed
 * "actions[i]".  */
int act_plugin_core_prevalidate(const struct act_plugins *p, const json_t *doc,
                                struct act_err *err);

/* Create or update the core actions `platform.<type>` of the routing
 * table and fill p->platform_ids.  thread: init */
int act_plugins_platform_sync(struct act_plugins *p, struct act_err *err);

/* Find a core action by exact name: its id into `id` (>= 37 bytes).
 * ACT_ENOTFOUND when there is none.  */
int act_plugins_action_by_name(struct act_engine *e, const char *name, char *id, size_t len,
                               struct act_err *err);

/* ---- plugin_view.c ---- */

/* The public view of a stored document: private members dropped, secrets
 * masked, config redacted.  New reference. */
json_t *act_plugin_view(const json_t *doc);

/* ---- plugin_model.c ---- */

/* "plugin.<slug>.<type>" into buf. */
void act_plugin_core_name(const char *slug, const char *type, char *buf, size_t len);

#endif
