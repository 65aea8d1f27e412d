/*
 * Actions: validation and normalisation of a client's action body into the
 * canonical document (API.md "Actions"), and the parsed hot-path view.
 *
 * Invariants:
 *  - The canonical document holds exactly the members of API.md, in API
 *    order, each present with its value or default; server-set members (id,
 *    created_at, updated_at, health, tenant) are never copied, the engine
 *    adds them.  Any other member of the body is a 400 naming it.
 *  - Errors are 400 (ACT_EINVAL) with the dotted field at fault, except the
 *    handler kind's verdict, which is 422 (ACT_EUNPROC).  The kind runs last,
 *    so a body with both a type error and a bad handler gets the 400.
 *  - PATCH builds a merged body (base overlaid with body, retry_policy and
 *    rate_limit one level deep, null unsets as in a JSON merge patch) and
 *    validates it exactly as a POST body, so no PATCH can store what POST
 *    would refuse.  Unknown-member checks apply to the client's body only:
 *    members of the stored base that are not part of the model are dropped.
 */
#include "model/model.h"
#include "model/model_internal.h"

#include "base/alloc.h"
#include "handler/handler.h"

#include <stdio.h>
#include <string.h>

#define RATE_MAX 1000000000LL   /* per_minute / per_hour upper bound */
#define RATE_KEY_MAX 256        /* rate_limit.key: a dotted path or expression */
#define CONCURRENT_MAX 100000
#define TIMEOUT_DEFAULT_MS 30000

static const char *const action_members[] = {
    "name", "action_type", "category", "description", "handler", "config", "required_fields",
    "optional_fields", "input_schema", "retry_policy", "timeout_ms", "priority",
    "max_concurrent", "rate_limit", "enabled", NULL,
};
static const char *const server_members[] = {"id", "created_at", "updated_at", "health", "tenant",
                                             NULL};
static const char *const retry_members[] = {"max_retries", "backoff", "initial_delay_ms",
                                            "max_delay_ms", "jitter", NULL};
static const char *const rate_members[] = {"per_minute", "per_hour", "key", NULL};
static const char *const backoff_names[] = {[ACT_BACKOFF_FIXED] = "fixed",
                                            [ACT_BACKOFF_LINEAR] = "linear",
                                            [ACT_BACKOFF_EXPONENTIAL] = "exponential"};

/* Unknown members of the body, at the top and inside the two nested
 * objects whose members are ours. */
static int check_body_members(const json_t *body, struct act_err *err)
{
    const json_t *v;

    if (!json_is_object(body))
        return act_err_field(err, ACT_EINVAL, "", "action must be a JSON object");
    if (act_model_check_members(body, NULL, action_members, server_members, err) < 0)
        return ACT_EINVAL;
    v = json_object_get(body, "retry_policy");
    if (json_is_object(v) &&
        act_model_check_members(v, "retry_policy", retry_members, NULL, err) < 0)
        return ACT_EINVAL;
    v = json_object_get(body, "rate_limit");
    if (json_is_object(v) && act_model_check_members(v, "rate_limit", rate_members, NULL, err) < 0)
        return ACT_EINVAL;
    return ACT_OK;
}

/* Overlay `patch` onto `dst` (an object we own): null deletes, anything
 * else replaces; keys in `deep` merge one more level when both sides are
 * objects. */
static void overlay(json_t *dst, const json_t *patch, const char *const *deep)
{
    const char *key;
    json_t *v;

    json_object_foreach ((json_t *)patch, key, v) {
        json_t *old = json_object_get(dst, key);
        bool nested = false;

        for (const char *const *d = deep; d && *d; d++)
            nested = nested || strcmp(*d, key) == 0;
        if (json_is_null(v)) {
            json_object_del(dst, key);
        } else if (nested && json_is_object(v) && json_is_object(old)) {
            json_t *merged = json_deep_copy(old);
            overlay(merged, v, NULL);
            json_object_set_new(dst, key, merged);
        } else {
            json_object_set_new(dst, key, json_deep_copy(v));
        }
    }
}

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == ':' || c == '-';
}

static int get_name(const json_t *m, json_t *doc, struct act_err *err)
{
    const char *name;

    if (act_model_str(m, NULL, "name", 1, ACT_NAME_MAX, NULL, &name, err) < 0)
        return ACT_EINVAL;
    for (const char *p = name; *p; p++)
        if (!name_char_ok(*p))
            return act_err_field(err, ACT_EINVAL, "name",
                                 "must contain only letters, digits and _ . : -");
    json_object_set_new(doc, "name", json_string(name));
    return ACT_OK;
}

static int get_texts(const json_t *m, json_t *doc, struct act_err *err)
{
    const char *type, *category, *description;

    if (act_model_str(m, NULL, "action_type", 1, ACT_NAME_MAX, "custom", &type, err) < 0 ||
        act_model_str(m, NULL, "category", 1, ACT_NAME_MAX, type, &category, err) < 0 ||
        act_model_str(m, NULL, "description", 0, ACT_DESCRIPTION_MAX, "", &description, err) < 0)
        return ACT_EINVAL;
    json_object_set_new(doc, "action_type", json_string(type));
    json_object_set_new(doc, "category", json_string(category));
    json_object_set_new(doc, "description", json_string(description));
    return ACT_OK;
}

/* handler must be an object with a string kind; the kind itself judges
 * the rest later (validate_handler). */
static int get_handler_config(const json_t *m, json_t *doc, struct act_err *err)
{
    json_t *handler = act_model_member(m, "handler");
    json_t *config = act_model_member(m, "config");
    json_t *kind;

    if (!handler)
        return act_err_field(err, ACT_EINVAL, "handler", "is required");
    if (!json_is_object(handler))
        return act_err_field(err, ACT_EINVAL, "handler", "must be an object");
    kind = act_model_member(handler, "kind");
    if (!kind)
        return act_err_field(err, ACT_EINVAL, "handler.kind", "is required");
    if (!json_is_string(kind))
        return act_err_field(err, ACT_EINVAL, "handler.kind", "must be a string");
    if (config && !json_is_object(config))
        return act_err_field(err, ACT_EINVAL, "config", "must be an object");
    json_object_set_new(doc, "handler", json_deep_copy(handler));
    json_object_set_new(doc, "config", config ? json_deep_copy(config) : json_object());
    return ACT_OK;
}

/* required_fields / optional_fields: unique non-empty strings; a name may
 * not sit in both lists (`other` is the list already accepted, or NULL). */
static int get_field_list(const json_t *m, const char *key, const json_t *other, json_t *doc,
                          struct act_err *err)
{
    char field[ACT_MODEL_FIELD_LEN];
    json_t *v = act_model_member(m, key);
    size_t i, j;

    if (!v) {
        json_object_set_new(doc, key, json_array());
        return ACT_OK;
    }
    if (!json_is_array(v))
        return act_err_field(err, ACT_EINVAL, key, "must be an array of strings");
    if (json_array_size(v) > ACT_FIELDS_MAX)
        return act_err_field(err, ACT_EINVAL, key, "must hold at most %d entries",
                             ACT_FIELDS_MAX);
    for (i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);

        snprintf(field, sizeof(field), "%s[%zu]", key, i);
        if (act_model_check_str(e, field, 1, ACT_NAME_MAX, err) < 0)
            return ACT_EINVAL;
        for (j = 0; j < i; j++)
            if (json_equal(e, json_array_get(v, j)))
                return act_err_field(err, ACT_EINVAL, field, "duplicate entry '%s'",
                                     json_string_value(e));
        for (j = 0; j < json_array_size(other); j++)
            if (json_equal(e, json_array_get(other, j)))
                return act_err_field(err, ACT_EINVAL, field,
                                     "'%s' is already in required_fields", json_string_value(e));
    }
    json_object_set_new(doc, key, json_deep_copy(v));
    return ACT_OK;
}

static int get_backoff(const json_t *rp, enum act_backoff *out, struct act_err *err)
{
    const char *s;

    if (act_model_str(rp, "retry_policy", "backoff", 1, 32, "exponential", &s, err) < 0)
        return ACT_EINVAL;
    for (int b = ACT_BACKOFF_FIXED; b <= ACT_BACKOFF_EXPONENTIAL; b++) {
        if (strcmp(s, backoff_names[b]) == 0) {
            *out = (enum act_backoff)b;
            return ACT_OK;
        }
    }
    return act_err_field(err, ACT_EINVAL, "retry_policy.backoff",
                         "must be one of fixed, linear, exponential");
}

static int get_retry(const json_t *m, json_t *doc, struct act_err *err)
{
    json_t *rp = act_model_member(m, "retry_policy");
    const char *pre = "retry_policy";
    int64_t max_retries, initial, max_delay;
    enum act_backoff backoff = ACT_BACKOFF_EXPONENTIAL;
    bool jitter;
    json_t *o;

    if (rp && !json_is_object(rp))
        return act_err_field(err, ACT_EINVAL, pre, "must be an object");
    if (act_model_int(rp, pre, "max_retries", 0, ACT_MAX_RETRIES_MAX, 3, &max_retries, err) < 0 ||
        get_backoff(rp, &backoff, err) < 0 ||
        act_model_int(rp, pre, "initial_delay_ms", 0, ACT_DELAY_MAX_MS, 1000, &initial, err) < 0 ||
        act_model_int(rp, pre, "max_delay_ms", 0, ACT_DELAY_MAX_MS, 60000, &max_delay, err) < 0 ||
        act_model_bool(rp, pre, "jitter", true, &jitter, err) < 0)
        return ACT_EINVAL;
    if (max_delay < initial)
        return act_err_field(err, ACT_EINVAL, "retry_policy.max_delay_ms",
                             "must be >= initial_delay_ms (%lld)", (long long)initial);
    o = json_object();
    json_object_set_new(o, "max_retries", json_integer(max_retries));
    json_object_set_new(o, "backoff", json_string(backoff_names[backoff]));
    json_object_set_new(o, "initial_delay_ms", json_integer(initial));
    json_object_set_new(o, "max_delay_ms", json_integer(max_delay));
    json_object_set_new(o, "jitter", json_boolean(jitter));
    json_object_set_new(doc, "retry_policy", o);
    return ACT_OK;
}

static json_t *int_or_null(int64_t v, bool present)
{
    return present ? json_integer(v) : json_null();
}

static int get_limits(const json_t *m, json_t *doc, struct act_err *err)
{
    int64_t timeout, priority, conc;
    bool has_conc;

    if (act_model_int(m, NULL, "timeout_ms", 1, ACT_TIMEOUT_MAX_MS, TIMEOUT_DEFAULT_MS, &timeout,
                      err) < 0 ||
        act_model_int(m, NULL, "priority", -ACT_PRIORITY_ABS_MAX, ACT_PRIORITY_ABS_MAX, 0,
                      &priority, err) < 0 ||
        act_model_opt_int(m, NULL, "max_concurrent", 1, CONCURRENT_MAX, &conc, &has_conc, err) < 0)
        return ACT_EINVAL;
    json_object_set_new(doc, "timeout_ms", json_integer(timeout));
    json_object_set_new(doc, "priority", json_integer(priority));
    json_object_set_new(doc, "max_concurrent", int_or_null(conc, has_conc));
    return ACT_OK;
}

static int get_rate(const json_t *m, json_t *doc, struct act_err *err)
{
    json_t *rl = act_model_member(m, "rate_limit");
    const char *pre = "rate_limit";
    int64_t per_min, per_hour;
    bool has_min, has_hour;
    const char *key;
    json_t *o;

    if (rl && !json_is_object(rl))
        return act_err_field(err, ACT_EINVAL, pre, "must be an object");
    if (act_model_opt_int(rl, pre, "per_minute", 1, RATE_MAX, &per_min, &has_min, err) < 0 ||
        act_model_opt_int(rl, pre, "per_hour", 1, RATE_MAX, &per_hour, &has_hour, err) < 0)
        return ACT_EINVAL;
    /* key is optional: an empty default stands for null. */
    if (act_model_str(rl, pre, "key", 1, RATE_KEY_MAX, "", &key, err) < 0)
        return ACT_EINVAL;
    o = json_object();
    json_object_set_new(o, "per_minute", int_or_null(per_min, has_min));
    json_object_set_new(o, "per_hour", int_or_null(per_hour, has_hour));
    json_object_set_new(o, "key", *key ? json_string(key) : json_null());
    json_object_set_new(doc, "rate_limit", o);
    return ACT_OK;
}

static int get_schema(const json_t *m, json_t *doc, struct act_err *err)
{
    json_t *schema = act_model_member(m, "input_schema");

    if (schema && !json_is_object(schema))
        return act_err_field(err, ACT_EINVAL, "input_schema", "must be null or an object");
    json_object_set_new(doc, "input_schema", schema ? json_deep_copy(schema) : json_null());
    return ACT_OK;
}

static int get_enabled(const json_t *m, json_t *doc, struct act_err *err)
{
    bool enabled;

    if (act_model_bool(m, NULL, "enabled", true, &enabled, err) < 0)
        return ACT_EINVAL;
    json_object_set_new(doc, "enabled", json_boolean(enabled));
    return ACT_OK;
}

/* The kind's verdict on handler + config.  Any refusal is a 422: the spec
 * is well-formed JSON but this kind cannot run it. */
static int validate_handler(const json_t *doc, struct act_err *err)
{
    int rc = act_handler_validate(json_object_get(doc, "handler"), json_object_get(doc, "config"),
                                  err);

    if (rc >= 0)
        return ACT_OK;
    if (rc == ACT_EINVAL)
        rc = ACT_EUNPROC;
    if (err) {
        err->code = rc;
        if (!err->field[0])
            snprintf(err->field, sizeof(err->field), "handler");
    }
    return rc;
}

/* Validate the merged body `m` and build the canonical document, members
 * in API.md order. */
static int build(const json_t *m, json_t **out, struct act_err *err)
{
    json_t *doc = json_object();
    int rc;

    if ((rc = get_name(m, doc, err)) < 0 || (rc = get_texts(m, doc, err)) < 0 ||
        (rc = get_handler_config(m, doc, err)) < 0 ||
        (rc = get_field_list(m, "required_fields", NULL, doc, err)) < 0 ||
        (rc = get_field_list(m, "optional_fields", json_object_get(doc, "required_fields"), doc,
                             err)) < 0 ||
        (rc = get_schema(m, doc, err)) < 0 || (rc = get_retry(m, doc, err)) < 0 ||
        (rc = get_limits(m, doc, err)) < 0 || (rc = get_rate(m, doc, err)) < 0 ||
        (rc = get_enabled(m, doc, err)) < 0 || (rc = validate_handler(doc, err)) < 0)
        goto out;
    *out = doc;
    doc = NULL;
out:
    json_decref(doc);
    return rc;
}

int act_action_normalize(const json_t *body, const json_t *base, json_t **out,
                         struct act_err *err)
{
    json_t *merged = NULL;
    int rc;

    *out = NULL;
    if ((rc = check_body_members(body, err)) < 0)
        goto out;
    if (base && !json_is_object(base)) {
        rc = act_err_set(err, ACT_EINVAL, "stored action is not a JSON object");
        goto out;
    }
    if (base) {
        static const char *const deep[] = {"retry_policy", "rate_limit", NULL};
        merged = json_deep_copy(base);
        overlay(merged, body, deep);
    } else {
        merged = json_incref((json_t *)body);
    }
    rc = build(merged, out, err);
out:
    json_decref(merged);
    return rc;
}

/* ---- the hot-path view of a canonical document ---- */

static int64_t int_or(const json_t *obj, const char *key, int64_t def)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

void act_action_spec_from_doc(const json_t *doc, struct act_action_spec *spec)
{
    const json_t *rp = json_object_get(doc, "retry_policy");
    const json_t *rl = json_object_get(doc, "rate_limit");
    const char *backoff = json_string_value(json_object_get(rp, "backoff"));
    const json_t *enabled = json_object_get(doc, "enabled");

    memset(spec, 0, sizeof(*spec));
    spec->retry.max_retries = (int)int_or(rp, "max_retries", 3);
    spec->retry.backoff = ACT_BACKOFF_EXPONENTIAL;
    for (int b = ACT_BACKOFF_FIXED; backoff && b <= ACT_BACKOFF_EXPONENTIAL; b++)
        if (strcmp(backoff, backoff_names[b]) == 0)
            spec->retry.backoff = (enum act_backoff)b;
    spec->retry.initial_delay_ms = int_or(rp, "initial_delay_ms", 1000);
    spec->retry.max_delay_ms = int_or(rp, "max_delay_ms", 60000);
    spec->retry.jitter = !json_is_false(json_object_get(rp, "jitter"));
    spec->timeout_ms = int_or(doc, "timeout_ms", TIMEOUT_DEFAULT_MS);
    spec->priority = (int)int_or(doc, "priority", 0);
    spec->max_concurrent = (int)int_or(doc, "max_concurrent", 0);
    spec->rate_per_minute = int_or(rl, "per_minute", 0);
    spec->rate_per_hour = int_or(rl, "per_hour", 0);
    spec->enabled = !json_is_false(enabled);
}
