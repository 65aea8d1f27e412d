/*
 * What clients see of the registry: the public plugin view, discovery
 * (GET /api/plugins/actions) and the dispatcher's health answer.
 *
 * Invariant: nothing sealed, no private member ("core", "webhook",
 * "*_hint") and no secret-named config value leaves through here.  The
 * signing secret and api_key show as their masks ("whsec_…abcd"); the full
 * secret is shown only by create (plugin_registry.c).
 */
#include "plugin/plugin_internal.h"

#include "model/model.h"

#include <string.h>

static const char *const public_cols[] = {
    "id",          "tenant_id",  "name",         "slug",        "status",
    "description", "version",    "api_endpoint", "webhook_url", "events",
    "metadata",    "timeout_ms", "retry_policy", "created_at",  "updated_at",
};

json_t *act_plugin_view(const json_t *doc)
{
    json_t *v = json_object(), *ra = json_array(), *a;
    const json_t *core = json_object_get(doc, "core");
    size_t i;

    for (i = 0; i < sizeof(public_cols) / sizeof(public_cols[0]); i++) {
        json_t *c = json_object_get(doc, public_cols[i]);
        json_object_set(v, public_cols[i], c ? c : json_null());
    }
    json_object_set(v, "secret",
                    json_object_get(doc, "secret_hint") ? json_object_get(doc, "secret_hint")
                                                        : json_null());
    json_object_set(v, "api_key",
                    json_object_get(doc, "api_key_hint") ? json_object_get(doc, "api_key_hint")
                                                         : json_null());
    json_object_set_new(v, "config", act_redact(json_object_get(doc, "config")));
    json_array_foreach(json_object_get(json_object_get(doc, "registered_actions"), "actions"), i, a)
    {
        json_t *c = json_copy(a);
        json_t *id = json_object_get(core, json_string_value(json_object_get(a, "action_type")));
        json_object_set(c, "action_id", id ? id : json_null());
        json_array_append_new(ra, c);
    }
    json_object_set_new(v, "registered_actions", json_pack("{s:o}", "actions", ra));
    return v;
}

static bool is_active(const json_t *doc)
{
    return strcmp(json_string_value(json_object_get(doc, "status")), "active") == 0;
}

/* One discovered action: the registration plus where it lives. */
static json_t *discovered(const json_t *doc, const json_t *a)
{
    json_t *c = json_copy((json_t *)a);
    json_t *id = json_object_get(json_object_get(doc, "core"),
                                 json_string_value(json_object_get(a, "action_type")));

    json_object_set(c, "plugin_id", json_object_get(doc, "id"));
    json_object_set(c, "plugin_slug", json_object_get(doc, "slug"));
    json_object_set(c, "plugin_name", json_object_get(doc, "name"));
    json_object_set(c, "plugin_endpoint", json_object_get(doc, "api_endpoint"));
    json_object_set(c, "action_id", id ? id : json_null());
    return c;
}

int act_plugins_discover(struct act_plugins *p, const char *category, const char *plugin,
                         json_t **out, struct act_err *err)
{
    json_t *snap = act_plugins_snapshot(p), *items = json_array(), *doc, *a;
    size_t i, j;

    (void)err;
    json_array_foreach(snap, i, doc)
    {
        if (!is_active(doc))
            continue;
        if (plugin && strcmp(json_string_value(json_object_get(doc, "slug")), plugin) != 0)
            continue;
        json_array_foreach(json_object_get(json_object_get(doc, "registered_actions"), "actions"),
                           j, a)
        {
            const char *cat = json_string_value(json_object_get(a, "category"));
            if (category && (!cat || strcmp(cat, category) != 0))
                continue;
            json_array_append_new(items, discovered(doc, a));
        }
    }
    json_decref(snap);
    *out = json_pack("{s:o, s:I}", "actions", items, "count", (json_int_t)json_array_size(items));
    return ACT_OK;
}

int act_plugins_health(struct act_plugins *p, json_t **out, struct act_err *err)
{
    json_t *snap = act_plugins_snapshot(p), *plat = json_array(), *plug = json_array(), *doc, *a;
    size_t i, j;

    (void)err;
    for (i = 0; i < p->table.n; i++)
        json_array_append_new(plat, json_string(p->table.routes[i].action_type));
    json_array_foreach(snap, i, doc)
    {
        if (!is_active(doc))
            continue;
        json_array_foreach(json_object_get(json_object_get(doc, "registered_actions"), "actions"),
                           j, a)
        {
            json_t *c = json_object_get(a, "category");
            json_array_append_new(plug, json_pack("{s:O, s:O, s:O, s:O, s:O}", "action_type",
                                                  json_object_get(a, "action_type"), "category",
                                                  c ? c : json_null(), "plugin_slug",
                                                  json_object_get(doc, "slug"), "plugin_name",
                                                  json_object_get(doc, "name"), "plugin_id",
                                                  json_object_get(doc, "id")));
        }
    }
    json_decref(snap);
    *out =
        json_pack("{s:s, s:I, s:I, s:{s:o, s:o}}", "status",
                  act_engine_ready(p->e) ? "healthy" : "unavailable", "platform_actions",
                  (json_int_t)json_array_size(plat), "plugin_actions",
                  (json_int_t)json_array_size(plug), "actions", "platform", plat, "plugin", plug);
    return ACT_OK;
}
