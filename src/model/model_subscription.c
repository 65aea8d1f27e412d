/*
 * Subscriptions: validation and normalisation of a client's subscription
 * body into the canonical document {action_id, event_patterns, conditions,
 * priority, enabled} (API.md "Subscriptions").
 *
 * Invariants:
 *  - Every pattern and the condition tree are compiled here with the
 *    matcher's own compilers and thrown away, so a stored subscription is
 *    one the index will accept; errors carry the matcher's message with the
 *    field rewritten to the body's path ("event_patterns[2]",
 *    "conditions.all[0].op").
 *  - Unknown members are a 400 naming them; server-set ones (id,
 *    created_at, updated_at, tenant) are ignored and not copied.
 *  - PATCH overlays the body on the stored base at the top level only
 *    (event_patterns and conditions are replaced whole; null unsets), then
 *    validates the result as a POST body.
 *  - conditions are null, a JSON tree or a Lua expression string (kept as
 *    given); a syntax error in an expression is a 400 on "conditions" with
 *    Lua's message.
 */
#include "model/model.h"
#include "model/model_internal.h"

#include "base/time.h"
#include "match/match.h"

#include <stdio.h>
#include <string.h>

static const char *const sub_members[] = {"action_id", "event_patterns", "conditions", "priority",
                                          "enabled", NULL};
static const char *const server_members[] = {"id", "created_at", "updated_at", "tenant", NULL};

static int get_action_id(const json_t *m, json_t *doc, struct act_err *err)
{
    const char *id;

    if (act_model_str(m, NULL, "action_id", 1, ACT_UUID_LEN, NULL, &id, err) < 0)
        return ACT_EINVAL;
    if (!act_uuid_valid(id))
        return act_err_field(err, ACT_EINVAL, "action_id", "must be a UUID");
    json_object_set_new(doc, "action_id", json_string(id));
    return ACT_OK;
}

static int get_patterns(const json_t *m, json_t *doc, struct act_err *err)
{
    json_t *v = act_model_member(m, "event_patterns");
    char field[ACT_MODEL_FIELD_LEN];
    size_t i;

    if (!v)
        return act_err_field(err, ACT_EINVAL, "event_patterns", "is required");
    if (!json_is_array(v))
        return act_err_field(err, ACT_EINVAL, "event_patterns", "must be an array of strings");
    if (json_array_size(v) == 0)
        return act_err_field(err, ACT_EINVAL, "event_patterns", "must not be empty");
    if (json_array_size(v) > ACT_MATCH_MAX_PATTERNS)
        return act_err_field(err, ACT_EINVAL, "event_patterns", "must hold at most %d patterns",
                             ACT_MATCH_MAX_PATTERNS);
    for (i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        struct act_pattern *p = NULL;
        int rc;

        snprintf(field, sizeof(field), "event_patterns[%zu]", i);
        if (act_model_check_str(e, field, 1, ACT_MATCH_MAX_PATTERN_LEN, err) < 0)
            return ACT_EINVAL;
        rc = act_pattern_compile(json_string_value(e), &p, err);
        act_pattern_free(p);
        if (rc < 0) {
            if (err) {
                err->code = rc;
                snprintf(err->field, sizeof(err->field), "%s", field);
            }
            return rc;
        }
    }
    json_object_set_new(doc, "event_patterns", json_deep_copy(v));
    return ACT_OK;
}

static int get_conditions(const json_t *m, json_t *doc, struct act_err *err)
{
    json_t *v = act_model_member(m, "conditions");
    struct act_cond *c = NULL;
    int rc;

    if (!v) {
        json_object_set_new(doc, "conditions", json_null());
        return ACT_OK;
    }
    if (!json_is_object(v) && !json_is_string(v))
        return act_err_field(err, ACT_EINVAL, "conditions",
                             "must be null, an object or an expression string");
    rc = act_cond_compile(v, &c, err);
    act_cond_free(c);
    if (rc < 0) {
        /* The matcher names the node relative to the conditions object. */
        if (err) {
            err->code = rc;
            act_err_prefix_field(err, "conditions");
        }
        return rc;
    }
    json_object_set_new(doc, "conditions", json_deep_copy(v));
    return ACT_OK;
}

static int get_rest(const json_t *m, json_t *doc, struct act_err *err)
{
    int64_t priority;
    bool enabled;

    if (act_model_int(m, NULL, "priority", -ACT_PRIORITY_ABS_MAX, ACT_PRIORITY_ABS_MAX, 0,
                      &priority, err) < 0 ||
        act_model_bool(m, NULL, "enabled", true, &enabled, err) < 0)
        return ACT_EINVAL;
    json_object_set_new(doc, "priority", json_integer(priority));
    json_object_set_new(doc, "enabled", json_boolean(enabled));
    return ACT_OK;
}

/* The base overlaid with the body, JSON-merge-patch style at one level. */
static json_t *merge(const json_t *base, const json_t *body)
{
    json_t *m = json_deep_copy(base);
    const char *key;
    json_t *v;

    json_object_foreach ((json_t *)body, key, v) {
        if (json_is_null(v))
            json_object_del(m, key);
        else
            json_object_set_new(m, key, json_deep_copy(v));
    }
    return m;
}

int act_subscription_normalize(const json_t *body, const json_t *base, json_t **out,
                               struct act_err *err)
{
    json_t *merged = NULL, *doc = NULL;
    int rc;

    *out = NULL;
    if (!json_is_object(body)) {
        rc = act_err_field(err, ACT_EINVAL, "", "subscription must be a JSON object");
        goto out;
    }
    if ((rc = act_model_check_members(body, NULL, sub_members, server_members, err)) < 0)
        goto out;
    if (base && !json_is_object(base)) {
        rc = act_err_set(err, ACT_EINVAL, "stored subscription is not a JSON object");
        goto out;
    }
    merged = base ? merge(base, body) : json_incref((json_t *)body);
    doc = json_object();
    if ((rc = get_action_id(merged, doc, err)) < 0 || (rc = get_patterns(merged, doc, err)) < 0 ||
        (rc = get_conditions(merged, doc, err)) < 0 || (rc = get_rest(merged, doc, err)) < 0)
        goto out;
    *out = doc;
    doc = NULL;
out:
    json_decref(doc);
    json_decref(merged);
    return rc;
}
