/*
 * Plugin and action-registration bodies: validation and normalisation into
 * the stored forms (pure functions over jansson values, no I/O).
 *
 * Rules, in the order they are checked (docs/plugins.md lists them):
 *  - a plugin needs a name and a slug (^[a-z0-9][a-z0-9-]{0,62}$, not a
 *    reserved word); URLs are http(s) with a host; events are matcher
 *    patterns (compiled here and thrown away, so the subscription built
 *    from them later cannot be refused); config and metadata are objects;
 *  - a registration is {"actions": [...]}; each action needs action_type
 *    (^[a-z0-9_-]+$, at most ACT_PLUGIN_TYPE_MAX characters, not starting
 *    with "__", unique in the request), title and a required_fields array;
 *    optional members are type-checked; retry_policy, timeout_ms and
 *    input_schema go through the model's own action validation, so they
 *    mean exactly what they mean for /v1/actions.
 * The first failure names the member ("actions[1].action_type") and the
 * whole body is refused.
 */
#include "plugin/plugin_internal.h"

#include "base/time.h"
#include "handler/handler_http.h"
#include "handler/webhook_sign.h"
#include "match/match.h"
#include "model/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TITLE_MAX 256
#define ENDPOINT_MAX 1024
#define SECRET_TEXT_MAX 1024

void act_plugin_core_name(const char *slug, const char *type, char *buf, size_t len)
{
    snprintf(buf, len, "plugin.%s.%s", slug, type);
}

bool act_plugin_slug_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > ACT_PLUGIN_SLUG_MAX || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return strcmp(s, "actions") != 0 && strcmp(s, "events") != 0;
}

static bool type_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

/* A member that is absent or null counts as absent. */
static json_t *member(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* An optional string member of length min..max; *out NULL when absent. */
static int opt_str(const json_t *obj, const char *key, const char *field, size_t min, size_t max,
                   const char **out, struct act_err *err)
{
    json_t *v = member(obj, key);

    *out = NULL;
    if (!v)
        return ACT_OK;
    if (!json_is_string(v))
        return act_err_field(err, ACT_EINVAL, field, "%s must be a string", field);
    if (json_string_length(v) < min)
        return act_err_field(err, ACT_EINVAL, field, "%s must not be empty", field);
    if (json_string_length(v) > max)
        return act_err_field(err, ACT_EINVAL, field, "%s is longer than %zu characters", field,
                             max);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return act_err_field(err, ACT_EINVAL, field, "%s contains a NUL character", field);
    *out = json_string_value(v);
    return ACT_OK;
}

static int req_str(const json_t *obj, const char *key, const char *field, size_t max,
                   const char **out, struct act_err *err)
{
    int rc = opt_str(obj, key, field, 1, max, out, err);

    if (rc == ACT_OK && !*out)
        return act_err_field(err, ACT_EINVAL, field, "%s is required", field);
    return rc;
}

/* http(s)://host[...] without blanks or control characters. */
static bool url_valid(const char *s)
{
    const char *host;

    if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    else
        return false;
    if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

static int get_url(const json_t *m, const char *key, json_t *doc, struct act_err *err)
{
    const char *s;

    if (opt_str(m, key, key, 1, ACT_PLUGIN_URL_MAX, &s, err) < 0)
        return ACT_EINVAL;
    if (s && !url_valid(s))
        return act_err_field(err, ACT_EINVAL, key,
                             "%s must be an http:// or https:// URL with a host", key);
    json_object_set_new(doc, key, s ? json_string(s) : json_null());
    return ACT_OK;
}

static int get_uuid(const json_t *m, const char *key, const char *def, json_t *doc,
                    struct act_err *err)
{
    char low[ACT_UUID_LEN + 1];
    const char *s;

    if (opt_str(m, key, key, 1, ACT_UUID_LEN, &s, err) < 0)
        return ACT_EINVAL;
    if (!s) {
        if (def)
            json_object_set_new(doc, key, json_string(def));
        return ACT_OK;
    }
    snprintf(low, sizeof(low), "%s", s);
    for (char *c = low; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    if (!act_uuid_valid(low))
        return act_err_field(err, ACT_EINVAL, key, "%s must be a UUID", key);
    json_object_set_new(doc, key, json_string(low));
    return ACT_OK;
}

static int get_events(const json_t *m, json_t *doc, struct act_err *err)
{
    json_t *v = member(m, "events");
    char field[48];

    if (!v) {
        json_object_set_new(doc, "events", json_array());
        return ACT_OK;
    }
    if (!json_is_array(v))
        return act_err_field(err, ACT_EINVAL, "events", "events must be an array of patterns");
    if (json_array_size(v) > ACT_PLUGIN_EVENTS_MAX)
        return act_err_field(err, ACT_EINVAL, "events", "events holds more than %d patterns",
                             ACT_PLUGIN_EVENTS_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        struct act_pattern *pat = NULL;
        struct act_err perr = {0};
        int rc;

        snprintf(field, sizeof(field), "events[%zu]", i);
        if (!json_is_string(e) || json_string_length(e) == 0)
            return act_err_field(err, ACT_EINVAL, field, "%s must be a non-empty string", field);
        rc = act_pattern_compile(json_string_value(e), &pat, &perr);
        act_pattern_free(pat);
        if (rc < 0)
            return act_err_field(err, ACT_EINVAL, field, "%s: %s", field, perr.msg);
    }
    json_object_set_new(doc, "events", json_deep_copy(v));
    return ACT_OK;
}

static int get_object(const json_t *m, const char *key, json_t *doc, struct act_err *err)
{
    json_t *v = member(m, key);

    if (v && !json_is_object(v))
        return act_err_field(err, ACT_EINVAL, key, "%s must be an object", key);
    json_object_set_new(doc, key, v ? json_deep_copy(v) : json_object());
    return ACT_OK;
}

/* secret: a Standard Webhooks secret "whsec_..." (or a masked value sent
 * back unchanged, which the registry resolves); api_key: any text. */
static int get_secrets(const json_t *m, json_t *doc, struct act_err *err)
{
    struct act_webhook_key key;
    struct act_err kerr = {0};
    const char *s;

    if (opt_str(m, "secret", "secret", 1, SECRET_TEXT_MAX, &s, err) < 0)
        return ACT_EINVAL;
    if (s && !strstr(s, ACT_PLUGIN_MASK_MARK) &&
        (strncmp(s, ACT_WHSEC_PREFIX, strlen(ACT_WHSEC_PREFIX)) != 0 ||
         act_webhook_key_parse(s, &key, &kerr) < 0))
        return act_err_field(err, ACT_EINVAL, "secret",
                             "secret must be a Standard Webhooks secret (whsec_ + base64 of "
                             "%d..%d bytes)",
                             ACT_WEBHOOK_KEY_MIN, ACT_WEBHOOK_KEY_MAX);
    json_object_set_new(doc, "secret", s ? json_string(s) : json_null());
    if (opt_str(m, "api_key", "api_key", 1, SECRET_TEXT_MAX, &s, err) < 0)
        return ACT_EINVAL;
    json_object_set_new(doc, "api_key", s ? json_string(s) : json_null());
    return ACT_OK;
}

/* retry_policy / timeout_ms / input_schema mean what they mean for a core
 * action: let the model judge them on a throw-away action body. */
static int model_check(const json_t *src, const char *prefix, json_t *doc, struct act_err *err)
{
    static const char *const keys[] = {"retry_policy", "timeout_ms", "input_schema"};
    json_t *probe = json_pack("{s:s, s:{s:s}}", "name", "probe", "handler", "kind", "noop");
    json_t *norm = NULL;
    int rc;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = member(src, keys[i]);
        if (v)
            json_object_set(probe, keys[i], v);
    }
    rc = act_action_normalize(probe, NULL, &norm, err);
    json_decref(norm);
    json_decref(probe);
    if (rc < 0) {
        if (prefix && err) {
            char msg[sizeof(err->msg)];

            act_err_prefix_field(err, prefix);
            if (snprintf(msg, sizeof(msg), "%s %s", err->field, err->msg) >= (int)sizeof(msg))
                msg[sizeof(msg) - 1] = '\0'; /* truncated: still a useful message */
            memcpy(err->msg, msg, sizeof(msg));
        }
        return rc;
    }
    if (json_integer_value(member(src, "timeout_ms")) > ACT_HTTP_KIND_TIMEOUT_MAX_MS) {
        char field[64];

        snprintf(field, sizeof(field), "%s%stimeout_ms", prefix ? prefix : "", prefix ? "." : "");
        return act_err_field(err, ACT_EINVAL, field, "%s must be at most %d (a plugin call)", field,
                             ACT_HTTP_KIND_TIMEOUT_MAX_MS);
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = member(src, keys[i]);
        if (v)
            json_object_set(doc, keys[i], v);
        else if (!prefix)
            json_object_set_new(doc, keys[i], json_null());
    }
    return ACT_OK;
}

static int get_texts(const json_t *m, json_t *doc, struct act_err *err)
{
    const char *name, *desc, *version, *status;

    if (req_str(m, "name", "name", ACT_NAME_MAX, &name, err) < 0 ||
        opt_str(m, "description", "description", 0, ACT_DESCRIPTION_MAX, &desc, err) < 0 ||
        opt_str(m, "version", "version", 1, 64, &version, err) < 0 ||
        opt_str(m, "status", "status", 1, 16, &status, err) < 0)
        return ACT_EINVAL;
    if (status && strcmp(status, "active") != 0 && strcmp(status, "inactive") != 0)
        return act_err_field(err, ACT_EINVAL, "status", "status must be 'active' or 'inactive'");
    json_object_set_new(doc, "name", json_string(name));
    json_object_set_new(doc, "status", json_string(status ? status : "active"));
    json_object_set_new(doc, "description", desc ? json_string(desc) : json_null());
    json_object_set_new(doc, "version", version ? json_string(version) : json_null());
    return ACT_OK;
}

static int get_slug(const json_t *m, json_t *doc, struct act_err *err)
{
    const char *slug;

    if (req_str(m, "slug", "slug", 256, &slug, err) < 0)
        return ACT_EINVAL;
    if (!act_plugin_slug_valid(slug))
        return act_err_field(err, ACT_EINVAL, "slug",
                             "slug '%.64s' must match ^[a-z0-9][a-z0-9-]{0,62}$ and not be "
                             "'actions' or 'events'",
                             slug);
    json_object_set_new(doc, "slug", json_string(slug));
    return ACT_OK;
}

int act_plugin_normalize(const json_t *body, const json_t *base, json_t **out, struct act_err *err)
{
    json_t *m = NULL, *doc = json_object();
    int rc;

    *out = NULL;
    if (!json_is_object(body)) {
        rc = act_err_set(err, ACT_EINVAL, "the body must be a JSON object");
        goto out;
    }
    m = base ? json_copy((json_t *)base) : json_object();
    json_object_update(m, (json_t *)body);
    if ((rc = get_uuid(m, "id", NULL, doc, err)) < 0 ||
        (rc = get_uuid(m, "tenant_id", ACT_PLUGIN_DEFAULT_TENANT, doc, err)) < 0 ||
        (rc = get_texts(m, doc, err)) < 0 || (rc = get_slug(m, doc, err)) < 0 ||
        (rc = get_url(m, "api_endpoint", doc, err)) < 0 ||
        (rc = get_url(m, "webhook_url", doc, err)) < 0 || (rc = get_secrets(m, doc, err)) < 0 ||
        (rc = get_events(m, doc, err)) < 0 || (rc = get_object(m, "config", doc, err)) < 0 ||
        (rc = get_object(m, "metadata", doc, err)) < 0)
        goto out;
    if (member(m, "input_schema")) /* not a plugin member: keep the probe honest */
        json_object_del(m, "input_schema");
    if ((rc = model_check(m, NULL, doc, err)) < 0)
        goto out;
    json_object_del(doc, "input_schema");
    *out = doc;
    doc = NULL;
out:
    json_decref(m);
    json_decref(doc);
    return rc;
}

/* ---- registrations ---- */

/* err for member `key` of action i: "actions[i] (type): msg". */
static int act_fail(struct act_err *err, size_t i, const char *type, const char *key,
                    const char *fmt, ...) ACT_PRINTF(5, 6);

static int act_fail(struct act_err *err, size_t i, const char *type, const char *key,
                    const char *fmt, ...)
{
    char field[96], msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (key)
        snprintf(field, sizeof(field), "actions[%zu].%s", i, key);
    else
        snprintf(field, sizeof(field), "actions[%zu]", i);
    if (type)
        return act_err_field(err, ACT_EINVAL, field, "actions[%zu] (%.60s): %s", i, type, msg);
    return act_err_field(err, ACT_EINVAL, field, "actions[%zu]: %s", i, msg);
}

/* A list of unique non-empty field names; `other` entries are refused. */
static int check_fields(const json_t *v, size_t i, const char *type, const char *key,
                        const json_t *other, struct act_err *err)
{
    char sub[48];

    if (!json_is_array(v))
        return act_fail(err, i, type, key, "%s must be an array of field names", key);
    if (json_array_size(v) > ACT_FIELDS_MAX)
        return act_fail(err, i, type, key, "%s holds more than %d names", key, ACT_FIELDS_MAX);
    for (size_t k = 0; k < json_array_size(v); k++) {
        const json_t *f = json_array_get(v, k);

        snprintf(sub, sizeof(sub), "%s[%zu]", key, k);
        if (!json_is_string(f) || json_string_length(f) == 0 ||
            json_string_length(f) > ACT_NAME_MAX)
            return act_fail(err, i, type, sub, "%s must be a field name (1..%d characters)", sub,
                            ACT_NAME_MAX);
        for (size_t j = 0; j < k; j++)
            if (json_equal(f, json_array_get(v, j)))
                return act_fail(err, i, type, sub, "duplicate field '%s'", json_string_value(f));
        for (size_t j = 0; j < json_array_size(other); j++)
            if (json_equal(f, json_array_get(other, j)))
                return act_fail(err, i, type, sub, "'%s' is already in required_fields",
                                json_string_value(f));
    }
    return ACT_OK;
}

static int check_type(const json_t *a, size_t i, const json_t *list, const char **out,
                      struct act_err *err)
{
    json_t *v = member(a, "action_type");
    const char *t;

    if (!v || (json_is_string(v) && json_string_length(v) == 0))
        return act_fail(err, i, NULL, "action_type", "action_type is required");
    if (!json_is_string(v))
        return act_fail(err, i, NULL, "action_type", "action_type must be a string");
    t = json_string_value(v);
    if (strlen(t) != json_string_length(v) || !type_valid(t))
        return act_fail(err, i, NULL, "action_type", "action_type '%.60s' must match ^[a-z0-9_-]+$",
                        t);
    if (json_string_length(v) > ACT_PLUGIN_TYPE_MAX)
        return act_fail(err, i, NULL, "action_type", "action_type is longer than %d characters",
                        ACT_PLUGIN_TYPE_MAX);
    if (strncmp(t, "__", 2) == 0)
        return act_fail(err, i, NULL, "action_type", "action_type '%s' is reserved (leading __)",
                        t);
    for (size_t j = 0; j < i; j++)
        if (json_equal(v, json_object_get(json_array_get(list, j), "action_type")))
            return act_fail(err, i, t, "action_type", "duplicate action_type (also actions[%zu])",
                            j);
    *out = t;
    return ACT_OK;
}

/* Optional text members of action i into `na`. */
static int check_texts(const json_t *a, size_t i, const char *t, json_t *na, struct act_err *err)
{
    static const struct {
        const char *key;
        size_t min, max;
    } texts[] = {{"title", 1, TITLE_MAX},
                 {"category", 1, ACT_NAME_MAX},
                 {"description", 0, ACT_DESCRIPTION_MAX},
                 {"endpoint", 1, ENDPOINT_MAX}};

    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
        json_t *v = member(a, texts[k].key);
        const char *key = texts[k].key;

        if (!v || (k == 0 && json_is_string(v) && json_string_length(v) == 0)) {
            if (k == 0)
                return act_fail(err, i, t, key, "title is required");
            continue;
        }
        if (!json_is_string(v))
            return act_fail(err, i, t, key, "%s must be a string", key);
        if (json_string_length(v) < texts[k].min || json_string_length(v) > texts[k].max)
            return act_fail(err, i, t, key, "%s must be %zu..%zu characters", key, texts[k].min,
                            texts[k].max);
        json_object_set(na, key, v);
    }
    return ACT_OK;
}

static int check_endpoint(size_t i, const char *t, json_t *na, struct act_err *err)
{
    const char *ep = json_string_value(json_object_get(na, "endpoint"));
    char def[ACT_PLUGIN_TYPE_MAX + 16];

    if (!ep) {
        snprintf(def, sizeof(def), "/actions/%s", t);
        for (char *c = def; *c; c++)
            if (*c == '_')
                *c = '-';
        json_object_set_new(na, "endpoint", json_string(def));
        return ACT_OK;
    }
    if (ep[0] != '/')
        return act_fail(err, i, t, "endpoint", "endpoint must be a path starting with '/'");
    for (const char *c = ep; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '#')
            return act_fail(err, i, t, "endpoint",
                            "endpoint must not contain blanks, control "
                            "characters or '#'");
    return ACT_OK;
}

static int action_one(const json_t *a, size_t i, const json_t *list, json_t **out,
                      struct act_err *err)
{
    json_t *na = json_object(), *req, *opt;
    char prefix[32];
    const char *t = NULL;
    int rc;

    *out = NULL;
    if (!json_is_object(a)) {
        rc = act_fail(err, i, NULL, NULL, "an action must be an object");
        goto fail;
    }
    if ((rc = check_type(a, i, list, &t, err)) < 0)
        goto fail;
    json_object_set_new(na, "action_type", json_string(t));
    if ((rc = check_texts(a, i, t, na, err)) < 0)
        goto fail;
    req = member(a, "required_fields");
    if (!req) {
        rc = act_fail(err, i, t, "required_fields", "required_fields is required (an array)");
        goto fail;
    }
    opt = member(a, "optional_fields");
    if ((rc = check_fields(req, i, t, "required_fields", NULL, err)) < 0 ||
        (opt && (rc = check_fields(opt, i, t, "optional_fields", req, err)) < 0) ||
        (rc = check_endpoint(i, t, na, err)) < 0)
        goto fail;
    json_object_set(na, "required_fields", req);
    json_object_set_new(na, "optional_fields", opt ? json_deep_copy(opt) : json_array());
    snprintf(prefix, sizeof(prefix), "actions[%zu]", i);
    if ((rc = model_check(a, prefix, na, err)) < 0)
        goto fail;
    *out = na;
    return ACT_OK;
fail:
    json_decref(na);
    return rc;
}

int act_plugin_actions_normalize(const json_t *body, json_t **out, struct act_err *err)
{
    json_t *list, *res = json_array(), *na;
    int rc = ACT_OK;

    *out = NULL;
    if (!json_is_object(body)) {
        rc = act_err_set(err, ACT_EINVAL, "the body must be a JSON object {\"actions\": [...]}");
        goto out;
    }
    list = json_object_get(body, "actions");
    if (!list || !json_is_array(list)) {
        rc = act_err_field(err, ACT_EINVAL, "actions",
                           list ? "actions must be an array" : "actions is required (an array)");
        goto out;
    }
    if (json_array_size(list) > ACT_PLUGIN_ACTIONS_MAX) {
        rc = act_err_field(err, ACT_EINVAL, "actions", "a plugin registers at most %d actions",
                           ACT_PLUGIN_ACTIONS_MAX);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        if ((rc = action_one(json_array_get(list, i), i, list, &na, err)) < 0)
            goto out;
        json_array_append_new(res, na);
    }
    *out = res;
    res = NULL;
out:
    json_decref(res);
    return rc;
}

int act_plugin_required_check(const json_t *required, const json_t *payload,
                              const char *action_type, struct act_err *err)
{
    size_t i;
    json_t *f;

    json_array_foreach(required, i, f)
    {
        const char *name = json_string_value(f);
        json_t *v = name ? json_object_get(payload, name) : NULL;
        char field[160];

        if (name && (!v || json_is_null(v))) {
            snprintf(field, sizeof(field), "payload.%s", name);
            return act_err_field(err, ACT_EINVAL, field, "Missing required field: %s for action %s",
                                 name, action_type);
        }
    }
    return ACT_OK;
}
