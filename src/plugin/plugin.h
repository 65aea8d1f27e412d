/*
 * The plugin action registry of seed 2 on top of the core engine.
 *
 * Plugins (remote HTTP services) are documents in the engine's keyed
 * document store (kind "plugin", key = slug).  Each action a plugin
 * registers is also a core engine action named `plugin.<slug>.<type>`
 * (handler kind `plugin`), each platform route of the routing table a core
 * action `platform.<type>` (handler kind `platform`), and a plugin with a
 * webhook_url and event patterns gets `plugin.<slug>.__webhook` plus a
 * subscription.  The dispatcher resolves each automation event to one of
 * those actions and runs it as a durable execution.
 *
 * Bodies and answers are jansson values in the seed's shapes (docs/plugins.md).
 * Errors use struct act_err with the status mapping of base/err.h and
 * err->field naming the offending input member ("actions[1].action_type").
 *
 * Thread contract: act_plugins_open/close are init-time; every other
 * function may be called from any thread concurrently (HTTP pool threads).
 * Changes to plugins are serialised inside the registry; reads work on an
 * immutable snapshot.
 */
#ifndef ACT_PLUGIN_PLUGIN_H
#define ACT_PLUGIN_PLUGIN_H

#include "base/err.h"
#include "engine/engine.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACT_PLUGIN_DEFAULT_TENANT "11111111-1111-1111-1111-111111111111"
#define ACT_PLUGIN_SLUG_MAX 63
#define ACT_PLUGIN_TYPE_MAX 56     /* action_type: "plugin.<slug>.<type>" fits ACT_NAME_MAX */
#define ACT_PLUGIN_ACTIONS_MAX 256 /* registered actions per plugin */
#define ACT_PLUGIN_EVENTS_MAX 64   /* event patterns per plugin */
#define ACT_PLUGIN_URL_MAX 2048
#define ACT_PLUGIN_DEFAULT_TIMEOUT_MS 10000
#define ACT_PLUGIN_DEFAULT_MAX_DISPATCH 100
#define ACT_PLUGIN_WAIT_GRACE_MS 2000 /* sync dispatch waits timeout_ms + this */

struct act_plugins;

struct act_plugins_conf {
    /* JSON text of the `platform.actions` mapping of the config file (NULL
     * or "": the built-in table only).  Entries add or override routes; a
     * null entry removes a built-in one. */
    const char *platform_actions_json;
    int64_t http_timeout_ms;    /* default timeout of plugin and platform calls; 0: 10000 */
    size_t max_dispatch_events; /* events per automation request; 0: 100 */
};

/* ---- lifecycle ---- */

/* Load the platform routing table (built-in defaults + conf), create or
 * update the core actions `platform.<type>` and load the plugins.  On
 * success the registry is also the process registry (act_plugins_current).
 * Errors: ACT_EINVAL for a bad routing table (field "platform.actions.<type>
 * .<member>"), engine errors otherwise.  thread: init */
int act_plugins_open(struct act_engine *e, const struct act_plugins_conf *conf,
                     struct act_plugins **out, struct act_err *err);

/* Free the registry (NULL is fine); the engine stays open.  thread: init */
void act_plugins_close(struct act_plugins *p);

/* The registry opened last (NULL when none is open).  thread: any */
struct act_plugins *act_plugins_current(void);

/* ---- plugins (seed: /api/plugins, /api/plugins/{slug}) ---- */

/* {"plugins": [...], "count": N}, oldest first; `status` (NULL: any)
 * filters by "active"/"inactive".  Secrets are masked.  thread: any */
int act_plugins_list(struct act_plugins *p, const char *status, json_t **out, struct act_err *err);

/* Create a plugin; *out is its public view with the signing `secret` in
 * full (the only time it is shown).  ACT_ECONFLICT for a taken slug or id.
 * thread: any */
int act_plugins_create(struct act_plugins *p, const json_t *body, json_t **out,
                       struct act_err *err);

/* The public view of one plugin (secrets masked).  ACT_ENOTFOUND.
 * thread: any */
int act_plugins_get(struct act_plugins *p, const char *slug, json_t **out, struct act_err *err);

/* Update the plugin `slug` (NULL: the one named by the body's `id` or
 * `slug`); merge = PATCH, else PUT.  The slug and id cannot change.
 * thread: any */
int act_plugins_update(struct act_plugins *p, const char *slug, const json_t *body, bool merge,
                       json_t **out, struct act_err *err);

/* Delete a plugin with its core actions and subscription.  thread: any */
int act_plugins_delete(struct act_plugins *p, const char *slug, struct act_err *err);

/* POST /api/plugins/{slug}/register-actions: validate every action first,
 * then replace the plugin's set.  *out = {"success", "message", "count",
 * "plugin_id", "plugin_slug", "actions": [types]}.  thread: any */
int act_plugins_register_actions(struct act_plugins *p, const char *slug, const json_t *body,
                                 json_t **out, struct act_err *err);

/* GET /api/plugins/actions: the actions of active plugins, flattened, each
 * with plugin_id, plugin_slug, plugin_name, plugin_endpoint and the core
 * action_id.  category / plugin (slug) filter when not NULL.
 * *out = {"actions": [...], "count": N}.  thread: any */
int act_plugins_discover(struct act_plugins *p, const char *category, const char *plugin,
                         json_t **out, struct act_err *err);

/* ---- dispatcher (seed: /api/plugins/events/automation) ---- */

/* Run a batch {flow_execution_id?, events: [{action_type, plugin_id?,
 * payload}]}.  Synchronous mode waits for each event's first attempt and
 * answers {"success", "flow_execution_id", "results", "summary": {total,
 * successful, failed}}; async answers at once with execution ids and
 * summary {total, accepted, failed}.  Blocks the calling thread while it
 * waits.  ACT_EINVAL for a malformed body, ACT_ETOOBIG over the cap.
 * thread: any */
int act_plugins_dispatch(struct act_plugins *p, const json_t *body, bool async, json_t **out,
                         struct act_err *err);

/* GET /api/plugins/events/automation: {"status": "healthy" (or
 * "unavailable" while the engine refuses intake),
 * "platform_actions": N, "plugin_actions": M, "actions": {"platform":
 * [types], "plugin": [{action_type, category, plugin_slug, plugin_name,
 * plugin_id}]}}.  thread: any */
int act_plugins_health(struct act_plugins *p, json_t **out, struct act_err *err);

/* POST /api/plugins/{slug}/test: GET the plugin's api_endpoint and report
 * {"success", "status", "latency_ms", "url", "error"?}.  A plugin without
 * api_endpoint is ACT_ESTATE.  thread: any */
int act_plugins_test(struct act_plugins *p, const char *slug, json_t **out, struct act_err *err);

/* ---- plugin events (seed: /api/plugins/events) ---- */

/* Ingest one event ({type, data, ...}, any form act_event_normalize takes);
 * it is delivered to the webhook of every active plugin whose events
 * match.  *out = {"event_id", "duplicate", "deliveries": [{plugin_id,
 * plugin_slug, execution_id}]}.  thread: any */
int act_plugins_event_ingest(struct act_plugins *p, const json_t *body, json_t **out,
                             struct act_err *err);

/* Recent webhook deliveries, newest first: {"events": [{execution_id,
 * plugin_id, plugin_slug, event_id, event_type, status, attempt, error,
 * queued_at, finished_at}], "count": N}.  `plugin` (slug) filters; limit
 * 1..500 (0: 50).  thread: any */
int act_plugins_event_list(struct act_plugins *p, const char *plugin, int limit, json_t **out,
                           struct act_err *err);

/* ---- the platform routing table (plugin_platform.c) ---- */

/* One platform action: `method path` against the platform base URL.
 * `require` lists payload fields that must be present (absent, null or ""
 * is missing), `message` the error for a missing one (NULL: "Missing
 * required field: F for action T").  Every {name} of the path is required. */
struct act_platform_route {
    char *action_type;
    char *method;         /* GET, POST, PUT, PATCH, DELETE */
    char *path;           /* "/api/products/{id}" */
    json_t *require;      /* array of strings (owned) */
    char *message;        /* NULL: the generic message */
    json_t *retry_policy; /* object or NULL (owned) */
    int64_t timeout_ms;   /* 0: the registry default */
};

struct act_platform_table {
    struct act_platform_route *routes;
    size_t n;
};

/* Build the table: the seed's 13 built-in routes, then the entries of
 * `json_text` (a JSON object type -> {method, path, require?, message?,
 * retry_policy?, timeout_ms?} or null to remove a route; NULL or "": none).
 * Errors: ACT_EINVAL with field "platform.actions.<type>[.<member>]".
 * thread: any */
int act_platform_table_load(const char *json_text, struct act_platform_table *t,
                            struct act_err *err);
void act_platform_table_release(struct act_platform_table *t);

/* The route for `action_type`, or NULL.  thread: any */
const struct act_platform_route *act_platform_table_find(const struct act_platform_table *t,
                                                         const char *action_type);

/* Check the route's required fields in `payload` (ACT_EINVAL with the
 * route's message, field "payload.F").  thread: any */
int act_platform_route_check(const struct act_platform_route *r, const json_t *payload,
                             struct act_err *err);

/* ---- pure pieces (unit-tested without an engine) ---- */

/* True for ^[a-z0-9][a-z0-9-]{0,62}$ and not a reserved word ("actions",
 * "events": they would shadow routes).  thread: any */
bool act_plugin_slug_valid(const char *s);

/* Validate a plugin body and build the stored form (plaintext secrets are
 * left in "api_key" / "secret" for the caller to seal).  With `base`
 * (PATCH), members of `body` replace those of `base`.  Fields: id (UUID),
 * tenant_id (UUID), name, slug, status, description, version,
 * api_endpoint, webhook_url, api_key, secret (whsec_...), events,
 * config, metadata, timeout_ms, retry_policy; registered_actions is left
 * to act_plugin_actions_normalize.  Unknown members are ignored.
 * *out is a new reference.  thread: any */
int act_plugin_normalize(const json_t *body, const json_t *base, json_t **out, struct act_err *err);

/* Validate a registration body {"actions": [...]} and build the stored
 * array: every action with action_type, title, required_fields,
 * optional_fields, endpoint (default "/actions/<type with - for _>") and
 * the optional members given.  The first invalid member rejects the whole
 * body with err->field "actions[i].member".  thread: any */
int act_plugin_actions_normalize(const json_t *body, json_t **out, struct act_err *err);

/* Check `payload` against a required_fields array: a field absent or null
 * is missing, reported as ACT_EINVAL "Missing required field: F for action
 * T" with err->field "payload.F".  thread: any */
int act_plugin_required_check(const json_t *required, const json_t *payload,
                              const char *action_type, struct act_err *err);

#endif
